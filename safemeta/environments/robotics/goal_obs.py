"""Flattening of goal-conditioned dict observations into one vector (observation + desired goal)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import spaces

GOAL_KEYS: tuple[str, str] = ("observation", "desired_goal")


def flat_goal_space(space: spaces.Dict) -> spaces.Box:
    """The Box holding ``observation`` then ``desired_goal`` of a goal-conditioned ``space``."""
    missing = [key for key in GOAL_KEYS if key not in space.spaces]
    if missing:
        raise ValueError(
            f"goal-conditioned space lacks keys {missing}; it has {list(space.spaces)}"
        )
    size = sum(int(np.prod(space[key].shape)) for key in GOAL_KEYS)
    return spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float64)


def flatten_goal_obs(obs: Mapping[str, np.ndarray]) -> np.ndarray:
    """``concatenate([obs["observation"], obs["desired_goal"]])`` as float64."""
    return np.concatenate([np.ravel(obs[key]) for key in GOAL_KEYS]).astype(np.float64)
