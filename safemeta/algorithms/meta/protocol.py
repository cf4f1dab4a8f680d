"""The meta-test protocol, shared by every meta-algorithm and baseline: fine-tune one
initialisation on every test task with an inner algorithm, and report return and cost of each
adaptation step's rollout, averaged over the test tasks.

Step k's rollout is sampled with φ^k (φ^0 = the initialisation, φ^K after K fine-tuning steps).
Tasks run one per env runner (``task_runners.run_tasks``); only statistics travel back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from safemeta.algorithms.meta.task_runners import LocalAdaptation, TaskContext, run_tasks
from safemeta.environments.costs import step_costs


@dataclass(frozen=True)
class RolloutStats:
    """Mean return and cost of the finished episodes of one rollout (NaN if none finished)."""

    episode_return: float
    episode_cost: float
    episodes: int
    env_steps: int


def rollout_stats(episodes: Sequence[Any]) -> RolloutStats:
    """``RolloutStats`` of a rollout's episode chunks (unfinished chunks count only as steps)."""
    done = [ep for ep in episodes if ep.is_done]
    returns = [float(ep.get_return()) for ep in done]
    costs = [float(step_costs(ep).sum()) for ep in done]
    return RolloutStats(
        float(np.mean(returns)) if done else float("nan"),
        float(np.mean(costs)) if done else float("nan"),
        len(done),
        int(sum(len(ep) for ep in episodes)),
    )


def nanmean(values: Sequence[float]) -> float:
    """Mean of the finite values (NaN if there are none)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


@dataclass
class FineTuneProgram:
    """Task program: ``adaptation_steps`` inner steps, each on a fresh rollout, then one more
    rollout of the adapted policy; returns the ``RolloutStats`` of all K + 1 rollouts."""

    update: Any
    adaptation_steps: int
    num_timesteps: int | None = None
    num_episodes: int | None = None

    def __call__(self, ctx: TaskContext) -> list[RolloutStats]:
        if self.adaptation_steps == 0:
            sample = ctx.sample(num_episodes=self.num_episodes, num_timesteps=self.num_timesteps)
            return [rollout_stats(sample)]
        result = LocalAdaptation(
            update=self.update,
            num_steps=self.adaptation_steps,
            num_episodes=self.num_episodes,
            num_timesteps=self.num_timesteps,
            post_adaptation=True,
        )(ctx)
        return [rollout_stats(r) for r in [*result.episodes, result.post_episodes]]


@dataclass(frozen=True)
class AdaptationCurve:
    """Per adaptation step k = 0..K: means over the test tasks."""

    episode_return: list[float]
    episode_cost: list[float]
    cost_limit: float
    tasks: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def with_cost_limit(task: Any, cost_limit: float | None) -> Any:
    """``task`` with its cost limit replaced (a test-time d), or unchanged for None."""
    return task if cost_limit is None else dataclasses.replace(task, cost_limit=cost_limit)


def meta_test(
    env_runner_group: Any,
    weights: dict[str, Any],
    tasks: Sequence[Any],
    program: FineTuneProgram,
    *,
    seed: int = 0,
) -> AdaptationCurve:
    """Fine-tune ``weights`` on each of ``tasks`` with ``program``; the mean curve over tasks."""
    per_task: list[list[RolloutStats]] = run_tasks(
        env_runner_group, list(tasks), weights, program, seed=seed
    )
    steps = len(per_task[0])
    return AdaptationCurve(
        episode_return=[nanmean([t[k].episode_return for t in per_task]) for k in range(steps)],
        episode_cost=[nanmean([t[k].episode_cost for t in per_task]) for k in range(steps)],
        cost_limit=float(np.mean([float(getattr(t, "cost_limit", math.nan)) for t in tasks])),
        tasks=len(per_task),
    )
