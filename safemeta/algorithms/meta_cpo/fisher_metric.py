"""The KL trust region for Meta-CPO's local step (Eq. 9 with ‖·‖_H, H the Fisher matrix of π_φ
on the batch's states), differentiable in φ for Eq. 11.

For a diagonal Gaussian with state-independent log σ, the Hessian of the mean KL at φ is

.. math:: H(\\phi) = \\mathbb{E}_s\\bigl[J_\\mu^T \\Sigma^{-1} J_\\mu\\bigr]
          \\oplus 2I_{\\log\\sigma} \\;(+\\,\\text{damping}\\cdot I)

(J_μ the Jacobian of the mean in φ). v = H⁻¹g is solved by conjugate gradients and differentiated
by the implicit function theorem: for a cotangent v̄, u = H⁻¹v̄ gives ḡ = u and
φ̄ = −∂(uᵀH(φ)v)/∂φ. The gradient is that of the solved program, exact to the CG residual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from safemeta.algorithms.onpolicy.trust_region import conjugate_gradient

PolicyMean = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(flat φ, obs [N, o]) -> mean [N, a]`` of the Gaussian policy, differentiable in φ."""


@dataclass(frozen=True)
class FisherMetric:
    """How the Fisher trust region is solved: H + ``damping``·I, CG to ``residual_tol`` (rᵀr)
    or ``iterations``."""

    damping: float = 1e-3
    iterations: int = 25
    residual_tol: float = 1e-12


def _mean_jvp(mean: PolicyMean, phi: torch.Tensor, obs: torch.Tensor, u: torch.Tensor):
    """J_μ(φ)·u [N, a] by the double-vjp trick; differentiable in φ and u (``phi`` requires
    grad)."""
    out = mean(phi, obs)
    dummy = torch.zeros_like(out, requires_grad=True)
    (vjp,) = torch.autograd.grad(out, phi, dummy, create_graph=True)
    (jvp,) = torch.autograd.grad(vjp, dummy, u, create_graph=True)
    return out, jvp


def fisher_bilinear(
    mean: PolicyMean,
    log_std_size: int,
    phi: torch.Tensor,
    obs: torch.Tensor,
    u: torch.Tensor,
    v: torch.Tensor,
    damping: float,
) -> torch.Tensor:
    """uᵀ(H(φ) + damping·I)v, differentiable in φ (``phi`` requires grad); φ starts with log σ."""
    _, ju = _mean_jvp(mean, phi, obs, u)
    _, jv = _mean_jvp(mean, phi, obs, v)
    inv_var = torch.exp(-2.0 * phi[:log_std_size])
    mean_part = (ju * jv * inv_var).sum(-1).mean()
    log_std_part = 2.0 * u[:log_std_size].dot(v[:log_std_size])
    return mean_part + log_std_part + damping * u.dot(v)


def fisher_vector_product(
    mean: PolicyMean,
    log_std_size: int,
    phi: torch.Tensor,
    obs: torch.Tensor,
    u: torch.Tensor,
    damping: float,
) -> torch.Tensor:
    """(H(φ) + damping·I)u, a constant (no graph)."""
    with torch.enable_grad():
        point = phi.detach().requires_grad_(True)
        out, ju = _mean_jvp(mean, point, obs, u.detach())
        inv_var = torch.exp(-2.0 * point[:log_std_size]).detach()
        weights = (ju * inv_var).detach() / out.shape[0]
        (product,) = torch.autograd.grad(out, point, weights)
    log_std = torch.zeros_like(u)
    log_std[:log_std_size] = 2.0 * u[:log_std_size]
    return product + log_std + damping * u


class _FisherSolve(torch.autograd.Function):
    """v = (H(φ) + damping·I)⁻¹ rhs with the implicit-function backward."""

    @staticmethod
    def forward(ctx: Any, phi, rhs, mean, log_std_size, obs, metric):  # type: ignore[override]
        def matvec(x: torch.Tensor) -> torch.Tensor:
            return fisher_vector_product(mean, log_std_size, phi, obs, x, metric.damping)

        v = conjugate_gradient(
            matvec, rhs.detach(), iterations=metric.iterations, residual_tol=metric.residual_tol
        )
        ctx.save_for_backward(phi, v)
        ctx.solve = (matvec, mean, log_std_size, obs, metric)
        return v

    @staticmethod
    def backward(ctx: Any, v_bar: torch.Tensor):  # type: ignore[override]
        phi, v = ctx.saved_tensors
        matvec, mean, log_std_size, obs, metric = ctx.solve
        u = conjugate_gradient(
            matvec, v_bar, iterations=metric.iterations, residual_tol=metric.residual_tol
        )
        with torch.enable_grad():
            point = phi.detach().requires_grad_(True)
            form = fisher_bilinear(mean, log_std_size, point, obs, u, v, metric.damping)
            (d_phi,) = torch.autograd.grad(form, point)
        return -d_phi, u, None, None, None, None


def fisher_solve(
    mean: PolicyMean,
    log_std_size: int,
    phi: torch.Tensor,
    obs: torch.Tensor,
    rhs: torch.Tensor,
    metric: FisherMetric,
) -> torch.Tensor:
    """(H(φ) + damping·I)⁻¹ rhs by CG, differentiable in φ and ``rhs``."""
    return _FisherSolve.apply(phi, rhs, mean, log_std_size, obs, metric)
