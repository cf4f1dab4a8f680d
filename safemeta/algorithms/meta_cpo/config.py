"""Configs of Meta-CPO and of its unconstrained twin Meta-TRPO (``meta_trpo``).

Defaults follow the Meta-CPO authors' code where ``../shared/specs/meta_rl_algorithms.md``
quotes it: M = 5 tasks per meta-iteration, K = 3 local steps, 3,000 env steps per rollout, a
(24, 12) tanh policy, ball radius δ = 0.01 (``max_kl``), d = 10, γ = 0.99, GAE λ = 0.95.
Decided here: the meta ball δ_θ = 0.01 as well, and the critics regressed by Adam as in the rest
of the on-policy family (the authors fit (128, 128) critics by L-BFGS).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided

from safemeta.algorithms.common.config_state import require, set_provided
from safemeta.algorithms.meta.config import MetaTrainingMixin
from safemeta.algorithms.onpolicy.config import TrustRegionConfig


class MetaCPOConfig(MetaTrainingMixin, TrustRegionConfig):
    """Meta-CPO (Alg. 1, Eq. 9-12). ``max_kl`` is δ of the local CPO program's trust region
    (``local_trust_region``: "euclidean", ½‖φ − φᵏ‖² ≤ δ, as the paper's Limitations adopt;
    "kl", ½(φ − φᵏ)ᵀH(φ − φᵏ) ≤ δ with H the Fisher matrix + ``cg_damping``, solved by CG in
    ``cg_iterations``), ``meta_delta`` δ_θ of the meta program (``meta_trust_region``); the
    line-search settings serve both; the critics and ``cost_limit`` are the family's."""

    constrained = True
    """Whether the programs carry the cost constraint (Meta-TRPO: False)."""

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.meta_cpo.algorithm import MetaCPO

        super().__init__(algo_class=algo_class or MetaCPO)
        self.tasks_per_iteration = 5
        self.inner_steps = 3
        self.inner_rollout_steps = 3000
        self.policy_hiddens = (24, 12)
        self.cost_limit = 10.0
        self.gamma = 0.99
        self.gae_lambda = 0.95
        self.meta_delta = 0.01
        self.first_order = False
        self.local_trust_region = "euclidean"
        self.meta_trust_region = "euclidean"
        self.normalize_observations = False  # one fixed input scale for θ and every φᵏ

    def training(
        self,
        *,
        meta_delta: float | None = NotProvided,
        first_order: bool | None = NotProvided,
        local_trust_region: str | None = NotProvided,
        meta_trust_region: str | None = NotProvided,
        **kwargs: Any,
    ) -> MetaCPOConfig:
        """Meta-CPO's settings (the task distribution and inner-loop budget:
        ``MetaTrainingMixin``).

        Args:
            meta_delta: δ_θ, the trust region of the meta program (Eq. 12).
            first_order: take dφᴷ/dθ = I in Eq. 11 (no back-propagation through the steps).
            local_trust_region: "euclidean" (default) or "kl" (Fisher metric, exact in Eq. 11
                to the CG residual; ≈ 2·``cg_iterations`` Fisher-vector products per step).
            meta_trust_region: the metric of the meta program (Eq. 12): "euclidean" (default,
                ½‖θ' − θ‖² ≤ ``meta_delta``) or "kl" (½Δᵀ(H + ``cg_damping``·I)Δ ≤ ``meta_delta``
                with H the Fisher matrix of π_θ on the tasks' pre-adaptation states, as
                C-MAML's and MAML-TRPO's outer step).
            kwargs: the on-policy family's settings (``max_kl`` is the local ball δ).
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    def validate(self) -> None:
        super().validate()
        require(self.meta_delta > 0, f"meta_delta={self.meta_delta} must be > 0 (e.g. 0.01)")
        for name in ("local_trust_region", "meta_trust_region"):
            value = getattr(self, name)
            require(value in ("euclidean", "kl"), f"{name}={value!r} must be 'euclidean' or 'kl'")
        require(
            not self.normalize_observations,
            "normalize_observations=True: Meta-CPO replays its local steps on stored batches, "
            "so the policy's input scale must stay fixed; set it to false",
        )


class MetaTRPOConfig(MetaCPOConfig):
    """Meta-TRPO: the same exact meta-gradient through K local steps, with the unconstrained
    Euclidean trust-region program inside and at the meta level (the paper's baseline)."""

    constrained = False

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.meta_cpo.algorithm import MetaTRPO

        super().__init__(algo_class=algo_class or MetaTRPO)
