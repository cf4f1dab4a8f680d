"""On-policy updates outside a Learner, from raw episodes: what a meta-RL inner loop runs on an
env runner (one task, K local steps). Uses the same targets and update functions as the Learner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from safemeta.algorithms.common.episode_costs import EpisodeCostTracker
from safemeta.algorithms.onpolicy.lagrangian import lagrangian_advantages, multiplier_gradient
from safemeta.algorithms.onpolicy.targets import (
    ADVANTAGES,
    COST_ADVANTAGES,
    COST_VALUE_TARGETS,
    VALUE_TARGETS,
    Discounting,
    episode_targets,
)
from safemeta.algorithms.onpolicy.trust_region import flat_grad
from safemeta.algorithms.onpolicy.updates import (
    ACTIONS,
    OBS,
    PolicyBatch,
    PolicyEvaluator,
    TrustRegionSettings,
    center,
    cpo_update,
    critic_update,
    standardize,
    trpo_update,
)


def batch_from_episodes(
    module: Any, episodes: Sequence[Any], discounting: Discounting
) -> PolicyBatch:
    """Flat ``PolicyBatch`` of episode chunks (observations are folded into no normaliser)."""
    targets = episode_targets(module, episodes, discounting)
    columns = {
        OBS: np.concatenate([np.asarray(ep.get_observations()[:-1]) for ep in episodes]),
        ACTIONS: np.concatenate([np.asarray(ep.get_actions()) for ep in episodes]),
    }
    for key in (ADVANTAGES, COST_ADVANTAGES, VALUE_TARGETS, COST_VALUE_TARGETS):
        columns[key] = np.concatenate([t[key] for t in targets])
    return PolicyBatch.from_columns(columns)


def task_cost_limit(task: Any, default: float) -> float:
    """The task's cost limit d if it carries one, else ``default``."""
    return float(getattr(task, "cost_limit", default))


@dataclass
class OnPolicyLocalUpdate:
    """One local TRPO / TRPO-Lag / CPO step on a module, from episodes of one task.

    Call it with ``(module, episodes, task, step)``; it updates the module in place (policy, and
    the critics with a fresh Adam per call) and returns metrics. With ``"trpo_lag"``, λ starts at
    ``lagrangian_init`` and is ascended on J_C − d each call (plain projected gradient step).
    """

    variant: Literal["trpo", "trpo_lag", "cpo"] = "trpo_lag"
    settings: TrustRegionSettings = field(default_factory=TrustRegionSettings)
    discounting: Discounting = field(default_factory=Discounting)
    cost_limit: float = 25.0
    lagrangian_init: float = 0.0
    lagrangian_lr: float = 0.05
    critic_lr: float = 1e-3
    critic_epochs: int = 5
    critic_minibatch_size: int | None = 128
    seed: int = 0
    lam: float | None = None

    def __call__(self, module: Any, episodes: Sequence[Any], task: Any, step: int):
        d = task_cost_limit(task, self.cost_limit)
        estimate = EpisodeCostTracker().update(episodes)
        batch = batch_from_episodes(module, episodes, self.discounting)
        adv, cadv = standardize(batch.advantages), center(batch.cost_advantages)
        metrics: dict[str, float] = {"episode_cost": estimate.episode_cost, "cost_limit": d}
        if self.variant == "trpo_lag":
            lam = self.lagrangian_init if self.lam is None else self.lam
            self.lam = max(
                0.0, lam + self.lagrangian_lr * multiplier_gradient(estimate.episode_cost, d)
            )
            metrics["lagrange_multiplier"] = self.lam
            metrics |= trpo_update(
                module, batch, lagrangian_advantages(adv, cadv, self.lam), self.settings
            )
        elif self.variant == "cpo":
            b = (estimate.episode_cost - d) / max(estimate.episode_length, 1.0)
            metrics |= cpo_update(module, batch, adv, cadv, b, self.settings)
        else:
            metrics |= trpo_update(module, batch, adv, self.settings)
        optimizer = torch.optim.Adam(module.critic_parameters(), lr=self.critic_lr)
        generator = torch.Generator().manual_seed(self.seed + step)
        metrics |= critic_update(
            module,
            batch,
            optimizer,
            epochs=self.critic_epochs,
            minibatch_size=self.critic_minibatch_size,
            generator=generator,
        )
        return metrics


def surrogate_gradient(
    module: Any, episodes: Sequence[Any], discounting: Discounting, lam: float = 0.0
) -> torch.Tensor:
    """First-order policy gradient of the Lagrangian surrogate at the current policy:
    :math:`\\nabla_\\theta \\mathbb{E}[\\rho\\,(A_R - \\lambda A_C)]` at ρ = 1 (flat, over
    ``module.policy_parameters()``) — the per-task term of a FoMAML meta-gradient."""
    batch = batch_from_episodes(module, episodes, discounting)
    adv = lagrangian_advantages(standardize(batch.advantages), center(batch.cost_advantages), lam)
    evaluator = PolicyEvaluator(module, batch)
    return flat_grad(evaluator.surrogate(adv), evaluator.params)
