"""The float64 on-policy module the math tests differentiate: small enough for central finite
differences over every parameter (obs 3, one hidden layer of 5, act 2: 34 policy parameters)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from safemeta.algorithms.onpolicy.module import OnPolicyModule


def float64_policy(seed: int = 0) -> OnPolicyModule:
    torch.manual_seed(seed)
    return OnPolicyModule(
        observation_space=gym.spaces.Box(-1.0, 1.0, (3,), np.float64),
        action_space=gym.spaces.Box(-1.0, 1.0, (2,), np.float64),
        model_config={
            "policy_hiddens": (5,),
            "critic_hiddens": (5,),
            "normalize_observations": False,
        },
    ).double()
