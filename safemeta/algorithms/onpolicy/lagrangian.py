"""Lagrangian relaxation of the cost constraint (TRPO-Lag, PPO-Lag; C-MAML appendix C.3).

The multiplier itself is the shared component ``safemeta.algorithms.common.lagrange``.
"""

from __future__ import annotations

import torch


def lagrangian_advantages(
    advantages: torch.Tensor,
    cost_advantages: torch.Tensor,
    lam: float | torch.Tensor,
    *,
    normalize: bool = False,
) -> torch.Tensor:
    """Advantage of the Lagrangian surrogate (Eq. 27 of C-MAML, up to terms constant in θ).

    .. math:: \\hat A = A_R - \\lambda A_C \\quad\\text{or, with}\\ \\texttt{normalize},\\quad
              \\hat A = \\frac{A_R - \\lambda A_C}{1 + \\lambda}

    (dividing by 1 + λ keeps the scale of a first-order step bounded as λ grows; a trust-region
    step is invariant to it).
    """
    combined = advantages - lam * cost_advantages
    return combined / (1.0 + lam) if normalize else combined


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate (to maximise), averaged over the batch.

    .. math:: L^{clip} = \\mathbb{E}\\bigl[\\min(\\rho A,\\ \\mathrm{clip}(\\rho, 1-\\epsilon,
              1+\\epsilon) A)\\bigr],\\qquad \\rho = \\pi_\\theta(a|s)/\\pi_{old}(a|s)
    """
    return torch.min(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages).mean()
