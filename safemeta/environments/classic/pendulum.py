"""Pendulum swing-up with a speed constraint.

Dynamics and reward are gymnasium's ``Pendulum-v1``; the step cost is 1 while the angular speed
exceeds ``speed_limit``, so swinging up fast is penalised and a safe policy must pump energy slowly.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv


class SafePendulumEnv(gym.Env):
    """Pendulum-v1 with ``info["cost"] = float(|theta_dot| > speed_limit)`` and a time limit."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        speed_limit: float = 4.0,
        max_episode_steps: int = 200,
        terminate_on_violation: bool = False,
    ) -> None:
        if speed_limit <= 0:
            raise ValueError(f"speed_limit must be > 0, got {speed_limit}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self._pendulum = PendulumEnv()
        self.observation_space = self._pendulum.observation_space
        self.action_space = self._pendulum.action_space
        self.speed_limit = speed_limit
        self.max_episode_steps = max_episode_steps
        self.terminate_on_violation = terminate_on_violation
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._steps = 0
        obs, _ = self._pendulum.reset(seed=seed, options=options)
        return obs, {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, _, _, _ = self._pendulum.step(action)
        self._steps += 1
        cost = float(abs(self._pendulum.state[1]) > self.speed_limit)
        terminated = bool(cost and self.terminate_on_violation)
        truncated = self._steps >= self.max_episode_steps and not terminated
        return obs, float(reward), terminated, truncated, {"cost": cost}
