"""Tasks and task distributions shared by every environment family.

A *task* is a full parameter set of an environment (layout, object counts, sizes, cost limit); an
env that supports tasks offers ``set_task(task)`` / ``get_task()`` and switches between episodes.
A *task distribution* samples tasks for meta-training (``split="train"``) and meta-testing
(``split="test"``); the two splits are disjoint by construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")


@runtime_checkable
class Task(Protocol):
    """What every task object offers: a cost limit and a plain-dict form for logging."""

    @property
    def cost_limit(self) -> float:
        """Episodic cost limit d of this task (part of the task so a test split can tighten it)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """All parameters as plain Python values (for logs and experiment records)."""
        ...


@runtime_checkable
class TaskSettable(Protocol):
    """An environment whose task can be switched between episodes."""

    def set_task(self, task: Any) -> None:
        """Use ``task`` from the next ``reset()`` on."""
        ...

    def get_task(self) -> Any:
        """The task the current (or next) episode runs."""
        ...


class TaskDistribution(ABC):
    """A distribution over tasks of one registered environment, with train and test splits."""

    env_name: str
    """Registered name of the env the tasks are for (``safemeta.environments.make(env_name)``)."""
    env_kwargs: Mapping[str, Any] = MappingProxyType({})
    """Keyword arguments for ``make`` so the env's observation layout fits every task."""

    def make_env(self, **kwargs: Any) -> Any:
        """An env that accepts this distribution's tasks: ``make(env_name, **env_kwargs)``."""
        from safemeta.environments.registry import make

        return make(self.env_name, **{**self.env_kwargs, **kwargs})

    @abstractmethod
    def sample_tasks(
        self,
        n: int,
        *,
        split: Split = "train",
        rng: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> list[Task]:
        """Draw ``n`` tasks from ``split``; pass either ``rng`` or ``seed`` (not both)."""


def resolve_rng(rng: np.random.Generator | None, seed: int | None) -> np.random.Generator:
    """The generator to sample with: ``rng`` itself, or a new one from ``seed``."""
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed to sample_tasks, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)


def check_sample_args(n: int, split: str) -> None:
    """Raise a clear error for a bad ``n`` or ``split``."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def set_task(env: Any, task: Any) -> None:
    """Set ``task`` on a gymnasium env or vector env, through wrappers (RLlib's included).

    A vector env (gymnasium ``VectorEnv``, e.g. an RLlib EnvRunner's ``er.env.unwrapped``) gets
    ``call("set_task", task)`` so every sub-env switches; a single env gets it on ``env.unwrapped``.
    """
    target = getattr(env, "unwrapped", env)
    if hasattr(target, "call") and not hasattr(target, "set_task"):
        target.call("set_task", task)
    elif hasattr(target, "set_task"):
        target.set_task(task)
    else:
        raise TypeError(f"{type(target).__name__} has no set_task; it does not support tasks")


def describe_tasks(tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """The ``to_dict()`` form of each task."""
    return [task.to_dict() for task in tasks]


class TaskSampler(gym.Env):
    """An env that draws a new task of one split at every reset: training "on the union of the
    training tasks" (C-MAML's pretrained baseline) with a plain RL algorithm.

    It holds the env (it is not a ``gym.Wrapper``, so it is its own ``unwrapped`` and receives
    ``set_task``): ``set_task(task)`` fixes the task, as the meta-test protocol does for a test
    task, and ``set_task(None)`` goes back to sampling; ``get_task()`` is the fixed task or None.
    """

    def __init__(
        self,
        env: gym.Env,
        distribution: TaskDistribution,
        split: Split,
        seed: int | Sequence[int] = 0,
    ) -> None:
        self.env = env
        self.distribution, self.split = distribution, split
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self.metadata = getattr(env, "metadata", {})
        self.render_mode = getattr(env, "render_mode", None)
        self._rng = np.random.default_rng(seed)
        self._fixed: Any = None

    def set_task(self, task: Any) -> None:
        self._fixed = task
        if task is not None:
            set_task(self.env, task)

    def get_task(self) -> Any:
        return self._fixed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        # The task stream is seeded once, in the constructor: RLlib passes the same seed to
        # every forced reset, which would replay the same tasks.
        if self._fixed is None:
            (task,) = self.distribution.sample_tasks(1, split=self.split, rng=self._rng)
            set_task(self.env, task)
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any):
        return self.env.step(action)

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
