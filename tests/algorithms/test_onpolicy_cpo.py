"""The CPO step against an independent cvxpy solve of the same QP (float64, ≤ 1e-5)."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
import torch

from safemeta.algorithms.onpolicy.cpo import CPOCase, cpo_accept, cpo_dual, cpo_step

D = torch.float64
N = 6


def _instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(N, N))
    h = m @ m.T / N + 0.3 * np.eye(N)
    g = rng.normal(size=N)
    a = rng.normal(size=N)
    delta = float(rng.uniform(0.005, 0.05))
    return h, g, a, delta


def _closed_form(h: np.ndarray, g: np.ndarray, a: np.ndarray, b: float, delta: float):
    ht = torch.tensor(h, dtype=D)
    gt, at = torch.tensor(g, dtype=D), torch.tensor(a, dtype=D)
    v, w = torch.linalg.solve(ht, gt), torch.linalg.solve(ht, at)
    x, dual = cpo_step(v, w, gt @ v, gt @ w, at @ w, torch.tensor(b, dtype=D), delta)
    return x.numpy(), dual


def _trust_region(x: cp.Variable, h: np.ndarray, delta: float) -> cp.Constraint:
    """½ xᵀHx ≤ δ written as the second-order cone ‖Lᵀx‖ ≤ sqrt(2δ) (H = LLᵀ)."""
    return cp.norm(np.linalg.cholesky(h).T @ x, 2) <= np.sqrt(2 * delta)


def _solve(problem: cp.Problem) -> None:
    # Clarabel at 1e-11 often flags "optimal_inaccurate" while x is accurate to ~1e-8; the
    # agreement assertions below are the real check.
    tol = {k: 1e-11 for k in ("tol_gap_abs", "tol_gap_rel", "tol_feas", "tol_ktratio")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver=cp.CLARABEL, max_iter=500, **tol)
    assert problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


def _cvxpy_qp(h, g, a, b, delta) -> np.ndarray:
    x = cp.Variable(N)
    problem = cp.Problem(cp.Maximize(g @ x), [_trust_region(x, h, delta), b + a @ x <= 0])
    _solve(problem)
    return x.value


def _cvxpy_recovery(h, a, delta) -> np.ndarray:
    x = cp.Variable(N)
    problem = cp.Problem(cp.Minimize(a @ x), [_trust_region(x, h, delta)])
    _solve(problem)
    return x.value


def _trpo_step(h, g, delta) -> np.ndarray:
    v = np.linalg.solve(h, g)
    return np.sqrt(2 * delta / (g @ v)) * v


def _bound(h, a, delta) -> float:
    """sqrt(2δ s): the largest cost decrease the trust region allows."""
    return float(np.sqrt(2 * delta * (a @ np.linalg.solve(h, a))))


@pytest.mark.parametrize("seed", range(8))
def test_feasible_active_constraint_matches_cvxpy(seed: int) -> None:
    h, g, a, delta = _instance(seed)
    # Feasible now (b < 0) but the TRPO step would break the constraint: it binds.
    x_trpo = _trpo_step(h, g, delta)
    if a @ x_trpo <= 0:  # make the TRPO step increase the cost
        a = -a
    b = -0.3 * float(a @ x_trpo)  # the TRPO step would end at 0.7·aᵀx > 0: violated
    x, dual = _closed_form(h, g, a, b, delta)
    assert dual.case is CPOCase.FEASIBLE_DUAL and float(dual.nu) > 0
    np.testing.assert_allclose(x, _cvxpy_qp(h, g, a, b, delta), atol=1e-5)
    assert b + a @ x == pytest.approx(0.0, abs=1e-9)  # on the constraint boundary


@pytest.mark.parametrize("seed", range(8))
def test_infeasible_but_recoverable_matches_cvxpy(seed: int) -> None:
    h, g, a, delta = _instance(100 + seed)
    b = 0.5 * _bound(h, a, delta)  # violated now; the trust region still holds feasible points
    x, dual = _closed_form(h, g, a, b, delta)
    assert dual.case is CPOCase.INFEASIBLE_DUAL
    np.testing.assert_allclose(x, _cvxpy_qp(h, g, a, b, delta), atol=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_infeasible_recovery_step_matches_cvxpy(seed: int) -> None:
    h, g, a, delta = _instance(200 + seed)
    b = 1.5 * _bound(h, a, delta)  # no feasible point in the trust region: Eq. 4
    x, dual = _closed_form(h, g, a, b, delta)
    assert dual.case is CPOCase.INFEASIBLE_RECOVERY
    np.testing.assert_allclose(x, _cvxpy_recovery(h, a, delta), atol=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_inactive_constraint_gives_the_trpo_step(seed: int) -> None:
    h, g, a, delta = _instance(300 + seed)
    x_trpo = _trpo_step(h, g, delta)
    # Feasible with room: the TRPO step keeps b + aᵀx < 0 (ν = 0), whether or not the boundary
    # cuts the trust region.
    b = -abs(a @ x_trpo) - (0.2 if seed % 2 else 2.0) * _bound(h, a, delta)
    x, dual = _closed_form(h, g, a, b, delta)
    assert float(dual.nu) == 0.0
    assert dual.case in (CPOCase.FEASIBLE_DUAL, CPOCase.FEASIBLE_TRPO)
    np.testing.assert_allclose(x, _cvxpy_qp(h, g, a, b, delta), atol=1e-5)
    np.testing.assert_allclose(x, x_trpo, atol=1e-9)


def test_dual_region_projection_is_not_a_plain_clamp() -> None:
    # b < 0 and r < 0: region "a" (ν > 0) is [0, -r/b) = empty for λ ≥ 0 -> ν must be 0.
    q, r, s = (torch.tensor(v, dtype=D) for v in (1.0, -0.5, 1.0))
    dual = cpo_dual(q, r, s, torch.tensor(-0.01, dtype=D), 0.01)
    assert float(dual.nu) == 0.0


def test_line_search_rejects_steps_that_break_kl_or_cost() -> None:
    common = {"max_kl": 0.01, "reward_improvement": 0.1, "b": -0.05, "case": CPOCase.FEASIBLE_DUAL}
    assert cpo_accept(kl=0.005, cost_change=0.04, **common)
    assert not cpo_accept(kl=0.02, cost_change=0.0, **common)  # KL outside the trust region
    assert not cpo_accept(kl=0.005, cost_change=0.06, **common)  # cost surrogate over the limit
    assert not cpo_accept(kl=float("nan"), cost_change=0.0, **common)
    worse = {**common, "reward_improvement": -0.1}
    assert not cpo_accept(kl=0.005, cost_change=0.0, **worse)  # feasible case must not lose reward
    recovery = {**worse, "b": 0.2, "case": CPOCase.INFEASIBLE_RECOVERY}
    assert cpo_accept(kl=0.005, cost_change=-0.1, **recovery)  # recovery: cost must only drop
    assert not cpo_accept(kl=0.005, cost_change=0.01, **recovery)
