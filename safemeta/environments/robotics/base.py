"""What every robotic safe task shares: the episode's time limit and end flags, and (for tasks
that add a cost to a gymnasium(-robotics) MuJoCo env) the delegation to that env."""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np


class SafeRoboticEnv(gym.Env):
    """A robotic safe task's episode bookkeeping.

    Subclasses call :meth:`_start_episode` in ``reset`` and :meth:`_end_step` once per ``step``:
    terminated when the task itself ends or, with ``terminate_on_violation``, at a step with cost
    1; truncated at ``max_episode_steps`` unless terminated.
    """

    def __init__(
        self, *, max_episode_steps: int, terminate_on_violation: bool, render_mode: str | None
    ) -> None:
        if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int):
            raise ValueError(
                f"max_episode_steps must be an int >= 1, got {max_episode_steps!r} "
                f"({type(max_episode_steps).__name__}); pass e.g. max_episode_steps=1000"
            )
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.max_episode_steps = max_episode_steps
        self.terminate_on_violation = terminate_on_violation
        self.render_mode = render_mode
        self._steps = 0

    def _start_episode(self, seed: int | None) -> None:
        super().reset(seed=seed)
        self._steps = 0

    def _end_step(self, cost: float, *, task_terminated: bool = False) -> tuple[bool, bool]:
        """Count the step; ``(terminated, truncated)`` after it."""
        self._steps += 1
        terminated = bool(task_terminated or (self.terminate_on_violation and cost > 0.0))
        truncated = bool(self._steps >= self.max_episode_steps and not terminated)
        return terminated, truncated


class SafeMujocoWrapper(SafeRoboticEnv):
    """A safe task built on a gymnasium(-robotics) MuJoCo env ``sim``: the live model and data,
    reset, rendering, closing and the physics reference are the sim's; subclasses compute the
    cost in ``step`` and may reshape observations with :meth:`_observe`."""

    def __init__(
        self,
        sim: Any,
        *,
        substeps: int,
        observation_space: gym.Space,
        max_episode_steps: int,
        terminate_on_violation: bool,
        render_mode: str | None,
    ) -> None:
        super().__init__(
            max_episode_steps=max_episode_steps,
            terminate_on_violation=terminate_on_violation,
            render_mode=render_mode,
        )
        self._sim = sim
        self._substeps = substeps
        self.observation_space = observation_space
        self.action_space = sim.action_space

    @property
    def model(self) -> mujoco.MjModel:
        """The live MuJoCo model."""
        return self._sim.model

    @property
    def data(self) -> mujoco.MjData:
        """The live MuJoCo data (edit it, then ``mj_forward``, to construct situations)."""
        return self._sim.data

    def _observe(self, obs: Any) -> np.ndarray:
        """This task's observation from the sim's (default: unchanged)."""
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._start_episode(seed)
        obs, info = self._sim.reset(seed=seed, options=options)
        return self._observe(obs), info

    def render(self) -> np.ndarray | None:
        return self._sim.render()

    def close(self) -> None:
        self._sim.close()

    def physics_reference(self) -> tuple[mujoco.MjModel, mujoco.MjData, int]:
        """``(model, copy of the current data, mj_steps per env step)`` for throughput runs."""
        return self._sim.model, copy.deepcopy(self._sim.data), self._substeps
