"""The on-policy family's defaults, in one place: the RLlib config (``OnPolicyConfig``) and the
inner update of meta-RL (``local.OnPolicyLocalUpdate``) both start from these values, and
``from_config`` carries an experiment's overrides from the config to the inner update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safemeta.algorithms.common.lagrange import MultiplierRule

COST_LIMIT = 25.0
"""d of the navigation benchmarks (Safety-Gymnasium's and OmniSafe's default)."""


@dataclass(frozen=True)
class TrustRegionSettings:
    """δ (max KL), conjugate-gradient and line-search settings."""

    max_kl: float = 0.01
    cg_iterations: int = 15
    cg_damping: float = 0.1
    line_search_steps: int = 15
    line_search_decay: float = 0.8

    @classmethod
    def from_config(cls, config: Any) -> TrustRegionSettings:
        return cls(
            config.max_kl,
            config.cg_iterations,
            config.cg_damping,
            config.line_search_steps,
            config.line_search_decay,
        )


@dataclass(frozen=True)
class CriticSettings:
    """Adam regression of V_R and V_C on their λ-return targets."""

    lr: float = 1e-3
    epochs: int = 10
    minibatch_size: int | None = 128

    @classmethod
    def from_config(cls, config: Any) -> CriticSettings:
        return cls(config.critic_lr, config.critic_epochs, config.critic_minibatch_size)


@dataclass(frozen=True)
class LagrangeSettings:
    """λ's initial value, rate and update rule (``common.lagrange.LagrangeMultiplier``)."""

    init: float = 0.0
    lr: float = 0.035
    rule: MultiplierRule = "adam"

    @classmethod
    def from_config(cls, config: Any) -> LagrangeSettings:
        return cls(config.lagrangian_init, config.lagrangian_lr, config.lagrangian_optimizer)
