"""One gradient update of the family (Algorithm 1, lines 12-20), as plain torch.

``SafeSACUpdate`` owns the optimizers and the learned scalars (ν, ε, log α) of one
``SafeSACModule`` and runs the update on batches it is given. The RLlib Learner and the bare-torch
benchmark both call it, so both measure the same code. The methods differ only in three switches:

* ``policy_objective``: ``"lagrangian"`` (Eq. 11) or ``"rcpo"`` (min over twins of Q̂ = Q_r − νQ_c);
* ``epsilon_update``: ``"fixed"``, ``"meta"`` (Eq. 14) or ``"meta_nl"`` (Eq. 16);
* ``alpha_update``: ``"target_entropy"`` (SACv2), ``"meta_lagrangian"`` (Eq. 15) or
  ``"meta_q_hat"`` (Meta-SAC on Q̂).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import torch

from safemeta.algorithms.common.functional_optim import commit_rmsprop, rmsprop_state
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.common.polyak import polyak_update
from safemeta.algorithms.common.scalars import OptimizerName, ProjectedScalar, make_optimizer
from safemeta.algorithms.sac_lagrangian import losses
from safemeta.algorithms.sac_lagrangian.meta_step import (
    ActorGradient,
    critics_at_updated_policy,
    inner_actor_step,
    lagrangian_actor_gradient,
    meta_gradient,
    penalised_actor_gradient,
    sample_policy,
)
from safemeta.algorithms.sac_lagrangian.module import (
    SafeSACModule,
    critic_values,
    squashed_gaussian,
)

PolicyObjective = Literal["lagrangian", "rcpo"]
EpsilonUpdate = Literal["fixed", "meta", "meta_nl"]
AlphaUpdate = Literal["target_entropy", "meta_lagrangian", "meta_q_hat"]

# Order of the per-update statistics returned by ``SafeSACUpdate.step``.
STAT_NAMES = (
    "critic_loss",
    "safety_critic_loss",
    "mean_q_r",
    "mean_q_c",
    "constraint_value",
    "policy_entropy",
    "nu",
    "epsilon",
    "alpha",
)


EPSILON_HIGH = 1.5
"""ε's upper bound, the project's choice (the paper gives none). Both J_c's ν can compare with
lie in [0, 1]: Q_c of Eq. 2 is E[γ_c^τ] (τ: steps to the first violation, whose cost-to-go ends
at 1), and the episodic violation rate is a share of episodes. So any ε ≥ 1 switches the
constraint off; 1.5 keeps Section V-A's ε₀ = 1 inside the bound and lets ε return into [0, 1]
within 0.5/β_ε updates (≈ 1,700 at β_ε = 3e-4) of reaching it."""

META_OPTIMIZER_EPS = 1e-20
"""The optimizers' denominator term for the meta-learned ε (RMSProp) and log α (Adam). ε's
meta-gradient is a product through the inner steps,
≈ β_φ·β_ν·ν'·(ν'‖V_c‖² − V_rᵀV_c) (``meta_step``): at β_φ = 3e-4, β_ν = 5e-3 and ν' ≤ 1e-2 it is
below 1e-8, where torch's default eps = 1e-8 turns RMSProp into plain SGD with rate β_ε/1e-8 and ε
stops (measured: ε frozen at 1.1376 over the last 10k of 30k Car-Circle2 steps while ν fell from
1e-2 to 1e-4); α's, through the same inner step, carries the factor β_φ too (α froze at 0.91
after 3k steps). With 1e-20 each step is ≈ its rate times the sign-consistency of its own
gradient, at any scale."""


class Batch(NamedTuple):
    """Transitions as tensors: ``obs [B, O]``, ``actions [B, A]``, the rest ``[B]``."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    costs: torch.Tensor
    next_obs: torch.Tensor
    dones: torch.Tensor


@dataclass(frozen=True)
class UpdateSettings:
    """The hyperparameters the update reads (a subset of the algorithm config)."""

    policy_objective: PolicyObjective = "lagrangian"
    epsilon_update: EpsilonUpdate = "fixed"
    alpha_update: AlphaUpdate = "target_entropy"
    gamma: float = 0.99
    gamma_c: float = 0.6
    tau: float = 0.005
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    nu_lr: float = 5e-3
    epsilon_lr: float = 3e-4
    alpha_lr: float = 3e-4
    actor_optimizer: OptimizerName = "rmsprop"
    initial_nu: float = 1.0
    initial_epsilon: float = 0.5
    initial_alpha: float = 1.0
    target_entropy: float | None = None  # None: -dim(A)

    @property
    def is_meta(self) -> bool:
        """Whether the actor step must stay differentiable (a meta-gradient flows through it)."""
        return self.epsilon_update != "fixed" or self.alpha_update != "target_entropy"


class SafeSACUpdate:
    """Optimizers, ν/ε/α and the update rule for one ``SafeSACModule`` (see the module doc)."""

    def __init__(
        self,
        module: SafeSACModule,
        settings: UpdateSettings,
        *,
        optimizers: dict[str, torch.optim.Optimizer] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if settings.is_meta and settings.actor_optimizer != "rmsprop":
            raise ValueError(
                "meta-gradient variants differentiate through RMSProp: actor_optimizer"
            )
        self.module = module
        self.settings = settings
        self.optimizers = optimizers or self.build_optimizers(module, settings)
        self.generator = generator or torch.Generator().manual_seed(0)
        dtype = next(module.pi.parameters()).dtype
        self.action_dim = module.pi[-1].out_features // 2
        self.nu = LagrangeMultiplier(
            settings.initial_nu, lr=settings.nu_lr, rule="log", dtype=dtype
        )
        self.epsilon = ProjectedScalar(
            settings.initial_epsilon,
            lr=settings.epsilon_lr,
            low=0.0,
            high=EPSILON_HIGH,
            eps=META_OPTIMIZER_EPS,
            dtype=dtype,
        )
        meta_alpha = settings.alpha_update != "target_entropy"
        self.log_alpha = ProjectedScalar(
            math.log(settings.initial_alpha),
            lr=settings.alpha_lr,
            optimizer="adam",
            high=0.0 if meta_alpha else float("inf"),
            eps=META_OPTIMIZER_EPS if meta_alpha else 1e-8,
            dtype=dtype,
        )
        self.target_entropy = (
            -float(self.action_dim) if settings.target_entropy is None else settings.target_entropy
        )
        self.actor_params = list(module.pi.parameters())
        self.actor_names = [name for name, _ in module.pi.named_parameters()]
        self.updates_done = 0

    @staticmethod
    def build_optimizers(
        module: SafeSACModule, settings: UpdateSettings
    ) -> dict[str, torch.optim.Optimizer]:
        """Adam for both twin critics; RMSProp (required by the meta step) or Adam for the actor."""
        return {
            "actor": make_optimizer(
                settings.actor_optimizer, module.pi.parameters(), settings.actor_lr
            ),
            "critic": torch.optim.Adam(module.qr.parameters(), lr=settings.critic_lr),
            "safety_critic": torch.optim.Adam(module.qc.parameters(), lr=settings.critic_lr),
        }

    def _noise(self, n: int, dtype: torch.dtype) -> torch.Tensor:
        return torch.randn(n, self.action_dim, generator=self.generator, dtype=dtype)

    def _critic_steps(self, batch: Batch, safety_batch: Batch, alpha: torch.Tensor) -> tuple:
        """Lines 12, 14: safety critics on D ∪ D_s (Eq. 2, 4), reward critics on B (Eq. 4, 5)."""
        m, s = self.module, self.settings
        n = batch.obs.shape[0]
        with torch.no_grad():
            next_obs = torch.cat([batch.next_obs, safety_batch.next_obs])
            next_action, next_logp = squashed_gaussian(
                m.pi(next_obs), self._noise(next_obs.shape[0], next_obs.dtype)
            )
            target_r = losses.reward_critic_target(
                batch.rewards,
                batch.dones,
                critic_values(m.qr_target, batch.next_obs, next_action[:n]),
                next_logp[:n],
                alpha,
                s.gamma,
            )
            target_c = losses.safety_critic_target(
                safety_batch.costs,
                safety_batch.dones,
                critic_values(m.qc_target, safety_batch.next_obs, next_action[n:]),
                s.gamma_c,
            )
        safety_loss = losses.critic_loss(
            critic_values(m.qc, safety_batch.obs, safety_batch.actions), target_c
        )
        reward_loss = losses.critic_loss(critic_values(m.qr, batch.obs, batch.actions), target_r)
        for name, loss in (("safety_critic", safety_loss), ("critic", reward_loss)):
            optimizer = self.optimizers[name]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return reward_loss.detach(), safety_loss.detach()

    def _actor_gradient(self, sample: Any, nu_new: torch.Tensor) -> ActorGradient:
        if self.settings.policy_objective == "rcpo":
            critic_term = losses.q_hat(sample.q_r, sample.q_c, nu_new.detach())
            return penalised_actor_gradient(sample, self.actor_params, critic_term)
        if self.settings.epsilon_update != "fixed":  # ν' must stay symbolic for dε
            return lagrangian_actor_gradient(sample, self.actor_params)
        critic_term = sample.q_r_min - nu_new.detach() * sample.q_c_max
        return penalised_actor_gradient(sample, self.actor_params, critic_term)

    def constraint_estimate(self, obs: torch.Tensor) -> torch.Tensor:
        """J_c = E_s[max_i Q_{c_i}(s, a)], a ~ π_φ(s), over ``obs`` (no graph)."""
        m = self.module
        with torch.no_grad():
            action, _ = squashed_gaussian(m.pi(obs), self._noise(obs.shape[0], obs.dtype))
            return critic_values(m.qc, obs, action).max(dim=0).values.mean()

    def step(
        self,
        batch: Batch,
        safety_batch: Batch,
        meta_obs: torch.Tensor,
        initial_obs: torch.Tensor,
        constraint_obs: torch.Tensor,
        violation_rate: float | None = None,
    ) -> torch.Tensor:
        """One update (lines 12-20). Returns the statistics in ``STAT_NAMES`` order.

        ν's step compares ε with ``violation_rate`` (the share of recent episodes with a
        violation) when given, else with the mean Q_c over ``constraint_obs``, states drawn
        uniformly from every transition (D ∪ D_s; see ``SafeSACConfig.training``: B ⊂ D
        under-represents violations).
        """
        m, s = self.module, self.settings
        alpha = self.log_alpha.value.exp()
        reward_loss, safety_loss = self._critic_steps(batch, safety_batch, alpha)

        # Line 15: ν' (differentiable in ε when ε is meta-learned).
        meta_epsilon = s.epsilon_update != "fixed"
        epsilon = self.epsilon.param if meta_epsilon else self.epsilon.value
        mean_q_c = self.constraint_estimate(constraint_obs)
        j_c = (
            mean_q_c
            if violation_rate is None
            else torch.tensor(violation_rate, dtype=mean_q_c.dtype)
        )
        nu_new = self.nu.proposal(j_c, epsilon)
        sample = sample_policy(
            m.pi, m.qr, m.qc, batch.obs, self._noise(batch.obs.shape[0], batch.obs.dtype)
        )

        # Line 16: the actor step, with α symbolic when α is meta-learned.
        meta_alpha = s.alpha_update != "target_entropy"
        alpha_sym = self.log_alpha.param.exp() if meta_alpha else alpha
        ascent = self._actor_gradient(sample, nu_new)(nu_new, alpha_sym)
        stats_q_r = sample.q_r_min.mean().detach()
        entropy = -sample.logp.mean().detach()

        if s.is_meta:
            square_avgs = [rmsprop_state(self.optimizers["actor"], p) for p in self.actor_params]
            new_params, new_avgs = inner_actor_step(
                self.actor_params, ascent, square_avgs, lr=s.actor_lr
            )
            if meta_epsilon:  # lines 17-18 on a resampled batch B'
                q_r_twins, q_c_twins = critics_at_updated_policy(
                    m.pi,
                    self.actor_names,
                    new_params,
                    m.qr,
                    m.qc,
                    meta_obs,
                    self._noise(meta_obs.shape[0], meta_obs.dtype),
                )
                q_r, q_c = q_r_twins.min(dim=0).values, q_c_twins.max(dim=0).values
                objective = (
                    losses.epsilon_objective(q_r, q_c, nu_new)
                    if s.epsilon_update == "meta"
                    else losses.epsilon_objective_nl(q_r, q_c)
                )
                self.epsilon.ascend(meta_gradient(objective, self.epsilon.param))
            if meta_alpha:  # line 19 on D_0 with deterministic actions
                q_r0, q_c0 = critics_at_updated_policy(
                    m.pi, self.actor_names, new_params, m.qr, m.qc, initial_obs, None
                )
                nu_const = nu_new.detach()
                objective = (
                    losses.alpha_objective(
                        q_r0.min(dim=0).values,
                        q_c0.max(dim=0).values,
                        nu_const,
                        self.epsilon.value,
                    )
                    if s.alpha_update == "meta_lagrangian"
                    else losses.q_hat_objective(losses.q_hat(q_r0, q_c0, nu_const))
                )
                self.log_alpha.ascend(meta_gradient(objective, self.log_alpha.param))
            # Line 20: commit φ' (and the RMSProp state it was computed with).
            commit_rmsprop(
                self.optimizers["actor"],
                self.actor_params,
                [p.detach() for p in new_params],
                [v.detach() for v in new_avgs],
            )
        else:
            optimizer = self.optimizers["actor"]
            for param, grad in zip(self.actor_params, ascent, strict=True):
                param.grad = -grad.detach()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            log_alpha = self.log_alpha.value.clone().requires_grad_(True)
            loss = losses.target_entropy_alpha_loss(log_alpha, -entropy, self.target_entropy)
            self.log_alpha.descend(torch.autograd.grad(loss, log_alpha)[0])
        self.nu.commit(nu_new)
        polyak_update(m.qr_target, m.qr, s.tau)
        polyak_update(m.qc_target, m.qc, s.tau)
        self.updates_done += 1
        return torch.stack(
            [
                reward_loss,
                safety_loss,
                stats_q_r,
                mean_q_c,
                j_c,
                entropy,
                self.nu.value,
                self.epsilon.value,
                self.log_alpha.value.exp(),
            ]
        ).to(torch.float64)

    def get_state(self) -> dict[str, Any]:
        """ν, ε, log α with their optimizer states, the noise generator and the update count."""
        return {
            "nu": self.nu.get_state(),
            "epsilon": self.epsilon.get_state(),
            "log_alpha": self.log_alpha.get_state(),
            "generator": self.generator.get_state(),
            "updates_done": self.updates_done,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.nu.set_state(state["nu"])
        self.epsilon.set_state(state["epsilon"])
        self.log_alpha.set_state(state["log_alpha"])
        self.generator.set_state(state["generator"])
        self.updates_done = int(state["updates_done"])
