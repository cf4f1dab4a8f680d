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
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS

from safemeta.algorithms.c_maml.meta_update import cost_critic_gradient, meta_policy_step
from safemeta.algorithms.c_maml.objectives import first_order_meta_gradient, outer_direction
from safemeta.algorithms.c_maml.task_program import CMAMLTaskProgram, TaskOutcome
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.meta.protocol import nanmean
from safemeta.algorithms.meta.task_runners import broadcast_weights, run_tasks
from safemeta.algorithms.onpolicy.defaults import TrustRegionSettings
from safemeta.algorithms.onpolicy.learner import CRITIC_OPTIMIZER
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate, batch_from_episodes
from safemeta.algorithms.onpolicy.updates import critic_update
from safemeta.environments.task_distributions import make_task_distribution

META_RESULTS = "meta"
"""Result key of the meta-iteration's own numbers (means over its tasks)."""
META_STATE = "meta_state"


class CMAML(Algorithm):
    """C-MAML (``CMAMLConfig``); MAML-TRPO with ``outer_constraint`` and the safety critic off."""

    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.c_maml.config import CMAMLConfig

        return CMAMLConfig()

    def setup(self, config: Any) -> None:
        super().setup(config)
        cfg = self.config
        self.distribution = make_task_distribution(
            cfg.task_distribution, **dict(cfg.task_distribution_kwargs)
        )
        self.task_rng = np.random.default_rng([int(cfg.seed or 0), 20])
        self.meta_lagrange = LagrangeMultiplier(
            cfg.meta_lagrangian_init, lr=cfg.meta_lagrangian_lr, rule="sgd"
        )
        self.safety_multiplier = LagrangeMultiplier(
            cfg.safety_multiplier_init, lr=cfg.safety_multiplier_lr, rule="sgd"
        )
        self.meta_iteration = 0
        self._generator = torch.Generator().manual_seed(int(cfg.seed or 0))

    @property
    def meta_module(self) -> Any:
        """π_θ, V_C (and the unused V_R) on the local learner."""
        return self.learner_group._learner.module[DEFAULT_MODULE_ID]

    def meta_weights(self) -> dict[str, torch.Tensor]:
        return {
            k: torch.as_tensor(v).detach().clone() for k, v in self.meta_module.get_state().items()
        }

    def _multipliers(self) -> tuple[float, float]:
        cfg = self.config
        lam = float(self.meta_lagrange.value) if cfg.outer_constraint else 0.0
        eta = float(self.safety_multiplier.value) if cfg.use_safety_critic else 0.0
        return lam, eta

    def task_program(self, lam: float) -> CMAMLTaskProgram:
        cfg = self.config
        episodes = cfg.inner_rollout_episodes
        return CMAMLTaskProgram(
            update=OnPolicyLocalUpdate.from_config(cfg, cfg.inner),
            num_steps=cfg.inner_steps,
            lagrange_multiplier=lam,
            num_timesteps=None if episodes else cfg.inner_rollout_steps,
            num_episodes=episodes,
            fresh_reward_critic=cfg.fresh_reward_critic,
            seed=self._iteration_seed(),
        )

    def _iteration_seed(self) -> int:
        """Seed of this meta-iteration's task programs (distinct per trial seed and iteration)."""
        return int(self.config.seed or 0) * 100_003 + 1_000 * self.meta_iteration

    def training_step(self) -> None:
        cfg = self.config
        start = time.perf_counter()
        tasks = self.distribution.sample_tasks(
            cfg.tasks_per_iteration, split="train", rng=self.task_rng
        )
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
        metrics |= {
            "tasks": float(len(outcomes)),
            "adaptation_s": adapted - start,
            "outer_update_s": time.perf_counter() - adapted,
            "inner_sample_s": float(sum(m["sample_s"] for m in inner)),
            "inner_update_s": float(sum(m["update_s"] for m in inner)),
        }
        for k in range(cfg.inner_steps + 1):  # the adaptation curve of this iteration's tasks
            metrics[f"return_step_{k}"] = nanmean([o.steps[k].episode_return for o in outcomes])
            metrics[f"cost_step_{k}"] = nanmean([o.steps[k].episode_cost for o in outcomes])
        for key, value in metrics.items():
            self.metrics.log_value((META_RESULTS, key), value, window=1)

    def _collect_runner_metrics(self) -> None:
        """The runners' episode metrics of every rollout of the iteration (the platform's
        return/cost window and env-step count)."""
        group = self.env_runner_group
        if group.healthy_env_runner_ids():
            results = group.foreach_env_runner(lambda er: er.get_metrics(), local_env_runner=False)
        else:
            results = [group.local_env_runner.get_metrics()]
        self.metrics.aggregate(results, key=ENV_RUNNER_RESULTS)

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

    def get_state(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state = super().get_state(*args, **kwargs)
        if hasattr(self, "meta_lagrange"):
            state[META_STATE] = {
                "lagrange": self.meta_lagrange.get_state(),
                "safety": self.safety_multiplier.get_state(),
                "task_rng": self.task_rng.bit_generator.state,
                "meta_iteration": self.meta_iteration,
                "generator": self._generator.get_state(),
            }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        meta = state.get(META_STATE)
        if meta is not None:
            self.meta_lagrange.set_state(meta["lagrange"])
            self.safety_multiplier.set_state(meta["safety"])
            self.task_rng.bit_generator.state = meta["task_rng"]
            self.meta_iteration = int(meta["meta_iteration"])
            self._generator.set_state(meta["generator"])
            broadcast_weights(self.env_runner_group, self.meta_weights())


class MAMLTRPO(CMAML):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.c_maml.config import MAMLTRPOConfig

        return MAMLTRPOConfig()
