"""Tiny envs for the on-policy family's tests (importable by Ray workers)."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

_INSTANCES = itertools.count()


class RiskyRewardEnv(gym.Env):
    """One-dimensional action; reward = clip(a, -1, 1), cost = 1 while a > ``threshold``.

    The unconstrained optimum pushes a -> 1 and pays ``episode_length`` cost per episode; with a
    cost limit d < episode_length the constrained optimum keeps a mostly below the threshold.
    Observations carry the time only.
    """

    def __init__(self, config: Any = None) -> None:
        config = config if config is not None else {}
        episode_length = int(config.get("episode_length", 20))
        threshold = float(config.get("threshold", 0.25))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.episode_length, self.threshold = episode_length, threshold
        self._t = 0

    def _obs(self) -> np.ndarray:
        return np.array([self._t / self.episode_length, 1.0], np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def reward(self, a: float) -> float:
        return a

    def step(self, action):
        a = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        self._t += 1
        info = {"cost": float(a > self.threshold)}
        return self._obs(), self.reward(a), False, self._t >= self.episode_length, info


class TwoSlopesEnv(RiskyRewardEnv):
    """One-dimensional action with a safe peak and a risky slope; cost = 1 while a > ``threshold``.

    ``r(a) = h - |a - safe_peak|`` left of ``valley`` (h = valley - safe_peak, so r(valley) = 0),
    ``r(a) = (a - valley) / (1 - valley)`` right of it. With the defaults (safe peak -0.6,
    valley -0.1, threshold 0): the safe peak pays 0.5 per step at almost no cost, the risky slope
    climbs to 1 per step at a = 1 while paying cost every step. From a ≈ 0 the reward gradient
    points up the risky slope, so unconstrained TRPO climbs it; a constrained learner started
    there is infeasible and must cross the valley to the safe peak, where the cost limit no longer
    binds. Observations carry the time only.
    """

    def __init__(self, config: Any = None) -> None:
        config = config if config is not None else {}
        super().__init__({"threshold": 0.0, **config})
        self.safe_peak = float(config.get("safe_peak", -0.6))
        self.valley = float(config.get("valley", -0.1))
        if not -1.0 <= self.safe_peak < self.valley < 1.0:
            raise ValueError(
                f"need -1 <= safe_peak < valley < 1, got {self.safe_peak} and {self.valley}"
            )

    def reward(self, a: float) -> float:
        if a < self.valley:
            return (self.valley - self.safe_peak) - abs(a - self.safe_peak)
        return (a - self.valley) / (1.0 - self.valley)


@dataclass(frozen=True)
class TargetTask:
    """Reach ``target`` with the action; ``cost_limit`` as every safemeta task carries."""

    target: float
    cost_limit: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TaskTargetEnv(gym.Env):
    """reward = -(a - target)², cost = 1 if |a| > 0.9; ``info["target"]`` tells the task.

    Episode lengths are random: 2 or 20 steps with equal probability, so episode-count sampling
    bias is visible (true mean length 11). They come from a stream seeded once per instance (from
    the worker index and an instance counter), not from ``reset(seed=...)``: RLlib re-seeds on
    every forced reset, which would replay the same lengths.
    """

    def __init__(self, config: Any = None, random_lengths: bool = True) -> None:
        config = config if config is not None else {}
        random_lengths = config.get("random_lengths", random_lengths)
        worker = getattr(config, "worker_index", 0)
        self._lengths = np.random.default_rng([worker, next(_INSTANCES)])
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.random_lengths = random_lengths
        self._task = TargetTask(0.0)
        self._t, self._length = 0, 10

    def set_task(self, task: TargetTask) -> None:
        self._task = task

    def get_task(self) -> TargetTask:
        return self._task

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._t = 0
        self._length = int(self._lengths.choice([2, 20])) if self.random_lengths else 10
        return np.array([0.0, 1.0], np.float32), {"target": self._task.target}

    def step(self, action):
        a = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        self._t += 1
        info = {"target": self._task.target, "cost": float(abs(a) > 0.9)}
        obs = np.array([self._t / 20.0, 1.0], np.float32)
        return obs, -((a - self._task.target) ** 2), False, self._t >= self._length, info


@dataclass(frozen=True)
class TargetDistribution:
    """``TargetTask``s with targets uniform in ±[low, high] per split (a random sign).

    Train: |target| in [0.6, 0.9]; test: [0.7, 0.95]. The cost (|a| > 0.9) binds for the test
    targets near the edge; registered as the task distribution ``"test_targets"``.
    """

    env_name: str = "TestTargets-v0"
    env_kwargs: Any = field(default_factory=lambda: {"random_lengths": False})
    cost_limit: float = 1.0

    def sample_tasks(self, n, *, split="train", rng=None, seed=None):
        gen = rng if rng is not None else np.random.default_rng(seed)
        low, high = (0.6, 0.9) if split == "train" else (0.7, 0.95)
        return [
            TargetTask(float(gen.choice([-1.0, 1.0]) * gen.uniform(low, high)), self.cost_limit)
            for _ in range(n)
        ]


@dataclass(frozen=True)
class SignTask:
    """Push the action towards ``direction`` (±1); ``cost_limit`` per 10-step episode."""

    direction: float
    cost_limit: float = 2.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TaskSignEnv(gym.Env):
    """reward = direction·a, cost = 1 while |a| > 0.5; 10 steps; the direction is latent.

    Unconstrained adaptation runs to |a| → 1 and pays the cost every step; a cost limit of 2 per
    episode asks the adapted policy to stay mostly inside |a| ≤ 0.5.
    """

    def __init__(self, config: Any = None) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self._task, self._t = SignTask(1.0), 0

    def set_task(self, task: SignTask) -> None:
        self._task = task

    def get_task(self) -> SignTask:
        return self._task

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._t = 0
        return np.array([0.0, 1.0], np.float32), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action).reshape(-1)[0], -1.0, 1.0))
        self._t += 1
        obs = np.array([self._t / 10.0, 1.0], np.float32)
        info = {"cost": float(abs(a) > 0.5)}
        return obs, self._task.direction * a, False, self._t >= 10, info


@dataclass(frozen=True)
class SignDistribution:
    """``SignTask``s with a random direction (both splits); ``"test_signs"``."""

    env_name: str = "TestSigns-v0"
    env_kwargs: Any = field(default_factory=dict)

    def sample_tasks(self, n, *, split="train", rng=None, seed=None):
        gen = rng if rng is not None else np.random.default_rng(seed)
        return [SignTask(float(gen.choice([-1.0, 1.0]))) for _ in range(n)]


def make_target_env(random_lengths: bool = True) -> TaskTargetEnv:
    """``TaskTargetEnv`` for the env registry (keyword arguments, as ``make`` passes them)."""
    return TaskTargetEnv({"random_lengths": random_lengths})


def _register_distributions() -> None:
    from safemeta.environments.registry import register_env
    from safemeta.environments.task_distributions import register_task_distribution

    register_env(
        "TestTargets-v0",
        "tests.plugins.onpolicy_envs:make_target_env",
        "Tests: reach a task's target action; cost when |a| > 0.9.",
    )
    register_env(
        "TestSigns-v0",
        "tests.plugins.onpolicy_envs:TaskSignEnv",
        "Tests: push the action towards a latent sign; cost when |a| > 0.5.",
    )
    register_task_distribution("test_targets", TargetDistribution)
    register_task_distribution("test_signs", SignDistribution)


_register_distributions()
