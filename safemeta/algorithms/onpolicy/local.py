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
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.onpolicy.defaults import (
    COST_LIMIT,
    CriticSettings,
    LagrangeSettings,
    TrustRegionSettings,
)
from safemeta.algorithms.onpolicy.lagrangian import lagrangian_advantages
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


@dataclass(frozen=True)
class InnerState:
    """What a task's adaptation carries from one local step to the next: the module's weights
    (policy, critics, normaliser) and the task's multiplier λ_p (a ``LagrangeMultiplier`` state;
    None for the variants without one)."""

    weights: dict[str, torch.Tensor]
    multiplier: dict[str, Any] | None = None

    @property
    def lagrange_multiplier(self) -> float | None:
        """λ_p (None without a multiplier)."""
        if self.multiplier is None:
            return None
        if "log_value" in self.multiplier:
            return float(torch.as_tensor(self.multiplier["log_value"]).exp())
        return float(self.multiplier["value"])


def _detached(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v).detach().clone() for k, v in state.items()}


@dataclass(frozen=True)
class OnPolicyLocalUpdate:
    """One local TRPO / TRPO-Lag / CPO step from episodes of one task, as a function:
    ``(module, state, episodes, task, step) -> (state', metrics)``.

    ``module`` only evaluates: ``state.weights`` are loaded into it, the step is computed, and the
    new weights are returned (the input state is not changed). The critics are regressed with a
    fresh Adam each step; with ``"trpo_lag"`` λ_p takes one dual step on J_C − d first (the
    Learner's order). Defaults are the family's (``onpolicy.defaults``); ``from_config`` takes
    an experiment's values from an on-policy config.
    """

    variant: Literal["trpo", "trpo_lag", "cpo"] = "trpo_lag"
    settings: TrustRegionSettings = field(default_factory=TrustRegionSettings)
    critic: CriticSettings = field(default_factory=CriticSettings)
    lagrange: LagrangeSettings = field(default_factory=LagrangeSettings)
    discounting: Discounting = field(default_factory=Discounting)
    cost_limit: float = COST_LIMIT
    seed: int = 0

    @classmethod
    def from_config(
        cls, config: Any, variant: Literal["trpo", "trpo_lag", "cpo"], **overrides: Any
    ) -> OnPolicyLocalUpdate:
        """The inner update with ``config``'s trust region, critic, λ and discounting values."""
        lagrange = (
            LagrangeSettings.from_config(config)
            if getattr(config, "uses_lagrangian", False)
            else LagrangeSettings()
        )
        values = {
            "variant": variant,
            "settings": TrustRegionSettings.from_config(config),
            "critic": CriticSettings.from_config(config),
            "lagrange": lagrange,
            "discounting": config.discounting,
            "cost_limit": config.cost_limit,
            "seed": int(config.seed or 0),
        }
        return cls(**{**values, **overrides})

    def initial_state(
        self, weights: dict[str, Any], lagrange_multiplier: float | None = None
    ) -> InnerState:
        """``weights`` and λ_p = ``lagrange_multiplier`` (default: the settings' initial λ)."""
        if self.variant != "trpo_lag":
            return InnerState(_detached(weights))
        init = self.lagrange.init if lagrange_multiplier is None else lagrange_multiplier
        return InnerState(_detached(weights), self._multiplier(init).get_state())

    def _multiplier(self, init: float) -> LagrangeMultiplier:
        return LagrangeMultiplier(init, lr=self.lagrange.lr, rule=self.lagrange.rule)

    def __call__(
        self, module: Any, state: InnerState, episodes: Sequence[Any], task: Any, step: int
    ) -> tuple[InnerState, dict[str, float]]:
        module.set_state(state.weights)
        d = task_cost_limit(task, self.cost_limit)
        estimate = EpisodeCostTracker().update(episodes)
        batch = batch_from_episodes(module, episodes, self.discounting)
        adv, cadv = standardize(batch.advantages), center(batch.cost_advantages)
        metrics: dict[str, float] = {"episode_cost": estimate.episode_cost, "cost_limit": d}
        multiplier_state = None
        if self.variant == "trpo_lag":
            multiplier = self._multiplier(self.lagrange.init)
            if state.multiplier is not None:
                multiplier.set_state(state.multiplier)
            lam = multiplier.step(estimate.episode_cost, d)
            multiplier_state = multiplier.get_state()
            metrics["lagrange_multiplier"] = lam
            metrics |= trpo_update(
                module, batch, lagrangian_advantages(adv, cadv, lam), self.settings
            )
        elif self.variant == "cpo":
            b = (estimate.episode_cost - d) / max(estimate.episode_length, 1.0)
            metrics |= cpo_update(module, batch, adv, cadv, b, self.settings)
        else:
            metrics |= trpo_update(module, batch, adv, self.settings)
        optimizer = torch.optim.Adam(module.critic_parameters(), lr=self.critic.lr)
        generator = torch.Generator().manual_seed(self.seed + step)
        metrics |= critic_update(
            module,
            batch,
            optimizer,
            epochs=self.critic.epochs,
            minibatch_size=self.critic.minibatch_size,
            generator=generator,
        )
        return InnerState(_detached(module.get_state()), multiplier_state), metrics


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
