"""The environment registry: registered name -> gymnasium env creator.

Built-in families declare their environments in a ``catalog`` module (import-light: entry points are
``"module:attr"`` strings, loaded only when an environment is built). Every registered environment
reports its per-step cost (0/1) in ``info["cost"]`` and handles its own time limit.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

# Packages whose ``catalog`` module registers built-in environments, in listing order.
BUILTIN_FAMILIES: tuple[str, ...] = (
    "safemeta.environments.classic",
    "safemeta.environments.navigation",
    "safemeta.environments.robotics",
    "safemeta.environments.pour_coffee",
)


@dataclass(frozen=True)
class EnvEntry:
    """One registered environment."""

    name: str
    entry_point: str
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def creator(self) -> Callable[..., gym.Env]:
        """Import and return the callable that builds this environment."""
        return load_attribute(self.entry_point)


_ENVS: dict[str, EnvEntry] = {}
_loaded_families: set[str] = set()


def load_attribute(path: str) -> Any:
    """Return the object named by ``"package.module:attribute"``."""
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"entry point {path!r} must look like 'package.module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


def register_env(name: str, entry_point: str, description: str, **defaults: Any) -> EnvEntry:
    """Register ``name``; ``defaults`` are creator keyword arguments that user ones override."""
    existing = _ENVS.get(name)
    entry = EnvEntry(name, entry_point, description, dict(defaults))
    if existing is not None and existing != entry:
        raise ValueError(f"environment {name!r} is already registered as {existing.entry_point}")
    _ENVS[name] = entry
    return entry


def _load_builtin_families() -> None:
    for family in BUILTIN_FAMILIES:
        if family not in _loaded_families:
            _loaded_families.add(family)
            try:
                importlib.import_module(f"{family}.catalog")
            except ModuleNotFoundError as error:
                if error.name not in (family, f"{family}.catalog"):
                    raise


def registered_envs() -> dict[str, EnvEntry]:
    """All registered environments, by name."""
    _load_builtin_families()
    return dict(_ENVS)


def get_env_entry(name: str) -> EnvEntry:
    """The entry for ``name``; a ``KeyError`` that lists close matches otherwise."""
    envs = registered_envs()
    if name not in envs:
        close = difflib.get_close_matches(name, envs, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown environment {name!r}.{hint} Registered: {', '.join(sorted(envs))}")
    return envs[name]


def make(name: str, **kwargs: Any) -> gym.Env:
    """Build the registered environment ``name`` with the given keyword arguments."""
    entry = get_env_entry(name)
    return entry.creator()(**{**entry.defaults, **kwargs})
