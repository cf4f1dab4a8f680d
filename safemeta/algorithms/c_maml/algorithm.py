"""The C-MAML RLlib Algorithm: one meta-iteration per ``training_step`` (Alg. 1, lines 5-16).

Sample B train tasks; run ``CMAMLTaskProgram`` on them, one task per env runner in parallel
(``meta.task_runners.run_tasks``); then, on the learner's module, the outer update: V_C regressed
on π_θ's own pre-adaptation data, the direction of Eq. 30 (Eq. 21's task mean minus η times the
cost-critic term) as a trust-region step, λ by Eq. 22 on the post-adaptation costs and η by
Eq. 31 on V_C at π_θ's initial states. The new θ is written into every runner.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID

from safemeta.algorithms.c_maml.meta_update import cost_critic_gradient, meta_policy_step
from safemeta.algorithms.c_maml.objectives import first_order_meta_gradient, outer_direction
from safemeta.algorithms.c_maml.task_program import CMAMLTaskProgram, TaskOutcome
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.meta.algorithm import MetaAlgorithm
from safemeta.algorithms.meta.protocol import nanmean
from safemeta.algorithms.meta.task_runners import broadcast_weights, run_tasks
from safemeta.algorithms.onpolicy.defaults import TrustRegionSettings
from safemeta.algorithms.onpolicy.learner import CRITIC_OPTIMIZER
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate, batch_from_episodes
from safemeta.algorithms.onpolicy.updates import critic_update


class CMAML(MetaAlgorithm):
    """C-MAML (``CMAMLConfig``); MAML-TRPO with ``outer_constraint`` and the safety critic off."""

    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.c_maml.config import CMAMLConfig

        return CMAMLConfig()

    def setup(self, config: Any) -> None:
        super().setup(config)
        cfg = self.config
        self.meta_lagrange = LagrangeMultiplier(
            cfg.meta_lagrangian_init, lr=cfg.meta_lagrangian_lr, rule="sgd"
        )
        self.safety_multiplier = LagrangeMultiplier(
            cfg.safety_multiplier_init, lr=cfg.safety_multiplier_lr, rule="sgd"
        )

    def _multipliers(self) -> tuple[float, float]:
        cfg = self.config
        lam = float(self.meta_lagrange.value) if cfg.outer_constraint else 0.0
        eta = float(self.safety_multiplier.value) if cfg.use_safety_critic else 0.0
        return lam, eta

    def task_program(self, lam: float) -> CMAMLTaskProgram:
        cfg = self.config
        return CMAMLTaskProgram(
            update=OnPolicyLocalUpdate.from_config(cfg, cfg.inner),
            num_steps=cfg.inner_steps,
            lagrange_multiplier=lam,
            **cfg.rollout_size(),
            fresh_reward_critic=cfg.fresh_reward_critic,
            seed=self._iteration_seed(),
        )

    def training_step(self) -> None:
        start = time.perf_counter()
        tasks = self.sample_train_tasks()
        lam, eta = self._multipliers()
        outcomes: list[TaskOutcome] = run_tasks(
            self.env_runner_group,
            tasks,
            self.meta_weights(),
            self.task_program(lam),
            seed=self._iteration_seed(),
        )
        self._collect_runner_metrics()
        adapted = time.perf_counter()
        metrics = self._outer_update(outcomes, lam, eta)
        broadcast_weights(self.env_runner_group, self.meta_weights())
        self.meta_iteration += 1
        inner = [m for o in outcomes for m in o.metrics]
        metrics |= self.iteration_metrics(outcomes, start, adapted) | {
            "inner_sample_s": float(sum(m["sample_s"] for m in inner)),
            "inner_update_s": float(sum(m["update_s"] for m in inner)),
        }
        self.log_meta_results(metrics)

    def _outer_update(self, outcomes: list[TaskOutcome], lam: float, eta: float) -> dict:
        cfg = self.config
        module = self.meta_module
        learner = self.learner_group._learner
        pre = [ep for o in outcomes for ep in o.pre_episodes]
        batch = batch_from_episodes(module, pre, cfg.discounting)
        metrics = critic_update(
            module,
            batch,
            learner.get_optimizer(DEFAULT_MODULE_ID, CRITIC_OPTIMIZER),
            epochs=cfg.critic_epochs,
            minibatch_size=cfg.critic_minibatch_size,
            generator=self._generator,
        )
        starts = [np.asarray(ep.get_observations(0)) for ep in pre if ep.t_started == 0]
        with torch.no_grad():
            initial_cost = module.values(torch.as_tensor(np.stack(starts)))[1].mean()
        cost_limit = float(np.mean([o.cost_limit for o in outcomes]))
        meta_gradient = first_order_meta_gradient(torch.stack([o.gradient for o in outcomes]))
        safety_gradient = (
            cost_critic_gradient(module, batch.obs, batch.actions)
            if cfg.use_safety_critic
            else torch.zeros_like(meta_gradient)
        )
        direction = outer_direction(meta_gradient, safety_gradient, eta)
        settings = dataclasses.replace(TrustRegionSettings.from_config(cfg), max_kl=cfg.meta_max_kl)
        metrics |= meta_policy_step(module, batch.obs, batch.actions, direction, settings)
        post_cost = nanmean([o.steps[-1].episode_cost for o in outcomes])
        if cfg.outer_constraint and math.isfinite(post_cost):
            self.meta_lagrange.step(post_cost, cost_limit)  # Eq. 22
        if cfg.use_safety_critic:
            self.safety_multiplier.step(initial_cost, cost_limit)  # Eq. 31
        return metrics | {
            "lagrange_multiplier": float(self.meta_lagrange.value) if cfg.outer_constraint else 0.0,
            "safety_multiplier": float(self.safety_multiplier.value)
            if cfg.use_safety_critic
            else 0.0,
            "lagrange_multiplier_used": lam,
            "safety_multiplier_used": eta,
            "initial_cost_value": float(initial_cost),
            "cost_limit": cost_limit,
            "meta_gradient_norm": float(meta_gradient.norm()),
            "safety_gradient_norm": float(safety_gradient.norm()),
            "pre_adaptation_steps": float(len(batch)),
        }

    def extra_meta_state(self) -> dict[str, Any]:
        return {
            "lagrange": self.meta_lagrange.get_state(),
            "safety": self.safety_multiplier.get_state(),
        }

    def set_extra_meta_state(self, state: dict[str, Any]) -> None:
        self.meta_lagrange.set_state(state["lagrange"])
        self.safety_multiplier.set_state(state["safety"])


class MAMLTRPO(CMAML):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.c_maml.config import MAMLTRPOConfig

        return MAMLTRPOConfig()
