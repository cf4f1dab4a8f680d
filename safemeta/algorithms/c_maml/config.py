"""Configs of C-MAML and of its unconstrained baseline MAML-TRPO (``maml_trpo``).

Both meta-train an on-policy policy (``OnPolicyModule``) over a task distribution with one task
per env runner; they differ in the inner algorithm and in the outer constraint terms. Numbers
the paper does not give follow ``../shared/specs/meta_rl_algorithms.md`` (decided there):
B = 10 tasks per meta-iteration, K = 3 inner steps, 2,000 env steps per inner rollout, the outer
step a trust-region step of KL δ_meta on the averaged direction.
"""

from __future__ import annotations

from typing import Any, Literal

from ray.rllib.algorithms.algorithm_config import NotProvided

from safemeta.algorithms.common.config_state import require, set_provided
from safemeta.algorithms.meta.config import MetaTrainingMixin
from safemeta.algorithms.onpolicy.config import LagrangianMixin, TrustRegionConfig

InnerAlgorithm = Literal["trpo_lag", "cpo", "trpo"]
INNER_ALGORITHMS: tuple[str, ...] = ("trpo_lag", "cpo", "trpo")


class CMAMLConfig(MetaTrainingMixin, LagrangianMixin, TrustRegionConfig):
    """C-MAML (Alg. 1, Eq. 21, 22, 30, 31). The family's settings (``max_kl``, critics,
    ``lagrangian_*``, ``cost_limit``, …) configure the *inner* algorithm; the ``meta_*`` and
    ``safety_multiplier_*`` settings the outer loop."""

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.c_maml.algorithm import CMAML

        super().__init__(algo_class=algo_class or CMAML)
        self.inner = "trpo_lag"
        self.fresh_reward_critic = True
        # The inner λ_p: the plain projected step from the meta λ (Eq. 7, appendix C.3).
        self.lagrangian_optimizer = "sgd"
        self.lagrangian_lr = 0.05
        self.cost_limit = 5.0  # Fig. 3-4 (TRPO-Lag inner loop); 10 with CPO (Fig. 5)
        self.cost_gamma = 1.0  # V_C is the episodic cost-to-go (Eq. 12), comparable with d
        self.meta_max_kl = 0.01
        self.outer_constraint = True
        self.meta_lagrangian_init = 0.0
        self.meta_lagrangian_lr = 0.05
        self.use_safety_critic = True
        self.safety_multiplier_init = 0.0
        self.safety_multiplier_lr = 0.05
        self.normalize_observations = False  # one fixed input scale for θ and every φ_p

    def training(
        self,
        *,
        inner: InnerAlgorithm | None = NotProvided,
        fresh_reward_critic: bool | None = NotProvided,
        meta_max_kl: float | None = NotProvided,
        outer_constraint: bool | None = NotProvided,
        meta_lagrangian_init: float | None = NotProvided,
        meta_lagrangian_lr: float | None = NotProvided,
        use_safety_critic: bool | None = NotProvided,
        safety_multiplier_init: float | None = NotProvided,
        safety_multiplier_lr: float | None = NotProvided,
        **kwargs: Any,
    ) -> CMAMLConfig:
        """C-MAML's settings (the task distribution and inner-loop budget: ``MetaTrainingMixin``).

        Args:
            inner: the inner algorithm, ``"trpo_lag"`` (default), ``"cpo"`` or ``"trpo"``.
            fresh_reward_critic: re-initialise V_R for every task (Alg. 1 line 8).
            meta_max_kl: δ_meta of the outer trust-region step.
            outer_constraint: the λ-term of Eq. 21/22 (False: λ ≡ 0, MAML's outer loop).
            meta_lagrangian_init, meta_lagrangian_lr: λ₀ and β_λ of Eq. 22 (projected step).
            use_safety_critic: the η-term of Eq. 30/31 (False: η ≡ 0, the paper's "no safety
                critic" ablation of Fig. 3).
            safety_multiplier_init, safety_multiplier_lr: η₀ and β_η of Eq. 31.
            kwargs: the on-policy family's settings, for the inner algorithm.
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    def validate(self) -> None:
        super().validate()
        require(
            self.inner in INNER_ALGORITHMS,
            f"inner={self.inner!r}; use one of {', '.join(INNER_ALGORITHMS)}",
        )
        require(self.meta_max_kl > 0, f"meta_max_kl={self.meta_max_kl} must be > 0 (e.g. 0.01)")
        for name in ("meta_lagrangian", "safety_multiplier"):
            init, lr = getattr(self, f"{name}_init"), getattr(self, f"{name}_lr")
            require(
                init >= 0 and lr > 0,
                f"{name}_init={init} must be >= 0 and {name}_lr={lr} > 0 (e.g. 0 and 0.05)",
            )


class MAMLTRPOConfig(CMAMLConfig):
    """MAML with TRPO inner steps, unconstrained (C-MAML's "MAML-TRPO" baseline): the same
    first-order meta-gradient and outer trust-region step, no λ, no η."""

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.c_maml.algorithm import MAMLTRPO

        super().__init__(algo_class=algo_class or MAMLTRPO)
        self.inner = "trpo"
        self.outer_constraint = False
        self.use_safety_critic = False
