"""Generalised advantage estimation (Schulman et al. 2016), for reward and for cost alike."""

from __future__ import annotations

import torch


def discounted_cumsum(x: torch.Tensor, discount: float) -> torch.Tensor:
    """Reverse discounted cumulative sum along the last axis.

    .. math:: y_t = \\sum_{l \\ge 0} \\gamma^l x_{t+l}
    """
    out = torch.empty_like(x)
    running = torch.zeros_like(x[..., -1])
    for t in range(x.shape[-1] - 1, -1, -1):
        running = x[..., t] + discount * running
        out[..., t] = running
    return out


def gae(
    rewards: torch.Tensor, values: torch.Tensor, *, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(γ, λ) advantages and λ-return value targets of one trajectory chunk.

    ``rewards`` has T entries; ``values`` has T + 1: V(s_0..s_{T-1}) and the bootstrap value of
    the state after the last step (0 if the episode terminated there).

    .. math:: \\delta_t = r_t + \\gamma V(s_{t+1}) - V(s_t),\\qquad
              \\hat A_t = \\sum_{l \\ge 0} (\\gamma\\lambda)^l \\delta_{t+l},\\qquad
              \\hat V_t = \\hat A_t + V(s_t)

    Used for the reward (r, V_R) and for the cost (c, V_C).
    """
    if values.shape[-1] != rewards.shape[-1] + 1:
        raise ValueError(
            f"values needs one more entry than rewards (the bootstrap value), got "
            f"{values.shape[-1]} values for {rewards.shape[-1]} rewards"
        )
    deltas = rewards + gamma * values[..., 1:] - values[..., :-1]
    advantages = discounted_cumsum(deltas, gamma * lam)
    return advantages, advantages + values[..., :-1]
