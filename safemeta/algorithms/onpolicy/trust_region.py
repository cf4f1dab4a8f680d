"""Trust-region machinery (Schulman et al. 2015): flat parameters, conjugate gradient,
Fisher-vector products and the backtracking line search."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


def flat_params(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """All parameters concatenated into one detached vector."""
    return torch.cat([p.detach().reshape(-1) for p in params])


@torch.no_grad()
def set_flat_params(params: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    """Write the vector ``flat`` back into ``params`` in place (inverse of :func:`flat_params`)."""
    offset = 0
    for p in params:
        n = p.numel()
        p.copy_(flat[offset : offset + n].view_as(p))
        offset += n
    if offset != flat.numel():
        raise ValueError(f"flat vector has {flat.numel()} entries, parameters need {offset}")


def flat_grad(
    output: torch.Tensor,
    params: Sequence[torch.Tensor],
    *,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> torch.Tensor:
    """:math:`\\nabla_\\theta` output as one vector (zeros for parameters it does not depend on)."""
    grads = torch.autograd.grad(
        output,
        list(params),
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g).reshape(-1)
            for g, p in zip(grads, params, strict=True)
        ]
    )


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    *,
    iterations: int = 10,
    residual_tol: float = 1e-10,
) -> torch.Tensor:
    """Approximate :math:`x = A^{-1} b` for symmetric positive-definite A given only ``x -> Ax``.

    Standard CG (Hestenes & Stiefel): :math:`\\alpha_k = r_k^T r_k / p_k^T A p_k`,
    :math:`x_{k+1} = x_k + \\alpha_k p_k`, :math:`r_{k+1} = r_k - \\alpha_k A p_k`,
    :math:`p_{k+1} = r_{k+1} + (r_{k+1}^T r_{k+1} / r_k^T r_k)\\, p_k`; stops after ``iterations``
    or when :math:`r^T r <` ``residual_tol``.
    """
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r.dot(r)
    for _ in range(iterations):
        if rr < residual_tol:
            break
        ap = matvec(p)
        alpha = rr / p.dot(ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r.dot(r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def fisher_vector_product(
    kl_fn: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    vector: torch.Tensor,
    *,
    damping: float = 0.0,
) -> torch.Tensor:
    """:math:`(H + \\beta I)v` with H the Hessian of the mean KL at the current policy.

    ``kl_fn()`` must return :math:`\\bar D_{KL}(\\pi_{old} \\| \\pi_\\theta)` with the old
    distribution detached and evaluated at :math:`\\theta = \\theta_{old}`; there its Hessian is the
    Fisher information matrix. Pearlmutter's trick: :math:`Hv = \\nabla_\\theta
    \\bigl[(\\nabla_\\theta \\bar D_{KL})^T v\\bigr]`, two backward passes, no n×n matrix.
    """
    grad = flat_grad(kl_fn(), params, create_graph=True)
    hv = flat_grad(grad.dot(vector.detach()), params)
    return hv + damping * vector


def natural_step(
    direction: torch.Tensor, hvp_direction: torch.Tensor, max_kl: float
) -> torch.Tensor:
    """Scale the natural-gradient direction :math:`x = H^{-1}g` to the trust-region boundary.

    .. math:: \\Delta\\theta = \\sqrt{\\frac{2\\delta}{x^T H x}}\\; x
              \\quad\\text{so that}\\quad \\tfrac12 \\Delta\\theta^T H \\Delta\\theta = \\delta
    """
    xhx = direction.dot(hvp_direction).clamp_min(1e-12)
    return torch.sqrt(2.0 * max_kl / xhx) * direction


@dataclass(frozen=True)
class LineSearchResult:
    """Outcome of :func:`backtracking_line_search`."""

    accepted: bool
    backtracks: int
    """Number of halvings before acceptance (``max_backtracks`` if nothing was accepted)."""
    step_fraction: float
    """Fraction of the full step taken (0.0 if nothing was accepted)."""
    stats: Any
    """What ``evaluate`` returned for the accepted step (or for the last rejected one)."""


def backtracking_line_search(
    evaluate: Callable[[torch.Tensor], Any],
    accept: Callable[[Any], bool],
    full_step: torch.Tensor,
    *,
    max_backtracks: int = 10,
    decay: float = 0.8,
) -> LineSearchResult:
    """Try :math:`\\Delta\\theta_j = \\text{decay}^j\\,\\Delta\\theta`, j = 0, 1, …; take the first
    whose ``evaluate(step)`` statistics pass ``accept``.

    ``evaluate`` computes the statistics of ``θ_old + step`` (e.g. surrogate change, KL, cost
    surrogate change); the caller restores θ_old when nothing is accepted.
    """
    stats = None
    for j in range(max_backtracks):
        fraction = decay**j
        stats = evaluate(fraction * full_step)
        if accept(stats):
            return LineSearchResult(True, j, fraction, stats)
    return LineSearchResult(False, max_backtracks, 0.0, stats)


def trpo_accept(*, kl: float, improvement: float, max_kl: float, kl_slack: float = 1.0) -> bool:
    """TRPO's acceptance test: the KL stays in the trust region and the surrogate improves.

    .. math:: \\bar D_{KL}(\\pi_{old}\\|\\pi_{new}) \\le \\text{slack}\\cdot\\delta
              \\;\\wedge\\; L(\\theta_{new}) - L(\\theta_{old}) > 0
    """
    return bool(torch.isfinite(torch.tensor(kl))) and kl <= kl_slack * max_kl and improvement > 0.0
