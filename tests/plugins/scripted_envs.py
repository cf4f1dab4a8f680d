"""Test-only environments with scripted costs (registered when this module is imported)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from safemeta.environments.registry import register_env


class ScriptedCostEnv(gym.Env):
    """Fixed-length episodes whose costs are known in advance.

    Step t (1-based) costs 1 if t is in ``cost_steps`` during the first ``violating_episodes``
    episodes of this instance, else 0. ``info["cumulative_cost"]`` is the ground truth. Raises
    after ``fail_after_steps`` steps in total (0 = never), to test failure isolation; sleeps
    ``step_sleep_s`` per step, to make a trial slow enough to interrupt. With ``kill_marker`` set,
    the process hosting the env SIGKILLs itself after ``kill_after_steps`` steps, once: the marker
    file it creates first keeps later instances (the restored trial) alive.
    """

    def __init__(
        self,
        episode_length: int = 10,
        cost_steps: tuple[int, ...] = (1, 10),
        violating_episodes: int = 1_000_000,
        fail_after_steps: int = 0,
        step_sleep_s: float = 0.0,
        kill_after_steps: int = 0,
        kill_marker: str = "",
    ) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.episode_length = episode_length
        self.cost_steps = set(cost_steps)
        self.violating_episodes = violating_episodes
        self.fail_after_steps = fail_after_steps
        self.step_sleep_s = step_sleep_s
        self.kill_after_steps = kill_after_steps
        self.kill_marker = kill_marker
        self._episodes = -1
        self._t = 0
        self._total_steps = 0
        self._cumulative = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self._t / self.episode_length, 0.0], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._episodes += 1
        self._t = 0
        self._cumulative = 0.0
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        self._total_steps += 1
        if self.step_sleep_s:
            time.sleep(self.step_sleep_s)
        if self.fail_after_steps and self._total_steps > self.fail_after_steps:
            raise RuntimeError("scripted failure")
        if self.kill_marker and self._total_steps > self.kill_after_steps:
            marker = Path(self.kill_marker)
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
        violating = self._episodes < self.violating_episodes
        cost = float(violating and self._t in self.cost_steps)
        self._cumulative += cost
        truncated = self._t >= self.episode_length
        info = {"cost": cost, "cumulative_cost": self._cumulative}
        return self._obs(), 1.0, False, truncated, info


register_env(
    "ScriptedCost-v0",
    "tests.plugins.scripted_envs:ScriptedCostEnv",
    "Test env: fixed-length episodes with scripted costs.",
)
register_env(
    "ScriptedCostFailing-v0",
    "tests.plugins.scripted_envs:ScriptedCostEnv",
    "Test env: ScriptedCost-v0 that raises after 50 steps.",
    fail_after_steps=50,
)
register_env(
    "ScriptedCostSlow-v0",
    "tests.plugins.scripted_envs:ScriptedCostEnv",
    "Test env: ScriptedCost-v0 at 20 ms per step.",
    step_sleep_s=0.02,
)
register_env(
    "ScriptedCostFailingLate-v0",
    "tests.plugins.scripted_envs:ScriptedCostEnv",
    "Test env: ScriptedCost-v0 that raises after 190 steps (between checkpoints).",
    fail_after_steps=190,
)
