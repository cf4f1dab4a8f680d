"""Humanoid locomotion with a speed constraint (Safety-Gymnasium's Humanoid-Velocity, v1 limit).

Dynamics, observation (376-dim) and reward are gymnasium's ``Humanoid-v4`` unchanged:
``1.25·v_x + 5 − 0.1·Σctrl²``; the episode terminates when the torso leaves z ∈ (1.0, 2.0).
The velocity is the xy displacement of the mass-weighted centre of mass over one step (dt 0.015 s)
divided by dt; the step cost is ``float(√(v_x² + v_y²) > speed_limit)``, v1 limit 1.4149 m/s.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.humanoid_v4 import HumanoidEnv

from safemeta.environments.robotics.episode import check_episode_kwargs, episode_end

SPEED_LIMIT_V1 = 1.4149  # m/s, Safety-Gymnasium SafetyHumanoidVelocity-v1


class SafeHumanoidVelocityEnv(gym.Env):
    """Humanoid-v4 with ``info["cost"] = float(planar centre-of-mass speed > speed_limit)``."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 67}  # noqa: RUF012

    def __init__(
        self,
        speed_limit: float = SPEED_LIMIT_V1,
        max_episode_steps: int = 1000,
        terminate_on_violation: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if not speed_limit > 0:
            raise ValueError(f"speed_limit must be > 0 m/s, got {speed_limit}")
        check_episode_kwargs(max_episode_steps)
        self._humanoid = HumanoidEnv(render_mode=render_mode)
        self.observation_space = self._humanoid.observation_space
        self.action_space = self._humanoid.action_space
        self.render_mode = render_mode
        self.speed_limit = float(speed_limit)
        self.max_episode_steps = max_episode_steps
        self.terminate_on_violation = terminate_on_violation
        self._steps = 0

    @property
    def model(self) -> mujoco.MjModel:
        """The live MuJoCo model."""
        return self._humanoid.model

    @property
    def data(self) -> mujoco.MjData:
        """The live MuJoCo data (edit it to construct situations in tests)."""
        return self._humanoid.data

    @property
    def dt(self) -> float:
        """Seconds per env step."""
        return float(self._humanoid.dt)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._steps = 0
        obs, info = self._humanoid.reset(seed=seed, options=options)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, unhealthy, _, info = self._humanoid.step(action)
        self._steps += 1
        speed = math.hypot(info["x_velocity"], info["y_velocity"])
        cost = float(speed > self.speed_limit)
        terminated, truncated = episode_end(
            task_terminated=unhealthy,
            cost=cost,
            steps=self._steps,
            max_episode_steps=self.max_episode_steps,
            terminate_on_violation=self.terminate_on_violation,
        )
        info.update(cost=cost, cost_velocity=cost, speed=speed)
        return obs, float(reward), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        return self._humanoid.render()

    def close(self) -> None:
        self._humanoid.close()

    def physics_reference(self) -> tuple[mujoco.MjModel, mujoco.MjData, int]:
        """``(model, copy of the current data, mj_steps per env step)`` for throughput runs."""
        return self._humanoid.model, copy.deepcopy(self._humanoid.data), self._humanoid.frame_skip
