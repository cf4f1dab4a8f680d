"""What Meta-CPO runs on an env runner for one task i (Alg. 1, lines 5-12).

φ⁰ = θ; K local steps (``LocalCPOUpdate``), each on a fresh rollout of π_{φᵏ}: the
Euclidean CPO program (Eq. 9; Meta-TRPO: the unconstrained one) with a backtracking factor cₖ
chosen without gradients, then the task's critics regressed on the rollout. After a
post-adaptation rollout of π_{φᴷ}, the task's terms of Eq. 11 (dF/dθ, dG/dθ) come from replaying
the K steps on the stored batches. The batches travel back too: the meta line search (Eq. 12)
replays them at candidate θ'.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from safemeta.algorithms.meta.protocol import RolloutStats, rollout_stats
from safemeta.algorithms.meta.task_runners import TaskContext
from safemeta.algorithms.meta_cpo.functional_policy import flat_policy_logp
from safemeta.algorithms.meta_cpo.local_update import LocalCPOUpdate, task_batch
from safemeta.algorithms.meta_cpo.meta_gradient import TaskReplay, task_meta_gradients
from safemeta.algorithms.onpolicy.local import task_cost_limit
from safemeta.algorithms.onpolicy.trust_region import flat_params


@dataclass
class MetaCPOTaskOutcome:
    """One task's contribution to the meta update."""

    index: int
    cost_limit: float
    reward_gradient: torch.Tensor
    """dF_i/dθ (Eq. 11)."""
    cost_gradient: torch.Tensor | None
    """dG_i/dθ (Eq. 11); None for Meta-TRPO."""
    constraint_value: float
    """b_i = (J_C(π_{φᴷ}) − d)/L on the post-adaptation rollout (``EpisodeCostTracker``'s J_C)."""
    replay: TaskReplay
    """The K steps' batches and factors and the post-adaptation batch (the meta line search)."""
    pre_episodes: list[Any]
    """π_θ's own rollout on the task (for the meta critics)."""
    steps: list[RolloutStats]
    """Statistics of the rollouts of φ⁰ = θ, …, φᴷ (the last: post-adaptation)."""
    metrics: list[dict[str, float]] = field(default_factory=list)
    runner_index: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds on the runner: ``inner_sample`` (the K + 1 rollouts), ``inner_update`` (the K
    local steps), ``meta_gradient`` (Eq. 11 by replay)."""


@dataclass
class MetaCPOTaskProgram:
    """The task program (pickled to the runners)."""

    update: LocalCPOUpdate
    num_steps: int
    first_order: bool = False
    num_timesteps: int | None = None
    num_episodes: int | None = None

    def __call__(self, ctx: TaskContext) -> MetaCPOTaskOutcome:
        module, update = ctx.module, self.update
        d = task_cost_limit(ctx.task, update.cost_limit)
        theta = flat_params(module.policy_parameters())
        size = {"num_episodes": self.num_episodes, "num_timesteps": self.num_timesteps}
        records, rollouts = [], []
        seed = update.seed + 100 * ctx.index
        seconds = {"inner_sample": 0.0, "inner_update": 0.0}
        for step in range(self.num_steps):
            start = time.perf_counter()
            rollouts.append(ctx.sample(**size))
            sampled = time.perf_counter()
            records.append(
                dataclasses.replace(update, seed=seed).step(module, rollouts[-1], ctx.task, step)
            )
            seconds["inner_sample"] += sampled - start
            seconds["inner_update"] += time.perf_counter() - sampled
        start = time.perf_counter()
        post = ctx.sample(**size)
        seconds["inner_sample"] += time.perf_counter() - start
        post_batch, _ = task_batch(module, post, update.discounting, d)
        replay = TaskReplay(
            batches=[r.batch for r in records],
            scales=[r.scale for r in records],
            post_batch=post_batch,
            delta=update.delta,
            constrained=update.constrained,
            fisher=update.fisher,
        )
        start = time.perf_counter()
        grads = task_meta_gradients(
            flat_policy_logp(module), theta, replay, first_order=self.first_order
        )
        seconds["meta_gradient"] = time.perf_counter() - start
        return MetaCPOTaskOutcome(
            index=ctx.index,
            cost_limit=d,
            reward_gradient=grads.reward,
            cost_gradient=grads.cost,
            constraint_value=post_batch.constraint_value,
            replay=replay,
            pre_episodes=rollouts[0],
            steps=[rollout_stats(r) for r in [*rollouts, post]],
            metrics=[r.metrics for r in records],
            runner_index=ctx.runner_index,
            seconds=seconds,
        )
