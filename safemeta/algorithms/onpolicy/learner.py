"""The Learner of the on-policy family: owns the whole update (``_update``).

Per iteration: fold the batch's observations into the running normaliser; the connector adds
costs, GAE advantages and value targets; then (Lagrangian variants) the multiplier step on
J_C − d, the policy step of the variant, and the critic regression. J_C and the episode length L
come from the Algorithm (finished episodes) through ``update(..., cost_estimate=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import ray
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.torch.torch_learner import TorchLearner

from safemeta.algorithms.common.episode_costs import CostEstimate
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.onpolicy.cpo import CostGradientAverage
from safemeta.algorithms.onpolicy.lagrangian import lagrangian_advantages
from safemeta.algorithms.onpolicy.updates import (
    PolicyBatch,
    TrustRegionSettings,
    center,
    cpo_update,
    critic_update,
    ppo_update,
    standardize,
    trpo_update,
)

LAGRANGE_STATE = "lagrange_multiplier"
COST_GRADIENTS_STATE = "cpo_cost_gradients"
CRITIC_OPTIMIZER = "critic"
POLICY_OPTIMIZER = "policy"


def _episodes_of(update_kwargs: dict[str, Any]) -> list[Any]:
    """The episodes of a ``Learner.update`` call (LearnerGroup wraps them in ``training_data``)."""
    if update_kwargs.get("episodes"):
        return list(update_kwargs["episodes"])
    data = update_kwargs.get("training_data")
    if data is None:
        return []
    if data.episodes:
        return list(data.episodes)
    if data.episodes_refs:
        return [ep for ref in data.episodes_refs for ep in ray.get(ref)]
    return []


class OnPolicyLearner(TorchLearner):
    """TRPO / TRPO-Lag / CPO / PPO-Lag, selected by ``config.policy_update``."""

    def build(self) -> None:
        super().build()
        cfg = self.config
        self.lagrange: LagrangeMultiplier | None = None
        if cfg.uses_lagrangian:
            self.lagrange = LagrangeMultiplier(
                cfg.lagrangian_init, lr=cfg.lagrangian_lr, rule=cfg.lagrangian_optimizer
            )
        self._generator = torch.Generator().manual_seed(int(cfg.seed or 0))
        self.cost_gradients = CostGradientAverage(cfg.cost_gradient_averaging)
        self._cost_estimate: CostEstimate | None = None

    def configure_optimizers_for_module(self, module_id: str, config: Any = None) -> None:
        module = self.module[module_id]
        critic_params = module.critic_parameters()
        self.register_optimizer(
            module_id=module_id,
            optimizer_name=CRITIC_OPTIMIZER,
            optimizer=torch.optim.Adam(critic_params, lr=self.config.critic_lr),
            params=critic_params,
        )
        if self.config.policy_update == "ppo":
            policy_params = module.policy_parameters()
            self.register_optimizer(
                module_id=module_id,
                optimizer_name=POLICY_OPTIMIZER,
                optimizer=torch.optim.Adam(policy_params, lr=self.config.lr),
                params=policy_params,
            )

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: Any, fwd_out: Any):
        raise NotImplementedError("OnPolicyLearner owns the update in _update()")

    def update(self, *args: Any, cost_estimate: CostEstimate | None = None, **kwargs: Any):
        """Stash J_C / L, fold observations into the normaliser, then RLlib's update."""
        self._cost_estimate = cost_estimate
        module = self.module[DEFAULT_MODULE_ID]
        episodes = _episodes_of(kwargs)
        if episodes and module.normalize_observations:
            obs = np.concatenate([np.asarray(ep.get_observations()[:-1]) for ep in episodes])
            module.obs_normalizer.update(torch.as_tensor(obs))
        return super().update(*args, **kwargs)

    def _update(self, batch: dict[str, Any], **kwargs: Any) -> tuple[Any, Any, Any]:
        cfg, mid = self.config, DEFAULT_MODULE_ID
        module = self.module[mid]
        columns = batch[mid]
        data = PolicyBatch.from_columns(
            {**columns, "obs": columns[Columns.OBS], "actions": columns[Columns.ACTIONS]}
        )
        estimate = self._cost_estimate
        if estimate is None:
            raise ValueError("OnPolicyLearner.update needs cost_estimate=CostEstimate(...)")
        adv = standardize(data.advantages) if cfg.normalize_advantages else data.advantages
        cadv = center(data.cost_advantages)
        metrics: dict[str, float] = {
            "episode_cost_estimate": estimate.episode_cost,
            "episode_length_estimate": estimate.episode_length,
            "cost_limit": cfg.cost_limit,
        }
        if self.lagrange is not None:  # dual step first, on this batch's J_C (as OmniSafe)
            lam = self.lagrange.step(estimate.episode_cost, cfg.cost_limit)
            metrics["lagrange_multiplier"] = lam
            adv = lagrangian_advantages(adv, cadv, lam, normalize=cfg.policy_update == "ppo")
        settings = TrustRegionSettings.from_config(cfg)
        if cfg.policy_update == "trpo":
            metrics |= trpo_update(module, data, adv, settings)
        elif cfg.policy_update == "cpo":
            b = (estimate.episode_cost - cfg.cost_limit) / max(estimate.episode_length, 1.0)
            metrics |= cpo_update(module, data, adv, cadv, b, settings, self.cost_gradients)
        else:
            metrics |= ppo_update(
                module,
                data,
                adv,
                self.get_optimizer(mid, POLICY_OPTIMIZER),
                clip=cfg.clip_param,
                epochs=cfg.num_epochs,
                minibatch_size=cfg.minibatch_size,
                target_kl=cfg.target_kl,
                generator=self._generator,
            )
        metrics |= critic_update(
            module,
            data,
            self.get_optimizer(mid, CRITIC_OPTIMIZER),
            epochs=cfg.critic_epochs,
            minibatch_size=cfg.critic_minibatch_size,
            generator=self._generator,
        )
        for key, value in metrics.items():
            self.metrics.log_value((mid, key), value, window=1)
        loss = torch.tensor(metrics["value_loss"] + metrics["cost_value_loss"])
        return {}, {mid: loss}, {}

    def get_state(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state = super().get_state(*args, **kwargs)
        if getattr(self, "lagrange", None) is not None and not kwargs.get("inference_only"):
            state[LAGRANGE_STATE] = self.lagrange.get_state()
        if getattr(self, "cost_gradients", None) is not None and not kwargs.get("inference_only"):
            state[COST_GRADIENTS_STATE] = self.cost_gradients.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if LAGRANGE_STATE in state and getattr(self, "lagrange", None) is not None:
            self.lagrange.set_state(state[LAGRANGE_STATE])
        if COST_GRADIENTS_STATE in state:
            self.cost_gradients.set_state(state[COST_GRADIENTS_STATE])
