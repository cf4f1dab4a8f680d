"""Typed configs of the on-policy family. ``training()`` keyword arguments are the experiment-file
hyperparameters (plus RLlib's inherited ones: ``gamma``, ``lr``, ``train_batch_size_per_learner``,
``num_epochs``, ``minibatch_size``, …)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.connectors.common.batch_individual_items import BatchIndividualItems
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from safemeta.algorithms.common.config_state import FamilyConfig, require, set_provided
from safemeta.algorithms.onpolicy import module as m
from safemeta.algorithms.onpolicy.defaults import (
    COST_LIMIT,
    CriticSettings,
    LagrangeSettings,
    TrustRegionSettings,
)
from safemeta.algorithms.onpolicy.targets import AddOnPolicyTargets, Discounting

PolicyUpdate = Literal["trpo", "cpo", "ppo"]


class OnPolicyConfig(FamilyConfig):
    """Settings shared by the family: batch, GAE, critics, networks, normalisation, cost limit."""

    policy_update: ClassVar[PolicyUpdate] = "trpo"
    uses_lagrangian: ClassVar[bool] = False

    def __init__(self, algo_class: Any = None) -> None:
        super().__init__(algo_class=algo_class)
        self.train_batch_size_per_learner = 4000
        discounting, critic = Discounting(), CriticSettings()
        self.gamma = discounting.gamma
        self.lr = 3e-4  # policy Adam (PPO-Lag only)
        self.num_epochs = 1
        self.minibatch_size = None
        self.gae_lambda = discounting.lam
        self.cost_gamma = discounting.cost_gamma
        self.cost_gae_lambda = discounting.cost_lam
        self.cost_limit = COST_LIMIT
        self.cost_window_episodes: int | None = 20
        self.critic_lr = critic.lr
        self.critic_epochs = critic.epochs
        self.critic_minibatch_size = critic.minibatch_size
        self.normalize_advantages = True
        self.normalize_observations = True
        self.observation_clip = 10.0
        self.policy_hiddens = (64, 64)
        self.critic_hiddens = (64, 64)
        self.activation = "tanh"
        self.init_log_std = -0.5
        trust_region = TrustRegionSettings()  # unused by PPO-Lag
        self.max_kl = trust_region.max_kl
        self.cg_iterations = trust_region.cg_iterations
        self.cg_damping = trust_region.cg_damping
        self.line_search_steps = trust_region.line_search_steps
        self.line_search_decay = trust_region.line_search_decay
        self.cost_gradient_averaging = 0.0  # CPO only: β of CostGradientAverage (0 = off)
        # Lagrangian and PPO settings (read only by the variants that use them).
        lagrange = LagrangeSettings()
        self.lagrangian_init = lagrange.init
        self.lagrangian_lr = lagrange.lr
        self.lagrangian_optimizer = lagrange.rule
        self.clip_param = 0.2
        self.target_kl: float | None = None

    def training(
        self,
        *,
        gae_lambda: float | None = NotProvided,
        cost_gamma: float | None = NotProvided,
        cost_gae_lambda: float | None = NotProvided,
        cost_limit: float | None = NotProvided,
        cost_window_episodes: int | None = NotProvided,
        critic_lr: float | None = NotProvided,
        critic_epochs: int | None = NotProvided,
        critic_minibatch_size: int | None = NotProvided,
        normalize_advantages: bool | None = NotProvided,
        normalize_observations: bool | None = NotProvided,
        observation_clip: float | None = NotProvided,
        policy_hiddens: list[int] | tuple[int, ...] | None = NotProvided,
        critic_hiddens: list[int] | tuple[int, ...] | None = NotProvided,
        activation: Literal["tanh", "relu"] | None = NotProvided,
        init_log_std: float | None = NotProvided,
        **kwargs: Any,
    ) -> OnPolicyConfig:
        """GAE λ (reward) / cost γ, λ; cost limit d (episodic, undiscounted); J_C (for b and
        λ) as the mean of the last ``cost_window_episodes`` finished episodes (None: only those
        of the current batch, as OmniSafe's epoch mean); critic Adam lr,
        epochs and minibatch size; advantage standardisation; running observation normalisation
        (clipped at ±observation_clip); MLP sizes, activation and initial log σ."""
        super().training(**kwargs)
        set_provided(self, locals())
        self.policy_hiddens = tuple(self.policy_hiddens)
        self.critic_hiddens = tuple(self.critic_hiddens)
        return self

    def validate(self) -> None:
        super().validate()
        require(
            0.0 <= self.gae_lambda <= 1.0 and 0.0 <= self.cost_gae_lambda <= 1.0,
            f"gae_lambda={self.gae_lambda}, cost_gae_lambda={self.cost_gae_lambda}: both must "
            "be in [0, 1] (0.95 is typical)",
        )
        require(
            0.0 < self.cost_gamma <= 1.0,
            f"cost_gamma={self.cost_gamma} must be in (0, 1]; use 0.99",
        )
        require(
            self.cost_limit >= 0.0,
            f"cost_limit={self.cost_limit} must be >= 0 (an episodic cost budget, e.g. 25)",
        )
        require(
            self.cost_window_episodes is None or int(self.cost_window_episodes) >= 1,
            f"cost_window_episodes={self.cost_window_episodes} must be >= 1 episode, or null "
            "for this batch's episodes only (default 20)",
        )
        require(
            self.critic_lr > 0 and self.critic_epochs >= 1,
            f"critic_lr={self.critic_lr} must be > 0 and critic_epochs={self.critic_epochs} >= 1",
        )
        require(
            self.activation in m.ACTIVATIONS,
            f"activation={self.activation!r}; use one of {sorted(m.ACTIVATIONS)}",
        )
        require(
            all(int(h) > 0 for h in (*self.policy_hiddens, *self.critic_hiddens)),
            f"policy_hiddens={self.policy_hiddens}, critic_hiddens={self.critic_hiddens}: "
            "layer sizes must be positive integers, e.g. [64, 64]",
        )
        require(
            self.train_batch_size_per_learner >= 2,
            f"train_batch_size_per_learner={self.train_batch_size_per_learner}: use at least "
            "one episode's worth of steps (e.g. 4000)",
        )

    @property
    def _model_config_auto_includes(self) -> dict[str, Any]:
        return super()._model_config_auto_includes | {
            m.POLICY_HIDDENS: tuple(self.policy_hiddens),
            m.CRITIC_HIDDENS: tuple(self.critic_hiddens),
            m.ACTIVATION: self.activation,
            m.INIT_LOG_STD: self.init_log_std,
            m.NORMALIZE_OBSERVATIONS: self.normalize_observations,
            m.OBSERVATION_CLIP: self.observation_clip,
        }

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        return RLModuleSpec(module_class=m.OnPolicyModule)

    def get_default_learner_class(self) -> type:
        from safemeta.algorithms.onpolicy.learner import OnPolicyLearner

        return OnPolicyLearner

    @property
    def discounting(self) -> Discounting:
        return Discounting(self.gamma, self.gae_lambda, self.cost_gamma, self.cost_gae_lambda)

    def build_learner_connector(self, input_observation_space, input_action_space, device=None):
        pipeline = super().build_learner_connector(
            input_observation_space, input_action_space, device
        )
        pipeline.insert_before(
            BatchIndividualItems, AddOnPolicyTargets(discounting=self.discounting)
        )
        return pipeline


class TrustRegionConfig(OnPolicyConfig):
    """TRPO-style natural-gradient steps: δ, conjugate gradient, backtracking line search."""

    def training(
        self,
        *,
        max_kl: float | None = NotProvided,
        cg_iterations: int | None = NotProvided,
        cg_damping: float | None = NotProvided,
        line_search_steps: int | None = NotProvided,
        line_search_decay: float | None = NotProvided,
        cost_gradient_averaging: float | None = NotProvided,
        **kwargs: Any,
    ) -> TrustRegionConfig:
        """δ = max mean KL per update; CG iterations and damping β (solves (H + βI)x = g);
        line search: at most ``line_search_steps`` tries, step × ``line_search_decay`` each;
        CPO: β of the cost-gradient average over updates (default 0: this batch only; 0.7 ≈ the
        last 3 batches, half as many episodes as the J_C window)."""
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    def validate(self) -> None:
        super().validate()
        require(self.max_kl > 0, f"max_kl={self.max_kl} must be > 0 (0.01 is typical)")
        require(
            self.cg_iterations >= 1 and self.cg_damping >= 0,
            f"cg_iterations={self.cg_iterations} must be >= 1 and cg_damping="
            f"{self.cg_damping} >= 0 (e.g. 15 and 0.1)",
        )
        require(
            0.0 <= self.cost_gradient_averaging < 1.0,
            f"cost_gradient_averaging={self.cost_gradient_averaging} must be in [0, 1) "
            "(0 = off, the default)",
        )
        require(
            self.line_search_steps >= 1 and 0 < self.line_search_decay < 1,
            f"line_search_steps={self.line_search_steps} must be >= 1 and line_search_decay="
            f"{self.line_search_decay} in (0, 1) (e.g. 15 and 0.8)",
        )


class LagrangianMixin:
    """λ ≥ 0 on the constraint J_C ≤ d, ascended on J_C − d by its own optimizer."""

    uses_lagrangian: ClassVar[bool] = True

    def training(
        self,
        *,
        lagrangian_init: float | None = NotProvided,
        lagrangian_lr: float | None = NotProvided,
        lagrangian_optimizer: Literal["adam", "rmsprop", "sgd"] | None = NotProvided,
        **kwargs: Any,
    ) -> Any:
        """Initial λ, its learning rate and update rule: "adam" or "rmsprop" (an optimizer
        on the slack, then λ ≥ 0), or "sgd" (the plain projected step of C-MAML Eq. 22)."""
        super().training(**kwargs)  # type: ignore[misc]
        set_provided(self, locals())
        return self

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        require(self.lagrangian_init >= 0, f"lagrangian_init={self.lagrangian_init} must be >= 0")
        require(
            self.lagrangian_lr > 0,
            f"lagrangian_lr={self.lagrangian_lr} must be > 0 (e.g. 0.035 with adam)",
        )
        require(
            self.lagrangian_optimizer in ("adam", "rmsprop", "sgd"),
            f"lagrangian_optimizer={self.lagrangian_optimizer!r}; use 'adam', 'rmsprop' or 'sgd'",
        )


class TRPOConfig(TrustRegionConfig):
    """TRPO (Schulman et al. 2015): unconstrained; learns the cost critic only to report it."""

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.onpolicy.algorithm import TRPO

        super().__init__(algo_class=algo_class or TRPO)


class TRPOLagConfig(LagrangianMixin, TrustRegionConfig):
    """TRPO-Lag: TRPO on A_R − λA_C, λ ascended on J_C − d (C-MAML appendix C.3)."""

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.onpolicy.algorithm import TRPOLag

        super().__init__(algo_class=algo_class or TRPOLag)


class CPOConfig(TrustRegionConfig):
    """CPO (Achiam et al. 2017): trust-region step with one linear cost constraint."""

    policy_update: ClassVar[PolicyUpdate] = "cpo"

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.onpolicy.algorithm import CPO

        super().__init__(algo_class=algo_class or CPO)


class PPOLagConfig(LagrangianMixin, OnPolicyConfig):
    """PPO-Lag: clipped first-order epochs on (A_R − λA_C)/(1 + λ)."""

    policy_update: ClassVar[PolicyUpdate] = "ppo"

    def __init__(self, algo_class: Any = None) -> None:
        from safemeta.algorithms.onpolicy.algorithm import PPOLag

        super().__init__(algo_class=algo_class or PPOLag)
        self.num_epochs = 10
        self.minibatch_size = 64
        self.lr = 3e-4

    def training(
        self,
        *,
        clip_param: float | None = NotProvided,
        target_kl: float | None = NotProvided,
        **kwargs: Any,
    ) -> PPOLagConfig:
        """PPO clip ε; ``target_kl`` stops the epochs once KL > 1.5·target_kl (None: never).
        Policy Adam: ``lr``, ``num_epochs``, ``minibatch_size`` (RLlib's)."""
        super().training(**kwargs)
        if clip_param is not NotProvided:
            self.clip_param = clip_param
        if target_kl is not NotProvided:
            self.target_kl = target_kl
        return self

    def validate(self) -> None:
        super().validate()
        require(0 < self.clip_param < 1, f"clip_param={self.clip_param} must be in (0, 1); 0.2")
        require(
            self.target_kl is None or self.target_kl > 0,
            f"target_kl={self.target_kl} must be > 0 or None",
        )
        require(self.lr is not None and self.lr > 0, f"lr={self.lr} must be > 0 (policy Adam)")
