"""The Meta-CPO RLlib Algorithm: one meta-iteration per ``training_step`` (Alg. 1, lines 3-14).

Sample M train tasks; run ``MetaCPOTaskProgram`` on them, one task per env runner in parallel
(each returns its exact dF/dθ, dG/dθ of Eq. 11 and its batches); then, on the learner's module:
the critics regressed on π_θ's own pre-adaptation rollouts (the tasks' critics start from them),
and the meta program of Eq. 12 on the task means — CPO (Meta-TRPO: unconstrained) in the ball
½‖θ' − θ‖² ≤ δ_θ (or the KL trust region at θ), the recovery step when infeasible, and a
backtracking factor accepted on F(θ'), G(θ') replayed through every task's K steps. The new θ
is written into every runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID

from safemeta.algorithms.meta.algorithm import MetaAlgorithm
from safemeta.algorithms.meta.task_runners import broadcast_weights, run_tasks
from safemeta.algorithms.meta_cpo.cpo_program import (
    backtracking_scale,
    metric_cpo_step,
    metric_trpo_step,
)
from safemeta.algorithms.meta_cpo.fisher_metric import FisherMetric, fisher_solve
from safemeta.algorithms.meta_cpo.functional_policy import FlatGaussianPolicy, flat_policy_logp
from safemeta.algorithms.meta_cpo.local_update import LocalCPOUpdate
from safemeta.algorithms.meta_cpo.meta_gradient import replayed_objectives
from safemeta.algorithms.meta_cpo.task_program import MetaCPOTaskOutcome, MetaCPOTaskProgram
from safemeta.algorithms.onpolicy.learner import CRITIC_OPTIMIZER
from safemeta.algorithms.onpolicy.local import batch_from_episodes
from safemeta.algorithms.onpolicy.trust_region import flat_params, set_flat_params
from safemeta.algorithms.onpolicy.updates import critic_update


class MetaCPO(MetaAlgorithm):
    """Meta-CPO (``MetaCPOConfig``); Meta-TRPO with ``constrained = False``."""

    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.meta_cpo.config import MetaCPOConfig

        return MetaCPOConfig()

    def task_program(self) -> MetaCPOTaskProgram:
        cfg = self.config
        return MetaCPOTaskProgram(
            update=LocalCPOUpdate.from_config(cfg, seed=self._iteration_seed()),
            num_steps=cfg.inner_steps,
            first_order=cfg.first_order,
            **cfg.rollout_size(),
        )

    def training_step(self) -> None:
        start = time.perf_counter()
        outcomes: list[MetaCPOTaskOutcome] = run_tasks(
            self.env_runner_group,
            self.sample_train_tasks(),
            self.meta_weights(),
            self.task_program(),
            seed=self._iteration_seed(),
        )
        self._collect_runner_metrics()
        adapted = time.perf_counter()
        metrics = self._meta_update(outcomes)
        broadcast_weights(self.env_runner_group, self.meta_weights())
        self.meta_iteration += 1
        inner = [m for o in outcomes for m in o.metrics]
        metrics |= self.iteration_metrics(outcomes, start, adapted) | {
            "inner_line_search_scale": float(np.mean([m["line_search_scale"] for m in inner])),
            "inner_kl": float(np.mean([m["kl"] for m in inner])),
            **{  # wall seconds on the runners, summed over the tasks
                f"{part}_s": float(sum(o.seconds[part] for o in outcomes))
                for part in outcomes[0].seconds
            },
        }
        self.log_meta_results(metrics)

    def _meta_update(self, outcomes: list[MetaCPOTaskOutcome]) -> dict[str, float]:
        cfg = self.config
        module = self.meta_module
        learner = self.learner_group._learner
        pre = batch_from_episodes(
            module, [e for o in outcomes for e in o.pre_episodes], cfg.discounting
        )
        metrics = critic_update(
            module,
            pre,
            learner.get_optimizer(DEFAULT_MODULE_ID, CRITIC_OPTIMIZER),
            epochs=cfg.critic_epochs,
            minibatch_size=cfg.critic_minibatch_size,
            generator=self._generator,
        )
        params = module.policy_parameters()
        theta = flat_params(params)
        logp = flat_policy_logp(module)
        solve = self._meta_metric_solve(logp, theta, pre.obs)
        d_reward = torch.stack([o.reward_gradient for o in outcomes]).mean(0)
        v = solve(d_reward)
        b = float(np.mean([o.constraint_value for o in outcomes]))
        cost_metrics = {}
        if cfg.constrained:  # Eq. 12 (Eq. 4's recovery when infeasible)
            d_cost = torch.stack([o.cost_gradient for o in outcomes]).mean(0)
            x, case = metric_cpo_step(
                d_reward, d_cost, v, solve(d_cost), torch.tensor(b), cfg.meta_delta
            )
            cost_metrics = {"meta_cost_gradient_norm": float(d_cost.norm())}
        else:
            x, case = metric_trpo_step(d_reward, v, cfg.meta_delta), None

        def objectives(candidate: torch.Tensor) -> np.ndarray:
            return np.mean([replayed_objectives(logp, candidate, o.replay) for o in outcomes], 0)

        before = objectives(theta)

        def changes(scale: float) -> tuple[float, float]:
            after = objectives(theta + scale * x)
            return float(after[0] - before[0]), float(after[1] - before[1])

        def step_kl(scale: float) -> float:
            return logp.mean_kl(theta, theta + scale * x, pre.obs)

        kl_test = cfg.meta_trust_region == "kl"  # the ball needs none: it holds by construction
        scale = backtracking_scale(
            changes,
            case,
            b,
            decay=cfg.line_search_decay,
            max_backtracks=cfg.line_search_steps,
            kl=step_kl if kl_test else None,
            max_kl=cfg.meta_delta,
        )
        set_flat_params(params, theta + scale * x)
        return metrics | {
            "meta_kl": step_kl(scale),
            "meta_b": b,
            "meta_case": float(-1 if case is None else int(case)),
            "meta_line_search_scale": scale,
            "meta_step_norm": float(scale * x.norm()),
            "meta_reward_gradient_norm": float(d_reward.norm()),
            "cost_limit": float(np.mean([o.cost_limit for o in outcomes])),
            **cost_metrics,
        }

    def _meta_metric_solve(
        self, logp: FlatGaussianPolicy, theta: torch.Tensor, obs: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``rhs -> M⁻¹ rhs`` for the meta program's metric M: I (Euclidean ball), or the Fisher
        matrix of π_θ on ``obs`` (+ ``cg_damping``·I) solved by CG."""
        cfg = self.config
        if cfg.meta_trust_region == "euclidean":
            return lambda rhs: rhs
        metric = FisherMetric(damping=cfg.cg_damping, iterations=cfg.cg_iterations)

        def solve(rhs: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return fisher_solve(logp.mean, logp.log_std_size, theta, obs, rhs, metric)

        return solve


class MetaTRPO(MetaCPO):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.meta_cpo.config import MetaTRPOConfig

        return MetaTRPOConfig()
