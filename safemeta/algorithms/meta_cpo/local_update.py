"""Meta-CPO's local step (Eq. 9 in a Euclidean ball or a KL trust region; Meta-TRPO:
unconstrained) from a task's episodes: the one inner step of meta-training (``task_program``)
and of meta-test fine-tuning (the ``OnPolicyLocalUpdate`` protocol
``(module, state, episodes, task, step) -> (state', m)``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from safemeta.algorithms.common.episode_costs import EpisodeCostTracker
from safemeta.algorithms.meta_cpo.cpo_program import backtracking_scale
from safemeta.algorithms.meta_cpo.fisher_metric import FisherMetric
from safemeta.algorithms.meta_cpo.functional_policy import flat_policy_logp
from safemeta.algorithms.meta_cpo.meta_gradient import (
    PolicyLogProb,
    TaskBatch,
    local_cpo_step,
    surrogates,
)
from safemeta.algorithms.onpolicy.defaults import CriticSettings, TrustRegionSettings
from safemeta.algorithms.onpolicy.local import InnerState, batch_from_episodes, task_cost_limit
from safemeta.algorithms.onpolicy.targets import Discounting
from safemeta.algorithms.onpolicy.trust_region import flat_params, set_flat_params
from safemeta.algorithms.onpolicy.updates import PolicyBatch, center, critic_update, standardize


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


@dataclass(frozen=True)
class LocalStepRecord:
    """What one local step leaves for the replay of Eq. 11: its batch and line-search factor."""

    batch: TaskBatch
    scale: float
    metrics: dict[str, float]


def _surrogate_changes(logp: PolicyLogProb, phi: torch.Tensor, x: torch.Tensor, batch: TaskBatch):
    """``c -> (ΔL_R, ΔL_C)`` of φ + c·x against φ on ``batch``, without gradients."""
    with torch.no_grad():
        reward0, cost0 = surrogates(logp, phi, batch)

    def changes(scale: float) -> tuple[float, float]:
        with torch.no_grad():
            reward, cost = surrogates(logp, phi + scale * x, batch)
        return float(reward - reward0), float(cost - cost0)

    return changes


@dataclass(frozen=True)
class LocalCPOUpdate:
    """φᵏ⁺¹ = φᵏ + c·x* with x* the CPO program's solution on the task's rollout (Euclidean ball,
    or the KL trust region with ``fisher``) and c the backtracking factor (no gradients), then
    the critics regressed on the rollout (a fresh Adam per step, as ``OnPolicyLocalUpdate``)."""

    delta: float = 0.01
    constrained: bool = True
    fisher: FisherMetric | None = None
    discounting: Discounting = field(default_factory=Discounting)
    critic: CriticSettings = field(default_factory=CriticSettings)
    trust_region: TrustRegionSettings = field(default_factory=TrustRegionSettings)
    cost_limit: float = 10.0
    seed: int = 0

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> LocalCPOUpdate:
        """The local step of a ``MetaCPOConfig`` (``max_kl`` is the trust region's δ)."""
        fisher = None
        if config.local_trust_region == "kl":
            fisher = FisherMetric(damping=config.cg_damping, iterations=config.cg_iterations)
        values = {
            "delta": config.max_kl,
            "constrained": config.constrained,
            "fisher": fisher,
            "discounting": config.discounting,
            "critic": CriticSettings.from_config(config),
            "trust_region": TrustRegionSettings.from_config(config),
            "cost_limit": config.cost_limit,
            "seed": int(config.seed or 0),
        }
        return cls(**{**values, **overrides})

    def step(self, module: Any, episodes: list[Any], task: Any, step: int) -> LocalStepRecord:
        """One local step on ``module`` in place (policy and critics)."""
        d = task_cost_limit(task, self.cost_limit)
        logp = flat_policy_logp(module)
        params = module.policy_parameters()
        phi = flat_params(params)
        batch, policy_batch = task_batch(module, episodes, self.discounting, d)
        local = local_cpo_step(
            logp,
            phi.clone().requires_grad_(True),
            batch,
            self.delta,
            create_graph=False,
            constrained=self.constrained,
            fisher=self.fisher,
        )
        x = local.step.detach()
        scale = backtracking_scale(
            _surrogate_changes(logp, phi, x, batch),
            local.case,
            batch.constraint_value,
            decay=self.trust_region.line_search_decay,
            max_backtracks=self.trust_region.line_search_steps,
        )
        set_flat_params(params, phi + scale * x)
        optimizer = torch.optim.Adam(module.critic_parameters(), lr=self.critic.lr)
        critic = critic_update(
            module,
            policy_batch,
            optimizer,
            epochs=self.critic.epochs,
            minibatch_size=self.critic.minibatch_size,
            generator=torch.Generator().manual_seed(self.seed + step),
        )
        metrics = {
            "b": batch.constraint_value,
            "cost_limit": d,
            "line_search_scale": scale,
            "cpo_case": float(-1 if local.case is None else int(local.case)),
            "step_norm": float(scale * x.norm()),
            "kl": logp.mean_kl(phi, phi + scale * x, batch.obs),
            **{k: float(v) for k, v in critic.items()},
        }
        return LocalStepRecord(batch, scale, metrics)

    def initial_state(
        self, weights: dict[str, Any], lagrange_multiplier: float | None = None
    ) -> InnerState:
        """``weights`` (no multiplier: the constraint is in the program)."""
        return InnerState({k: torch.as_tensor(v).detach().clone() for k, v in weights.items()})

    def __call__(
        self, module: Any, state: InnerState, episodes: Any, task: Any, step: int
    ) -> tuple[InnerState, dict[str, float]]:
        module.set_state(state.weights)
        record = self.step(module, list(episodes), task, step)
        weights = {k: torch.as_tensor(v).detach().clone() for k, v in module.get_state().items()}
        return InnerState(weights), record.metrics
