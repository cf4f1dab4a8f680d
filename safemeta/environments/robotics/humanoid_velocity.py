"""Humanoid locomotion with a speed constraint (Safety-Gymnasium's Humanoid-Velocity, v1 limit).

Dynamics, observation (376-dim) and reward are gymnasium's ``Humanoid-v4`` unchanged:
``1.25·v_x + 5 − 0.1·Σctrl²``; the episode terminates when the torso leaves z ∈ (1.0, 2.0).
The velocity is the xy displacement of the mass-weighted centre of mass over one step (dt 0.015 s)
divided by dt; the step cost is ``float(√(v_x² + v_y²) > speed_limit)``, v1 limit 1.4149 m/s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium.envs.mujoco.humanoid_v4 import HumanoidEnv

from safemeta.environments.robotics.base import SafeMujocoWrapper

SPEED_LIMIT_V1 = 1.4149  # m/s, Safety-Gymnasium SafetyHumanoidVelocity-v1


class SafeHumanoidVelocityEnv(SafeMujocoWrapper):
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
        humanoid = HumanoidEnv(render_mode=render_mode)
        super().__init__(
            humanoid,
            substeps=humanoid.frame_skip,
            observation_space=humanoid.observation_space,
            max_episode_steps=max_episode_steps,
            terminate_on_violation=terminate_on_violation,
            render_mode=render_mode,
        )
        self.speed_limit = float(speed_limit)

    @property
    def dt(self) -> float:
        """Seconds per env step."""
        return float(self._sim.dt)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, unhealthy, _, info = self._sim.step(action)
        speed = math.hypot(info["x_velocity"], info["y_velocity"])
        cost = float(speed > self.speed_limit)
        terminated, truncated = self._end_step(cost, task_terminated=unhealthy)
        info.update(cost=cost, cost_velocity=cost, speed=speed)
        return obs, float(reward), terminated, truncated, info
