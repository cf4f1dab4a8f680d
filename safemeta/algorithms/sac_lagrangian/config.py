"""Typed configs of the family: one base (``SafeSACConfig``) and one thin subclass per method.

Every keyword of ``training()`` is a hyperparameter name usable in experiment files. The methods
differ only by the defaults of three switches (``policy_objective``, ``epsilon_update``,
``alpha_update``) and of the actor's optimizer; see ``update.py``.
"""

from __future__ import annotations

import math
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from safemeta.algorithms.common.config_state import FamilyConfig, set_provided
from safemeta.algorithms.sac_lagrangian.module import SafeSACModule
from safemeta.algorithms.sac_lagrangian.table1 import GAMMA_COST, GAMMA_REWARD
from safemeta.algorithms.sac_lagrangian.update import EPSILON_HIGH, UpdateSettings

_CHOICES = {
    "policy_objective": ("lagrangian", "rcpo"),
    "epsilon_update": ("fixed", "meta", "meta_nl"),
    "alpha_update": ("target_entropy", "meta_lagrangian", "meta_q_hat"),
    "actor_optimizer": ("rmsprop", "adam"),
    "constraint_source": ("episodes", "critic"),
}


class SafeSACConfig(FamilyConfig):
    """SAC-Lagrangian family config. Defaults follow Section V-A (γ_r 0.99, γ_c 0.6, ε = α = 1)."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import SafeSAC

        super().__init__(algo_class=algo_class or SafeSAC)
        self.gamma = GAMMA_REWARD
        self.lr = None  # unused: each network has its own learning rate below
        self.train_batch_size_per_learner = 256
        self.rollout_fragment_length = 16
        self.min_sample_timesteps_per_iteration = 1000
        # method switches
        self.policy_objective = "lagrangian"
        self.epsilon_update = "fixed"
        self.alpha_update = "target_entropy"
        self.actor_optimizer = "adam"
        # scalars (Table I gives ε and ν per environment; see presets.py)
        self.gamma_c = GAMMA_COST
        self.constraint_source = "episodes"
        self.cost_window_episodes = 20
        self.epsilon = 1.0
        self.nu = 1.0
        self.alpha = 1.0
        self.target_entropy: float | None = None
        # learning rates and targets
        self.actor_lr = 3e-4
        self.critic_lr = 3e-4
        self.nu_lr = 5e-3  # log-space step per unit slack (LagrangeMultiplier)
        self.epsilon_lr = 3e-4
        self.alpha_lr = 3e-4
        self.tau = 0.005
        # networks
        self.actor_hiddens = [256, 256]
        self.critic_hiddens = [256, 256]
        # replay and schedule
        self.replay_capacity = 1_000_000
        self.safety_replay_capacity = 1_000_000
        self.initial_state_capacity = 100_000
        self.initial_state_prefill = 100
        self.safety_batch_fraction: float | None = None
        self.updates_per_env_step = 1.0
        self.num_steps_sampled_before_learning_starts = 1000

    def training(
        self,
        *,
        policy_objective: str | None = NotProvided,
        epsilon_update: str | None = NotProvided,
        alpha_update: str | None = NotProvided,
        actor_optimizer: str | None = NotProvided,
        gamma_c: float | None = NotProvided,
        constraint_source: str | None = NotProvided,
        cost_window_episodes: int | None = NotProvided,
        epsilon: float | None = NotProvided,
        nu: float | None = NotProvided,
        alpha: float | None = NotProvided,
        target_entropy: float | None = NotProvided,
        actor_lr: float | None = NotProvided,
        critic_lr: float | None = NotProvided,
        nu_lr: float | None = NotProvided,
        epsilon_lr: float | None = NotProvided,
        alpha_lr: float | None = NotProvided,
        tau: float | None = NotProvided,
        actor_hiddens: list[int] | None = NotProvided,
        critic_hiddens: list[int] | None = NotProvided,
        replay_capacity: int | None = NotProvided,
        safety_replay_capacity: int | None = NotProvided,
        initial_state_capacity: int | None = NotProvided,
        initial_state_prefill: int | None = NotProvided,
        safety_batch_fraction: float | None = NotProvided,
        updates_per_env_step: float | None = NotProvided,
        num_steps_sampled_before_learning_starts: int | None = NotProvided,
        rollout_fragment_length: int | None = NotProvided,
        **kwargs: Any,
    ) -> SafeSACConfig:
        """Set hyperparameters (all optional).

        Args:
            policy_objective: ``"lagrangian"`` (Eq. 11) or ``"rcpo"`` (Q̂ = Q_r − νQ_c).
            epsilon_update: ``"fixed"``, ``"meta"`` (Eq. 14) or ``"meta_nl"`` (Eq. 16).
            alpha_update: ``"target_entropy"`` (SACv2), ``"meta_lagrangian"`` (Eq. 15) or
                ``"meta_q_hat"`` (Meta-SAC on Q̂).
            actor_optimizer: ``"rmsprop"`` (required by the meta variants) or ``"adam"``.
            gamma_c: discount of the safety critic γ_c (Eq. 2).
            constraint_source: the J_c that ν's step compares with ε. ``"episodes"``
                (default): the share of the last ``cost_window_episodes`` finished episodes with
                a violation — the episodic violation rate of Table II and of Fig. 3's dashed ε
                lines, of the current policy, in [0, 1] like Q_c (with ``terminate_on_violation``
                it equals the mean episode cost). ``"critic"``: Eq. 10 as
                written, the mean Q_c over states (see "J_c of ν's step" below), a per-state,
                γ_c-discounted probability ≈ (violations per step)/(1 − γ_c): on Car-Circle2
                0.004–0.04, far below Table I's ε = 0.5, so ν only falls to its floor. Scaling it
                by (1 − γ_c)·T̄ into violations per episode was tried: over the whole replay
                it read 0.66–1.0 against a true recent rate of 0.09–0.2 (old states, twin-max
                bias), and ν grew without bound.
            cost_window_episodes: episodes in the ``"episodes"`` estimate.
            epsilon: the constraint threshold ε (fixed, or the initial value when meta-learned),
                in [0, 1.5] (``update.EPSILON_HIGH``, the project's bound: J_c ∈ [0, 1]).
            nu: the initial Lagrange multiplier ν (> 0).
            alpha: the initial entropy temperature α.
            target_entropy: SACv2's target entropy; None = −dim(A).
            actor_lr, critic_lr, nu_lr, epsilon_lr, alpha_lr: β_φ, critic, β_ν, β_ε, β_α.
                Decided where the paper is silent: ν steps in log space by β_ν·(J_c − ε), a
                change proportional to the slack (``LagrangeMultiplier``; the default 5e-3 takes
                ν from Table I's 100 to 1 in ≈ 1,800 updates at a slack of −0.5, within 10 % of
                the shipped Car-Circle2 budget); ε takes RMSProp steps in [0, 1.5]; α is
                learned as log α with Adam, clamped to α ≤ 1 for the meta updates (Eq. 15's
                0 < α ≤ 1). Meta-learned ε and α use eps = 1e-20 in their optimizers
                (``update.META_OPTIMIZER_EPS``: their meta-gradients are far below 1e-8).
                **J_c of ν's step.** The paper contradicts itself: Alg. 1 (lines 8-11) stores a
                violating transition in D_s *only*, Sec. IV-D says "D stores all the
                transitions". Under Alg. 1's routing, B ⊂ D misses exactly the states where the
                policy violates, so the batch-mean Q_c over B underestimates J_c (0.34 against a
                true 0.89 measured on one replay). We keep Alg. 1's routing (B for critics and
                actor, D ∪ D_s for the safety critic, as written) and measure ν's J_c on states
                drawn uniformly from D ∪ D_s — every transition exactly once — with actions of
                the current policy.
            tau: Polyak coefficient of the target critics.
            actor_hiddens, critic_hiddens: hidden layer sizes of the MLPs.
            replay_capacity, safety_replay_capacity, initial_state_capacity: sizes of D, D_s, D_0.
            initial_state_prefill: env resets that fill D_0 before training (line 2).
            safety_batch_fraction: share of the safety-critic batch drawn from D_s; None = uniform
                over D ∪ D_s (line 12).
            updates_per_env_step: gradient updates per sampled env step (1 = Algorithm 1).
            num_steps_sampled_before_learning_starts: uniform-random warm-up steps.
            rollout_fragment_length: env steps sampled between two rounds of updates (1 = update
                after every step exactly as Algorithm 1; larger amortises RLlib's per-call cost).
            kwargs: ``AlgorithmConfig.training`` arguments (``gamma`` = γ_r,
                ``train_batch_size_per_learner`` = |B|, ...).
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    def update_settings(self) -> UpdateSettings:
        """The subset of this config that ``SafeSACUpdate`` reads."""
        return UpdateSettings(
            policy_objective=self.policy_objective,
            epsilon_update=self.epsilon_update,
            alpha_update=self.alpha_update,
            gamma=self.gamma,
            gamma_c=self.gamma_c,
            tau=self.tau,
            actor_lr=self.actor_lr,
            critic_lr=self.critic_lr,
            nu_lr=self.nu_lr,
            epsilon_lr=self.epsilon_lr,
            alpha_lr=self.alpha_lr,
            actor_optimizer=self.actor_optimizer,
            initial_nu=self.nu,
            initial_epsilon=self.epsilon,
            initial_alpha=self.alpha,
            target_entropy=self.target_entropy,
        )

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        return RLModuleSpec(
            module_class=SafeSACModule,
            model_config={
                "actor_hiddens": list(self.actor_hiddens),
                "critic_hiddens": list(self.critic_hiddens),
            },
        )

    def get_default_learner_class(self) -> type:
        from safemeta.algorithms.sac_lagrangian.learner import SafeSACLearner

        return SafeSACLearner

    def validate(self) -> None:
        super().validate()
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                self._value_error(f"{name}={value!r} is not one of {choices}; pick one of them")
        if self.policy_objective == "rcpo" and self.epsilon_update != "fixed":
            self._value_error(
                f"epsilon_update={self.epsilon_update!r} with policy_objective='rcpo': ε does not "
                "enter RCPO's policy objective; use epsilon_update='fixed'"
            )
        meta = self.epsilon_update != "fixed" or self.alpha_update != "target_entropy"
        if meta and self.actor_optimizer != "rmsprop":
            self._value_error(
                f"actor_optimizer={self.actor_optimizer!r} with a meta-gradient update "
                "(epsilon_update/alpha_update): the inner step is differentiated through "
                "RMSProp; set actor_optimizer='rmsprop'"
            )
        for name in ("gamma", "gamma_c"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                self._value_error(f"{name}={value} must be in [0, 1); e.g. {name}=0.99")
        if not 0.0 < self.tau <= 1.0:
            self._value_error(f"tau={self.tau} must be in (0, 1]; the usual value is 0.005")
        for name in ("actor_lr", "critic_lr", "nu_lr", "epsilon_lr", "alpha_lr"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                self._value_error(f"{name}={value!r} must be a positive number, e.g. 3e-4")
        if not 0.0 <= self.epsilon <= EPSILON_HIGH:
            self._value_error(
                f"epsilon={self.epsilon} must be in [0, {EPSILON_HIGH:g}] (J_c, a violation "
                "probability, lies in [0, 1]); Table I uses 0.4-0.6"
            )
        if not self.nu > 0:
            self._value_error(
                f"nu={self.nu} must be > 0 (a Lagrange multiplier stepped in log space); "
                "e.g. nu=1, or Table I's value (preset: table1)"
            )
        alpha_high = 1.0 if self.alpha_update != "target_entropy" else float("inf")
        if not 0.0 < self.alpha <= alpha_high:
            self._value_error(
                f"alpha={self.alpha} must be in (0, {alpha_high}] for alpha_update="
                f"{self.alpha_update!r}; the paper starts at 1"
            )
        if self.safety_batch_fraction is not None and not 0 <= self.safety_batch_fraction <= 1:
            self._value_error(
                f"safety_batch_fraction={self.safety_batch_fraction} must be in [0, 1] or None"
            )
        if self.cost_window_episodes < 1:
            self._value_error(
                f"cost_window_episodes={self.cost_window_episodes} must be >= 1 episode"
            )
        if self.updates_per_env_step <= 0:
            self._value_error(f"updates_per_env_step={self.updates_per_env_step} must be > 0")
        if self.train_batch_size_per_learner > self.replay_capacity:
            self._value_error(
                f"train_batch_size_per_learner={self.train_batch_size_per_learner} exceeds "
                f"replay_capacity={self.replay_capacity}; raise the capacity"
            )
        if self.num_learners != 0:
            self._value_error(
                f"num_learners={self.num_learners}: the family keeps its replay buffers inside one "
                "local Learner; use num_learners=0"
            )
        if min(self.replay_capacity, self.safety_replay_capacity, self.initial_state_capacity) < 1:
            self._value_error("replay capacities must be >= 1")


class MetaSACLagConfig(SafeSACConfig):
    """Meta SAC-Lag (Algorithm 1): Eq. 11 policy, ε by Eq. 14, α by Eq. 15; ε = α = 1 initially."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import MetaSACLag

        super().__init__(algo_class=algo_class or MetaSACLag)
        self.epsilon_update, self.alpha_update = "meta", "meta_lagrangian"
        self.actor_optimizer = "rmsprop"


class MetaSACLagNLConfig(MetaSACLagConfig):
    """Meta SAC-Lag with the nonlinear threshold objective J_nl (Eq. 16)."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import MetaSACLagNL

        super().__init__(algo_class=algo_class or MetaSACLagNL)
        self.epsilon_update = "meta_nl"


class SACv2LagConfig(SafeSACConfig):
    """SACv2-Lag: Eq. 11 with a fixed ε; α by SACv2's target entropy −dim(A)."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import SACv2Lag

        super().__init__(algo_class=algo_class or SACv2Lag)


class RCPOSACv2Config(SafeSACConfig):
    """RCPO-SACv2: policy on Q̂ = Q_r − νQ_c, ν by Eq. 11, α by target entropy."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import RCPOSACv2

        super().__init__(algo_class=algo_class or RCPOSACv2)
        self.policy_objective = "rcpo"


class RCPOMetaSACConfig(SafeSACConfig):
    """RCPO-MetaSAC: Q̂ policy, α by Meta-SAC's meta-gradient of Q̂ on D_0 (deterministic actions)."""

    def __init__(self, algo_class: type | None = None) -> None:
        from safemeta.algorithms.sac_lagrangian.algorithm import RCPOMetaSAC

        super().__init__(algo_class=algo_class or RCPOMetaSAC)
        self.policy_objective, self.alpha_update = "rcpo", "meta_q_hat"
        self.actor_optimizer = "rmsprop"
