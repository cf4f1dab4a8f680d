"""The RLModule of the family: a squashed-Gaussian actor, twin reward critics, twin safety critics.

EnvRunners build the ``inference_only`` copy, which holds the actor only. Actions are in [-1, 1]
(RLlib's ``normalize_actions`` rescales them to the env's bounds). The Learner never calls
``forward_train``: its update reads the networks directly (see ``update.py``).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from safemeta.algorithms.common.networks import EnsembleMLP, mlp

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
CRITIC_ATTRIBUTES = ("qr", "qc", "qr_target", "qc_target")
DEFAULT_MODEL_CONFIG: dict[str, Any] = {"actor_hiddens": [256, 256], "critic_hiddens": [256, 256]}


def squashed_gaussian(
    pi_out: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reparameterised sample ``a = tanh(μ + σ ξ)`` and its log-density (tanh-corrected).

    ``pi_out``: ``[B, 2·A]`` (means, log-stds); ``noise`` ξ: ``[B, A]`` standard normal.
    """
    mean, log_std = pi_out.chunk(2, dim=-1)
    log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
    pre_tanh = mean + log_std.exp() * noise
    action = torch.tanh(pre_tanh)
    gaussian_logp = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2.0 * math.pi)
    # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
    log_det = 2.0 * (math.log(2.0) - pre_tanh - nn.functional.softplus(-2.0 * pre_tanh))
    return action, (gaussian_logp - log_det).sum(dim=-1)


def deterministic_action(pi_out: torch.Tensor) -> torch.Tensor:
    """The policy's deterministic action ``μ_φ(s) = tanh(mean)``."""
    return torch.tanh(pi_out.chunk(2, dim=-1)[0])


def critic_values(critic: nn.Module, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Twin critic values ``[2, B]`` at ``(obs, action)``."""
    return critic(torch.cat([obs, action], dim=-1)).squeeze(-1)


class SafeSACModule(TorchRLModule, InferenceOnlyAPI):
    """Actor ``pi`` (obs -> means and log-stds); twin critics ``qr``/``qc`` and their targets."""

    def setup(self) -> None:
        config = {**DEFAULT_MODEL_CONFIG, **(self.model_config or {})}
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(np.prod(self.action_space.shape))
        self.pi = mlp([obs_dim, *config["actor_hiddens"], 2 * act_dim])
        if not self.inference_only:
            sizes = [obs_dim + act_dim, *config["critic_hiddens"], 1]
            self.qr = EnsembleMLP(2, sizes)
            self.qc = EnsembleMLP(2, sizes)
            self.qr_target = copy.deepcopy(self.qr).requires_grad_(False)
            self.qc_target = copy.deepcopy(self.qc).requires_grad_(False)

    def _obs(self, batch: dict[str, Any]) -> torch.Tensor:
        obs = batch[Columns.OBS]
        return obs.reshape(obs.shape[0], -1).to(next(self.pi.parameters()).dtype)

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTIONS: deterministic_action(self.pi(self._obs(batch)))}

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        pi_out = self.pi(self._obs(batch))
        noise = torch.randn(pi_out.shape[0], pi_out.shape[1] // 2, dtype=pi_out.dtype)
        action, logp = squashed_gaussian(pi_out, noise)
        return {Columns.ACTIONS: action, Columns.ACTION_LOGP: logp}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError("SafeSACLearner updates the networks directly (update.py)")

    def get_non_inference_attributes(self) -> list[str]:
        return list(CRITIC_ATTRIBUTES)
