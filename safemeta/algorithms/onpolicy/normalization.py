"""Running mean/std observation normalisation, kept as module buffers (so it is in checkpoints
and travels to env runners with the weights)."""

from __future__ import annotations

import torch
from torch import nn


def merge_moments(
    mean: torch.Tensor,
    var: torch.Tensor,
    count: torch.Tensor,
    batch_mean: torch.Tensor,
    batch_var: torch.Tensor,
    batch_count: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Merge running moments with a batch's (Chan et al. parallel algorithm).

    .. math:: n = n_a + n_b,\\quad \\mu = \\mu_a + \\Delta\\, n_b/n,\\quad
              \\sigma^2 = \\bigl(n_a\\sigma_a^2 + n_b\\sigma_b^2 + \\Delta^2 n_a n_b / n\\bigr)/n,
              \\quad \\Delta = \\mu_b - \\mu_a
    """
    total = count + batch_count
    delta = batch_mean - mean
    new_mean = mean + delta * batch_count / total
    m2 = var * count + batch_var * batch_count + delta.pow(2) * count * batch_count / total
    return new_mean, m2 / total, total


class RunningMeanStd(nn.Module):
    """``x -> clip((x - μ) / sqrt(σ² + ε), ±clip)`` with μ, σ² running over all updates."""

    def __init__(self, size: int, *, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.clip = clip
        self.epsilon = epsilon
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch ``[N, size]`` into the running moments."""
        x = x.reshape(-1, self.mean.shape[0]).to(torch.float64)
        if x.shape[0] == 0:
            return
        batch_var = x.var(0, unbiased=False) if x.shape[0] > 1 else torch.zeros_like(self.mean)
        mean, var, count = merge_moments(
            self.mean, self.var, self.count, x.mean(0), batch_var, float(x.shape[0])
        )
        self.mean.copy_(mean)
        self.var.copy_(var)
        self.count.copy_(count)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(self.count) == 0.0:
            return x
        z = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + self.epsilon)
        return z.clamp(-self.clip, self.clip)
