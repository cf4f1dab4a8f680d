"""What Meta-CPO runs on an env runner for one task i (Alg. 1, lines 5-12).

φ⁰ = θ; K local steps, each on a fresh rollout of π_{φᵏ}: the Euclidean CPO program (Eq. 9;
Meta-TRPO: the unconstrained one) with a backtracking factor cₖ chosen without gradients, then
the task's critics regressed on the rollout. After a post-adaptation rollout of π_{φᴷ}, the
task's terms of Eq. 11 (dF/dθ, dG/dθ) come from replaying the K steps on the stored batches.
The batches travel back too: the meta line search (Eq. 12) replays them at candidate θ'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from safemeta.algorithms.common.episode_costs import EpisodeCostTracker
from safemeta.algorithms.meta.protocol import RolloutStats, rollout_stats
from safemeta.algorithms.meta.task_runners import TaskContext
from safemeta.algorithms.meta_cpo.cpo_program import backtracking_scale
from safemeta.algorithms.meta_cpo.functional_policy import flat_policy_logp
from safemeta.algorithms.meta_cpo.meta_gradient import (
    TaskBatch,
    local_cpo_step,
    surrogates,
    task_meta_gradients,
)
from safemeta.algorithms.onpolicy.defaults import CriticSettings
from safemeta.algorithms.onpolicy.local import batch_from_episodes, task_cost_limit
from safemeta.algorithms.onpolicy.targets import Discounting
from safemeta.algorithms.onpolicy.trust_region import flat_params, set_flat_params
from safemeta.algorithms.onpolicy.updates import PolicyBatch, center, critic_update, standardize


@dataclass
class MetaCPOTaskOutcome:
    """One task's contribution to the meta update."""

    index: int
    cost_limit: float
    reward_gradient: torch.Tensor
    """dF_i/dθ (Eq. 11)."""
    cost_gradient: torch.Tensor
    """dG_i/dθ (Eq. 11)."""
    constraint_value: float
    """b_i = (J_C(π_{φᴷ}) − d)/L on the post-adaptation rollout (``EpisodeCostTracker``'s J_C)."""
    batches: list[TaskBatch]
    scales: list[float]
    post_batch: TaskBatch
    pre_episodes: list[Any]
    """π_θ's own rollout on the task (for the meta critics)."""
    steps: list[RolloutStats]
    """Statistics of the rollouts of φ⁰ = θ, …, φᴷ (the last: post-adaptation)."""
    metrics: list[dict[str, float]] = field(default_factory=list)
    runner_index: int = 0


def task_batch(
    module: Any, episodes: list[Any], discounting: Discounting, d: float
) -> tuple[TaskBatch, PolicyBatch]:
    """The rollout as the CPO step reads it: standardised reward and centred cost advantages
    (the module's current critics), π's log-probabilities, b = (J_C − d)/L; and the
    ``PolicyBatch`` (value targets) for the critics."""
    batch = batch_from_episodes(module, episodes, discounting)
    estimate = EpisodeCostTracker().update(episodes)
    logp = flat_policy_logp(module)
    with torch.no_grad():
        behaviour = logp(flat_params(module.policy_parameters()), batch.obs, batch.actions)
    return TaskBatch(
        obs=batch.obs,
        actions=batch.actions,
        behaviour_logp=behaviour,
        advantages=standardize(batch.advantages),
        cost_advantages=center(batch.cost_advantages),
        constraint_value=(estimate.episode_cost - d) / max(estimate.episode_length, 1.0),
    ), batch


@dataclass
class MetaCPOTaskProgram:
    """The task program (pickled to the runners)."""

    num_steps: int
    delta: float
    discounting: Discounting
    critic: CriticSettings
    cost_limit: float
    constrained: bool = True
    first_order: bool = False
    num_timesteps: int | None = None
    num_episodes: int | None = None
    line_search_steps: int = 10
    line_search_decay: float = 0.8
    seed: int = 0

    def __call__(self, ctx: TaskContext) -> MetaCPOTaskOutcome:
        module = ctx.module
        d = task_cost_limit(ctx.task, self.cost_limit)
        logp = flat_policy_logp(module)
        params = module.policy_parameters()
        theta = flat_params(params)
        phi = theta.clone()
        batches, scales, rollouts, metrics = [], [], [], []
        for step in range(self.num_steps):
            set_flat_params(params, phi)
            episodes = ctx.sample(num_episodes=self.num_episodes, num_timesteps=self.num_timesteps)
            rollouts.append(episodes)
            batch, policy_batch = task_batch(module, episodes, self.discounting, d)
            local = local_cpo_step(
                logp,
                phi.clone().requires_grad_(True),
                batch,
                self.delta,
                create_graph=False,
                constrained=self.constrained,
            )
            x = local.step.detach()
            scale = backtracking_scale(
                _surrogate_changes(logp, phi, x, batch),
                local.case,
                batch.constraint_value,
                decay=self.line_search_decay,
                max_backtracks=self.line_search_steps,
            )
            phi = phi + scale * x
            batches.append(batch)
            scales.append(scale)
            optimizer = torch.optim.Adam(module.critic_parameters(), lr=self.critic.lr)
            generator = torch.Generator().manual_seed(self.seed + ctx.index * 100 + step)
            critic = critic_update(
                module,
                policy_batch,
                optimizer,
                epochs=self.critic.epochs,
                minibatch_size=self.critic.minibatch_size,
                generator=generator,
            )
            metrics.append(
                {
                    "b": batch.constraint_value,
                    "line_search_scale": scale,
                    "cpo_case": float(-1 if local.case is None else int(local.case)),
                    "step_norm": float(x.norm()),
                    **critic,
                }
            )
        set_flat_params(params, phi)
        post = ctx.sample(num_episodes=self.num_episodes, num_timesteps=self.num_timesteps)
        post_batch, _ = task_batch(module, post, self.discounting, d)
        grads = task_meta_gradients(
            logp,
            theta,
            batches,
            scales,
            post_batch,
            self.delta,
            first_order=self.first_order,
            constrained=self.constrained,
        )
        return MetaCPOTaskOutcome(
            index=ctx.index,
            cost_limit=d,
            reward_gradient=grads.reward,
            cost_gradient=grads.cost,
            constraint_value=post_batch.constraint_value,
            batches=batches,
            scales=scales,
            post_batch=post_batch,
            pre_episodes=rollouts[0],
            steps=[rollout_stats(r) for r in [*rollouts, post]],
            metrics=metrics,
            runner_index=ctx.runner_index,
        )


def _surrogate_changes(logp: Any, phi: torch.Tensor, x: torch.Tensor, batch: TaskBatch):
    """``c -> (ΔL_R, ΔL_C)`` of φ + c·x against φ on ``batch``, without gradients."""
    with torch.no_grad():
        reward0, cost0 = surrogates(logp, phi, batch)

    def changes(scale: float) -> tuple[float, float]:
        with torch.no_grad():
            reward, cost = surrogates(logp, phi + scale * x, batch)
        return float(reward - reward0), float(cost - cost0)

    return changes
