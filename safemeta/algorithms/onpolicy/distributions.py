"""The diagonal Gaussian policy: log-likelihood and KL divergence as pure functions."""

from __future__ import annotations

import math

import torch

_LOG_2PI = math.log(2.0 * math.pi)


def diag_gaussian_logp(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density of ``x`` under N(mean, diag(exp(log_std)²)), summed over the last axis.

    .. math:: \\log \\pi(a|s) = -\\sum_i \\Bigl[\\frac{(a_i-\\mu_i)^2}{2\\sigma_i^2}
              + \\log\\sigma_i + \\tfrac12\\log 2\\pi\\Bigr]
    """
    z = (x - mean) * torch.exp(-log_std)
    return -(0.5 * z.pow(2) + log_std + 0.5 * _LOG_2PI).sum(-1)


def diag_gaussian_kl(
    mean0: torch.Tensor, log_std0: torch.Tensor, mean1: torch.Tensor, log_std1: torch.Tensor
) -> torch.Tensor:
    """KL(N0 || N1) of two diagonal Gaussians, summed over the last axis.

    .. math:: D_{KL} = \\sum_i \\Bigl[\\log\\frac{\\sigma_{1,i}}{\\sigma_{0,i}}
              + \\frac{\\sigma_{0,i}^2 + (\\mu_{0,i}-\\mu_{1,i})^2}{2\\sigma_{1,i}^2}
              - \\tfrac12\\Bigr]
    """
    var0 = torch.exp(2.0 * log_std0)
    var1 = torch.exp(2.0 * log_std1)
    return (log_std1 - log_std0 + (var0 + (mean0 - mean1).pow(2)) / (2.0 * var1) - 0.5).sum(-1)


def diag_gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian: :math:`\\sum_i \\log\\sigma_i + \\tfrac12(1+\\log 2\\pi)`."""
    return (log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1)
