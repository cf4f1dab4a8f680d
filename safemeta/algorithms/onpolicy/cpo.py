"""The CPO step (Achiam et al. 2017; Eq. 3-4 of Meta-CPO) from conjugate-gradient quantities.

The trust-region problem with one linear cost constraint (Eq. 3),

.. math:: \\max_x\\; g^T x \\quad\\text{s.t.}\\quad \\tfrac12 x^T H x \\le \\delta,\\qquad
          b + a^T x \\le 0,

with g the reward-surrogate gradient, a the cost-surrogate gradient and b = J_C - d, is solved via
its two-variable dual. With v = H⁻¹g and w = H⁻¹a (conjugate gradient), q = gᵀv, r = gᵀw,
s = aᵀw, the Lagrangian L = gᵀx − λ(½xᵀHx − δ) − ν(b + aᵀx) gives x* = (v − ν w)/λ and the dual

.. math:: \\min_{\\lambda>0,\\nu\\ge 0}\\; D(\\lambda,\\nu) =
          \\frac{q - 2\\nu r + \\nu^2 s}{2\\lambda} + \\lambda\\delta - \\nu b,
          \\qquad \\nu^*(\\lambda) = \\max\\Bigl(0, \\frac{\\lambda b + r}{s}\\Bigr).

Sign note: with g the gradient of the quantity to *maximise*, ν* uses ``+ r``; formulas written for
the gradient of a loss (−g) carry ``− r``. When the QP is infeasible (b > 0 and b²/s > 2δ) the
recovery step of Eq. 4 only decreases the cost: x = −sqrt(2δ/s)·w.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import torch

_EPS = 1e-8


class CPOCase(IntEnum):
    """Which branch produced the step (logged as a learner metric)."""

    INFEASIBLE_RECOVERY = 0
    """b > 0 and the trust region holds no feasible point: Eq. 4, decrease cost only."""
    INFEASIBLE_DUAL = 1
    """b ≥ 0 but the trust region holds feasible points: dual solve (restores feasibility)."""
    FEASIBLE_DUAL = 2
    """b < 0 and the constraint boundary cuts the trust region: dual solve (ν may be 0)."""
    FEASIBLE_TRPO = 3
    """b < 0 and the whole trust region is feasible: the TRPO step."""
    NO_COST_GRADIENT = 4
    """The cost gradient vanishes (s ≈ 0): TRPO step if feasible, no step otherwise."""


@dataclass(frozen=True)
class CPODual:
    """Solution of the dual: multipliers λ (trust region) and ν (cost), and the case."""

    lam: torch.Tensor
    nu: torch.Tensor
    case: CPOCase


Bound = torch.Tensor | None  # a region end of λ; None is +∞


def _project(value: torch.Tensor, low: torch.Tensor, high: Bound) -> torch.Tensor:
    """``value`` projected onto [low, high] (high first: a plain clamp returns high when
    low > high). Tensor ends carry the gradient when λ* sits on a region's end."""
    if high is not None:
        value = torch.minimum(value, high)
    return torch.maximum(value, low)


def _regions(r: torch.Tensor, b: torch.Tensor) -> tuple[tuple[torch.Tensor, Bound], ...]:
    """λ ≥ 0 split at λ = −r/b into region "a" (λb + r > 0, ν > 0) and region "b" (ν = 0), ends
    as tensors of r and b (so dλ*/d(r, b) is right when λ* sits on the split). With b = 0 there
    is one region, [0, ∞): "a" if r > 0, else "b"."""
    zero = torch.zeros_like(r)
    if b.item() == 0.0:
        return ((zero, None),)
    split = -r / b
    if b.item() > 0.0:
        return (split.clamp_min(0.0), None), (zero, split)
    return (zero, split), (split.clamp_min(0.0), None)


def cpo_dual(
    q: torch.Tensor, r: torch.Tensor, s: torch.Tensor, b: torch.Tensor, delta: float
) -> CPODual:
    """Solve the CPO dual in closed form (Achiam et al. 2017, Theorem 2 / appendix 10.2).

    With A = q − r²/s and B = 2δ − b²/s, on the region where ν > 0 (λb + r > 0)
    :math:`D = A/(2\\lambda) + \\lambda B/2 - rb/s`, minimised at :math:`\\lambda_a = \\sqrt{A/B}`;
    where ν = 0 (λb + r ≤ 0) :math:`D = q/(2\\lambda) + \\lambda\\delta`, minimised at
    :math:`\\lambda_b = \\sqrt{q/(2\\delta)}`. Each minimiser is projected onto its region and the
    smaller D wins; then ν = max(0, (λb + r)/s). Every branch is a differentiable function of
    (q, r, s, b): the branch and the region are picked by value, the region ends are tensors.
    """
    if s.item() <= _EPS:
        lam = torch.sqrt(q.clamp_min(_EPS) / (2.0 * delta))
        return CPODual(lam, torch.zeros_like(q), CPOCase.NO_COST_GRADIENT)
    big_b = 2.0 * delta - b * b / s
    if big_b.item() < 0.0:
        if b.item() >= 0.0:
            return CPODual(
                torch.sqrt(s / (2.0 * delta)), torch.zeros_like(q), CPOCase.INFEASIBLE_RECOVERY
            )
        return CPODual(
            torch.sqrt(q.clamp_min(_EPS) / (2.0 * delta)),
            torch.zeros_like(q),
            CPOCase.FEASIBLE_TRPO,
        )
    case = CPOCase.INFEASIBLE_DUAL if b.item() >= 0.0 else CPOCase.FEASIBLE_DUAL
    big_a = (q - r * r / s).clamp_min(_EPS)
    big_b = big_b.clamp_min(_EPS)

    def dual_a(lam: torch.Tensor) -> torch.Tensor:
        return big_a / (2.0 * lam) + lam * big_b / 2.0 - r * b / s

    def dual_b(lam: torch.Tensor) -> torch.Tensor:
        return q / (2.0 * lam) + lam * delta

    minimisers = (
        (torch.sqrt(big_a / big_b), dual_a),
        (torch.sqrt(q.clamp_min(_EPS) / (2.0 * delta)), dual_b),
    )
    regions = _regions(r, b)
    if len(regions) == 1:  # b = 0: the sign of r alone decides whether ν > 0
        minimisers = minimisers[:1] if r.item() > 0.0 else minimisers[1:]
    candidates = []
    for (low, high), (unconstrained, dual) in zip(regions, minimisers, strict=True):
        if high is not None and (high.item() < low.item() or high.item() <= 0.0):
            continue  # empty region
        lam = _project(unconstrained, low.clamp_min(_EPS), high).clamp_min(_EPS)
        candidates.append((dual(lam).item(), lam))
    lam = min(candidates, key=lambda c: c[0])[1]
    nu = torch.clamp((lam * b + r) / s, min=0.0)
    return CPODual(lam, nu, case)


def cpo_step(
    v: torch.Tensor,
    w: torch.Tensor,
    q: torch.Tensor,
    r: torch.Tensor,
    s: torch.Tensor,
    b: torch.Tensor,
    delta: float,
) -> tuple[torch.Tensor, CPODual]:
    """The CPO parameter step x* from v = H⁻¹g, w = H⁻¹a and q, r, s, b, δ.

    .. math:: x^* = \\frac{1}{\\lambda^*}(v - \\nu^* w)\\quad\\text{(Eq. 3)},\\qquad
              x^* = -\\sqrt{2\\delta/s}\\; w\\quad\\text{(Eq. 4, infeasible)}

    With ``NO_COST_GRADIENT`` (s below detection, e.g. a cross-fitted s ≤ 0) and b ≥ 0 the
    dual says nothing about lowering the cost: the step is the recovery direction −w itself,
    case ``INFEASIBLE_RECOVERY``, for the caller to scale to its trust region and the line search
    to reject if the cost does not fall.
    """
    dual = cpo_dual(q, r, s, b, delta)
    if dual.case is CPOCase.INFEASIBLE_RECOVERY:
        return -torch.sqrt(2.0 * delta / s) * w, dual
    if dual.case is CPOCase.NO_COST_GRADIENT and b.item() >= 0.0:
        return -w, CPODual(dual.lam, dual.nu, CPOCase.INFEASIBLE_RECOVERY)
    return (v - dual.nu * w) / dual.lam, dual


def cpo_accept(
    *,
    kl: float,
    max_kl: float,
    reward_improvement: float,
    cost_change: float,
    b: float,
    case: CPOCase,
    kl_slack: float = 1.0,
) -> bool:
    """CPO's line-search test for a candidate step.

    Accept when the KL is in the trust region, the cost surrogate respects the limit
    :math:`\\Delta L_C \\le \\max(-b, 0)` (in a recovery step: it must not increase), and, when
    the step was solved as a feasible problem, the reward surrogate does not decrease.
    """
    if not math.isfinite(kl) or kl > kl_slack * max_kl:
        return False
    if cost_change > max(-b, 0.0):
        return False
    if case in (CPOCase.INFEASIBLE_RECOVERY, CPOCase.INFEASIBLE_DUAL):
        return True
    return reward_improvement >= 0.0


def cross_fitted_products(
    g_fit: torch.Tensor,
    g_held: torch.Tensor,
    a_fit: torch.Tensor,
    a_held: torch.Tensor,
    v_fit: torch.Tensor,
    w_fit: torch.Tensor,
    w_held: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q, r, s of the dual from two independent halves F and E of a batch (same H).

    .. math:: q = g_E^T H^{-1} g_F,\\quad
              r = \\tfrac12 (g_F^T H^{-1} a_E + g_E^T H^{-1} a_F),\\quad
              s = \\tfrac12 (a_F^T H^{-1} a_E + a_E^T H^{-1} a_F)

    with v_F = H⁻¹g_F, w_F = H⁻¹a_F, w_E = H⁻¹a_E. Each half's gradient is the true one plus
    independent noise, so these are unbiased for q, r, s of the true gradients; the in-sample
    :math:`a^T H^{-1} a` adds the noise's own :math:`\\mathrm{tr}(H^{-1}\\Sigma)/N`. A cross
    product can come out negative; q and s are clamped at 0 (s = 0 reads "no cost gradient").
    """
    q = g_held.dot(v_fit).clamp_min(0.0)
    r = 0.5 * (g_fit.dot(w_held) + g_held.dot(w_fit))
    s = (0.5 * (a_fit.dot(w_held) + a_held.dot(w_fit))).clamp_min(0.0)
    return q, r, s


class CostGradientAverage:
    """Exponential averages of the two halves' cost gradients a_F, a_E over updates.

    A 4,000-step batch estimates a with noise ≈ 25× its signal on PointGoal1 (cross-fitted
    s ≈ 0.015 against an in-sample 0.4), so one batch's −w points mostly into noise. Successive
    policies differ by KL ≤ δ, so their cost gradients are close: averaging the last ≈ 1/(1 − β)
    batches (bias-corrected, as Adam's moments) divides the noise variance by ≈ (1 + β)/(1 − β)
    at a small staleness bias. The halves are averaged separately, so F and E stay independent
    and the cross-fitting stays unbiased. ``beta = 0`` keeps each batch's own gradients.
    """

    def __init__(self, beta: float) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"cost gradient averaging beta={beta} must be in [0, 1)")
        self.beta = beta
        self.fit: torch.Tensor | None = None
        self.held: torch.Tensor | None = None
        self.updates = 0

    def __call__(
        self, a_fit: torch.Tensor, a_held: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold in this batch's (a_F, a_E); return the bias-corrected averages."""
        if self.fit is None or self.fit.shape != a_fit.shape:
            self.fit, self.held, self.updates = torch.zeros_like(a_fit), torch.zeros_like(a_held), 0
        self.fit = self.beta * self.fit + (1.0 - self.beta) * a_fit.detach()
        self.held = self.beta * self.held + (1.0 - self.beta) * a_held.detach()
        self.updates += 1
        correction = 1.0 - self.beta**self.updates
        return self.fit / correction, self.held / correction

    def get_state(self) -> dict:
        return {"fit": self.fit, "held": self.held, "updates": self.updates}

    def set_state(self, state: dict) -> None:
        self.fit, self.held, self.updates = state["fit"], state["held"], int(state["updates"])
