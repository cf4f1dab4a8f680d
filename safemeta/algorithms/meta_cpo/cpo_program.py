"""The CPO program with a Euclidean trust region (Meta-CPO Eq. 9 and 12, Eq. 4 when infeasible).

Meta-CPO's Limitations adopt ‖·‖_H → ‖·‖₂, so H = I: v = g, w = a and the closed-form dual of
``onpolicy.cpo`` applies with q = gᵀg, r = gᵀa, s = aᵀa. Every branch of that closed form is a
differentiable function of (g, a, b); the branch is picked by value, so autograd gives the exact
Jacobian of the program's solution wherever the branch does not change (almost everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from safemeta.algorithms.onpolicy.cpo import CPOCase, cpo_accept, cpo_step


def euclidean_cpo_step(
    g: torch.Tensor, a: torch.Tensor, b: torch.Tensor, delta: float
) -> tuple[torch.Tensor, CPOCase]:
    """Solution x* = φ − φᵏ of Eq. 9 (and Eq. 12 at the meta level) with H = I:

    .. math:: \\max_x\\; g^T x \\quad\\text{s.t.}\\quad \\tfrac12\\|x\\|^2 \\le \\delta,\\qquad
              b + a^T x \\le 0

    x* = (g − ν*a)/λ*, or the recovery step x* = −sqrt(2δ/aᵀa)·a of Eq. 4 when no point of the
    ball is feasible. Differentiable in g, a and b (``create_graph`` through it for Eq. 11).
    """
    return metric_cpo_step(g, a, g, a, b, delta)


def metric_cpo_step(
    g: torch.Tensor,
    a: torch.Tensor,
    v: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor,
    delta: float,
) -> tuple[torch.Tensor, CPOCase]:
    """Eq. 9 with the trust region ½xᵀHx ≤ δ (the paper's ‖·‖_H), given v = H⁻¹g and w = H⁻¹a:
    the CPO closed form (Eq. 3, Eq. 4 when infeasible) over q = gᵀv, r = gᵀw, s = aᵀw.
    Differentiable in g, a, v, w and b."""
    step, dual = cpo_step(v, w, g.dot(v), g.dot(w), a.dot(w), b, delta)
    return step, dual.case


def metric_trpo_step(g: torch.Tensor, v: torch.Tensor, delta: float) -> torch.Tensor:
    """max gᵀx s.t. ½xᵀHx ≤ δ given v = H⁻¹g: :math:`x^* = \\sqrt{2\\delta / g^T v}\\; v`."""
    return torch.sqrt(2.0 * delta / g.dot(v).clamp_min(1e-30)) * v


def euclidean_trpo_step(g: torch.Tensor, delta: float) -> torch.Tensor:
    """The unconstrained program (Meta-TRPO's inner and outer step): max gᵀx s.t. ½‖x‖² ≤ δ,
    :math:`x^* = \\sqrt{2\\delta / g^T g}\\; g`."""
    return metric_trpo_step(g, g, delta)


def backtracking_scale(
    improvement: Callable[[float], tuple[float, float]],
    case: CPOCase | None,
    b: float,
    *,
    decay: float = 0.8,
    max_backtracks: int = 10,
    kl: Callable[[float], float] | None = None,
    max_kl: float = math.inf,
) -> float:
    """The line-search factor c ∈ {1, decay, decay², …} of a CPO step x*, chosen without gradients.

    ``improvement(c)`` returns the (reward, cost) surrogate changes of φᵏ + c·x*; c is accepted by
    ``cpo_accept`` (cost change ≤ max(−b, 0); reward not lower unless recovering) and, given
    ``kl(c)``, the measured KL ≤ ``max_kl`` (without it the trust region holds by construction).
    ``case`` None: an unconstrained (TRPO) step, accepted when the reward surrogate does not
    decrease (and the KL holds). 0.0 if no factor is accepted.
    """
    for i in range(max_backtracks):
        scale = decay**i
        reward_change, cost_change = improvement(scale)
        step_kl = 0.0 if kl is None else kl(scale)
        if case is None:
            if reward_change >= 0.0 and step_kl <= max_kl:
                return scale
        elif cpo_accept(
            kl=step_kl,
            max_kl=max_kl,
            reward_improvement=reward_change,
            cost_change=cost_change,
            b=b,
            case=case,
        ):
            return scale
    return 0.0
