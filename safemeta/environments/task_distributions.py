"""Task distributions by name: what an experiment file's meta-RL block refers to.

Built in: the navigation suite's (``navigation.distributions``: ``c_maml_env1/2``,
``meta_cpo_*``). An experiment's ``imports`` can add more with ``register_task_distribution``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safemeta.environments.tasks import TaskDistribution

_FACTORIES: dict[str, Callable[..., TaskDistribution]] = {}


def register_task_distribution(name: str, factory: Callable[..., TaskDistribution]) -> None:
    """Make ``factory(**kwargs)`` available as ``name`` (re-registering replaces it)."""
    _FACTORIES[name] = factory


def _builtins() -> None:
    from safemeta.environments.navigation.distributions import DISTRIBUTIONS

    for name, factory in DISTRIBUTIONS.items():
        _FACTORIES.setdefault(name, factory)


def task_distribution_names() -> list[str]:
    """Every registered name, sorted."""
    _builtins()
    return sorted(_FACTORIES)


def make_task_distribution(name: str, **kwargs: Any) -> TaskDistribution:
    """The distribution ``name`` built with ``kwargs`` (e.g. ``hide_goal_lidar=True``)."""
    _builtins()
    if name not in _FACTORIES:
        raise ValueError(
            f"unknown task distribution {name!r}; registered: {', '.join(sorted(_FACTORIES))} "
            "(add your own with register_task_distribution in a module listed under imports)"
        )
    return _FACTORIES[name](**kwargs)
