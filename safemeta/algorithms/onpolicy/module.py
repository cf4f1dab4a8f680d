"""Gaussian MLP policy with a state-independent log-std, and separate reward and cost critics."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from safemeta.algorithms.common.networks import mlp
from safemeta.algorithms.onpolicy.normalization import RunningMeanStd

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}

# model_config keys (filled from the config's training() values).
POLICY_HIDDENS = "policy_hiddens"
CRITIC_HIDDENS = "critic_hiddens"
ACTIVATION = "activation"
INIT_LOG_STD = "init_log_std"
NORMALIZE_OBSERVATIONS = "normalize_observations"
OBSERVATION_CLIP = "observation_clip"


class OnPolicyModule(TorchRLModule):
    """π(a|s) = N(μ_θ(s), diag(exp(2·log σ))), V_R(s) and V_C(s), on normalised observations.

    Critics are built in every copy (also on env runners, ``inference_only``): they are small, and
    meta-RL runs local updates on the env runners. Action-distribution inputs are
    ``[μ, log σ]`` (RLlib's ``TorchDiagGaussian``).
    """

    def setup(self) -> None:
        cfg: dict[str, Any] = self.model_config
        if not isinstance(self.observation_space, gym.spaces.Box) or not isinstance(
            self.action_space, gym.spaces.Box
        ):
            raise ValueError(
                "the on-policy family needs Box observation and action spaces, got "
                f"{self.observation_space} and {self.action_space}"
            )
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(np.prod(self.action_space.shape))
        act = ACTIVATIONS[cfg.get(ACTIVATION, "tanh")]
        self.normalize_observations = bool(cfg.get(NORMALIZE_OBSERVATIONS, True))
        self.obs_normalizer = RunningMeanStd(obs_dim, clip=float(cfg.get(OBSERVATION_CLIP, 10.0)))
        self.pi = mlp([obs_dim, *cfg.get(POLICY_HIDDENS, (64, 64)), act_dim], act)
        with torch.no_grad():  # small initial means: start near the log-std exploration
            self.pi[-1].weight.mul_(0.01)
            self.pi[-1].bias.zero_()
        self.log_std = nn.Parameter(torch.full((act_dim,), float(cfg.get(INIT_LOG_STD, -0.5))))
        hiddens = cfg.get(CRITIC_HIDDENS, (64, 64))
        self.vf = mlp([obs_dim, *hiddens, 1], act)
        self.cvf = mlp([obs_dim, *hiddens, 1], act)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """Observations as the networks see them."""
        obs = obs.reshape(obs.shape[0], -1).to(self.log_std.dtype)
        return self.obs_normalizer(obs) if self.normalize_observations else obs

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ)`` of π(·|obs), each ``[B, act_dim]``."""
        mean = self.pi(self.normalize(obs))
        return mean, self.log_std.expand_as(mean)

    def values(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(V_R(s), V_C(s))``, each ``[B]``."""
        x = self.normalize(obs)
        return self.vf(x).squeeze(-1), self.cvf(x).squeeze(-1)

    def policy_parameters(self) -> list[nn.Parameter]:
        """θ of the policy (the trust-region variables): log σ then the mean network."""
        return [self.log_std, *self.pi.parameters()]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [*self.vf.parameters(), *self.cvf.parameters()]

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mean, log_std = self.distribution(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: torch.cat([mean, log_std], dim=-1)}
