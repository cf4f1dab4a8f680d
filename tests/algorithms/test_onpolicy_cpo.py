"""The CPO step against an independent cvxpy solve of the same QP (float64, ≤ 1e-5); the line
search inside ``cpo_update`` on a tiny policy whose full step breaks the KL or the cost; and the
cross-fitted estimator on batches whose noise fools the in-sample one."""

from __future__ import annotations

import math
import warnings

import cvxpy as cp
import numpy as np
import pytest
import torch

from safemeta.algorithms.onpolicy.cpo import (
    CostGradientAverage,
    CPOCase,
    cpo_accept,
    cpo_dual,
    cpo_step,
)
from safemeta.algorithms.onpolicy.updates import PolicyBatch, TrustRegionSettings, cpo_update

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


@pytest.mark.parametrize("b", [-0.05, 0.0, 0.05])
def test_vanishing_cost_gradient_takes_trpo_below_the_limit_and_recovers_above(b: float) -> None:
    v, w = torch.tensor([1.0, 2.0], dtype=D), torch.tensor([0.3, -0.1], dtype=D)
    q = v.dot(v)  # H = I
    for s in (0.0, -1e-3):  # below detection; a cross-fitted s can be negative
        x, dual = cpo_step(
            v,
            w,
            q,
            torch.tensor(0.2, dtype=D),
            torch.tensor(s, dtype=D),
            torch.tensor(b, dtype=D),
            0.01,
        )
        if b < 0.0:  # feasible: the TRPO step to the ball's boundary
            assert dual.case is CPOCase.NO_COST_GRADIENT
            torch.testing.assert_close(x, math.sqrt(2 * 0.01 / float(q)) * v)
        else:  # on or over the limit: the recovery direction, never a zero or NaN step
            assert dual.case is CPOCase.INFEASIBLE_RECOVERY
            torch.testing.assert_close(x, -w)


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


# -- the line search inside cpo_update ----------------------------------------------------------


class _TinyPolicy(torch.nn.Module):
    """Linear mean (``obs_dim`` obs -> 1 action) and a state-independent log σ, in float64; like
    ``OnPolicyModule`` it returns log σ as ``log_std.expand_as(mean)``."""

    def __init__(self, obs_dim: int = 2) -> None:
        super().__init__()
        self.log_std = torch.nn.Parameter(torch.tensor([-0.2], dtype=D))
        self.lin = torch.nn.Linear(obs_dim, 1).to(D)
        with torch.no_grad():
            self.lin.weight.zero_()
            self.lin.weight[0, :2] = torch.tensor([0.3, -0.2], dtype=D)
            self.lin.bias.fill_(0.1)

    def policy_parameters(self) -> list[torch.nn.Parameter]:
        return [self.log_std, self.lin.weight, self.lin.bias]

    def distribution(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.lin(obs)
        return mean, self.log_std.expand_as(mean)


def _unpack(theta: torch.Tensor, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, log σ) of the tiny policy at flat θ = [log σ, w, bias] (its parameter order)."""
    mean = obs @ theta[1:-1].unsqueeze(-1) + theta[-1]
    return mean, theta[0].expand_as(mean)


class _Reference:
    """KL and IS surrogates of the tiny policy at any θ, written with torch.distributions, and
    the cross-fitted CPO step from an explicit Fisher and direct solves. Rows [0, n/2) fit the
    step; surrogate changes are scored on rows [n/2, n) unless ``rows`` says otherwise."""

    def __init__(self, policy: _TinyPolicy, batch, advantages, cost_advantages) -> None:
        self.obs, self.actions = batch.obs, batch.actions
        self.adv, self.cadv = advantages, cost_advantages
        n = batch.obs.shape[0]
        self.fit, self.held = slice(0, n // 2), slice(n // 2, n)
        self.theta0 = torch.cat([p.detach().reshape(-1) for p in policy.policy_parameters()])
        self.old = self._normal(self.theta0)

    def _normal(self, theta: torch.Tensor, rows: slice = slice(None)) -> torch.distributions.Normal:
        mean, log_std = _unpack(theta, self.obs[rows])
        return torch.distributions.Normal(mean, log_std.exp())

    def kl(self, theta: torch.Tensor) -> torch.Tensor:
        new = self._normal(theta)
        return torch.distributions.kl_divergence(self.old, new).sum(-1).mean()

    def _ratio(self, theta: torch.Tensor, rows: slice) -> torch.Tensor:
        logp = self._normal(theta, rows).log_prob(self.actions[rows]).sum(-1)
        old = self._normal(self.theta0, rows).log_prob(self.actions[rows]).sum(-1)
        return torch.exp(logp - old.detach())

    def change(self, theta: torch.Tensor, advantages: torch.Tensor, rows: slice | None = None):
        """:math:`E[(\\rho_\\theta - 1) A]` over ``rows`` (default: the held-out half)."""
        rows = self.held if rows is None else rows
        return float(((self._ratio(theta, rows) - 1.0) * advantages[rows]).mean())

    def fisher(self, damping: float) -> torch.Tensor:
        h = torch.autograd.functional.hessian(self.kl, self.theta0)
        return h + damping * torch.eye(h.shape[0], dtype=D)

    def gradient(self, advantages: torch.Tensor, rows: slice) -> torch.Tensor:
        theta = self.theta0.clone().requires_grad_(True)
        surrogate = (self._ratio(theta, rows) * advantages[rows]).mean()
        return torch.autograd.grad(surrogate, theta)[0]

    def cross_fitted(self, damping: float) -> dict[str, torch.Tensor]:
        """q, r, s cross-fitted between the halves, and s in-sample on the whole batch."""
        h = self.fisher(damping)
        g_f, g_e = self.gradient(self.adv, self.fit), self.gradient(self.adv, self.held)
        a_f, a_e = self.gradient(self.cadv, self.fit), self.gradient(self.cadv, self.held)
        a = self.gradient(self.cadv, slice(None))
        solve = torch.linalg.solve
        return {
            "q": torch.clamp(g_e @ solve(h, g_f), min=0.0),
            "r": 0.5 * (g_f @ solve(h, a_e) + g_e @ solve(h, a_f)),
            "s": torch.clamp(a_f @ solve(h, a_e), min=0.0),
            "s_in_sample": a @ solve(h, a),
            "v_f": solve(h, g_f),
            "w_f": solve(h, a_f),
            "h": h,
        }

    def full_step(self, b: float, delta: float, damping: float) -> torch.Tensor:
        """The fit half's CPO direction (dual from the cross-fitted q, r, s), on ½xᵀHx = δ."""
        c = self.cross_fitted(damping)
        direction, _ = cpo_step(
            c["v_f"], c["w_f"], c["q"], c["r"], c["s"], torch.tensor(b, dtype=D), delta
        )
        return torch.sqrt(2 * delta / (direction @ c["h"] @ direction)) * direction


def _tiny_batch(seed: int, n: int = 4000, obs_dim: int = 2):
    """Actions sampled from the tiny policy at Gaussian states."""
    gen = torch.Generator().manual_seed(seed)
    policy = _TinyPolicy(obs_dim)
    obs = torch.randn(n, obs_dim, generator=gen, dtype=D)
    with torch.no_grad():
        mean, log_std = policy.distribution(obs)
        actions = mean + log_std.exp() * torch.randn(n, 1, generator=gen, dtype=D)
    return policy, obs, actions, mean, float(policy.log_std.detach().exp())


def _policy_batch(obs, actions) -> PolicyBatch:
    zeros = torch.zeros(obs.shape[0], dtype=D)
    return PolicyBatch(obs, actions, zeros, zeros, zeros, zeros)


def _flat(policy: _TinyPolicy) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in policy.policy_parameters()])


def _assert_first_acceptable_fraction(ref, theta1, full, fraction, decay) -> None:
    """θ1 = θ0 + fraction·full with fraction = decay^j, j ≥ 1 (the full step was shortened)."""
    j = round(math.log(fraction) / math.log(decay))
    assert j >= 1 and fraction == pytest.approx(decay**j, rel=1e-12)
    np.testing.assert_allclose(theta1, ref.theta0 + fraction * full, atol=1e-5)  # CG vs solve


def test_cpo_update_shortens_a_step_whose_true_kl_breaks_the_trust_region() -> None:
    # Reward for actions near the mean: the step narrows σ. The quadratic KL model puts the full
    # step on ½xᵀHx = δ, but the KL of a shrinking σ grows faster than quadratically.
    policy, obs, actions, mean0, sigma0 = _tiny_batch(0)
    adv = -((actions - mean0).squeeze(-1).pow(2) - sigma0**2)
    cadv = 0.1 * (actions - mean0).squeeze(-1) / sigma0  # a cost gradient, far from binding
    b, settings = -1.0, TrustRegionSettings(max_kl=0.2, cg_iterations=10, cg_damping=0.0)
    ref = _Reference(policy, _policy_batch(obs, actions), adv, cadv)
    full = ref.full_step(b, settings.max_kl, settings.cg_damping)
    assert float(ref.kl(ref.theta0 + full)) > 1.2 * settings.max_kl  # the full step breaks KL

    metrics = cpo_update(policy, _policy_batch(obs, actions), adv, cadv, b, settings)
    theta1 = _flat(policy)
    assert metrics["line_search_accepted"] == 1.0
    fraction = metrics["step_fraction"]
    _assert_first_acceptable_fraction(ref, theta1, full, fraction, settings.line_search_decay)
    assert float(ref.kl(theta1)) <= settings.max_kl  # the accepted step is inside
    assert metrics["kl"] == pytest.approx(float(ref.kl(theta1)), rel=1e-9)
    longer = ref.theta0 + (fraction / settings.line_search_decay) * full
    assert float(ref.kl(longer)) > settings.max_kl  # ...and the previous candidate was not
    assert ref.change(theta1, adv) > 0.0  # the reward surrogate still improves


def test_cpo_update_shortens_a_step_whose_cost_surrogate_breaks_the_limit() -> None:
    # Cost (a - μ_old)²: its gradient has no mean component, so the linear model prices the
    # reward's mean shift at zero cost; the IS surrogate charges ≈ Δμ², over the slack -b.
    policy, obs, actions, mean0, sigma0 = _tiny_batch(1)
    adv = (actions - mean0).squeeze(-1)
    cadv = (actions - mean0).squeeze(-1).pow(2) - sigma0**2
    b, settings = -0.005, TrustRegionSettings(max_kl=0.02, cg_iterations=10, cg_damping=0.1)
    ref = _Reference(policy, _policy_batch(obs, actions), adv, cadv)
    full = ref.full_step(b, settings.max_kl, settings.cg_damping)
    assert float(ref.kl(ref.theta0 + full)) <= settings.max_kl  # KL is not the problem...
    assert ref.change(ref.theta0 + full, cadv) > 2 * -b  # ...the cost surrogate is

    metrics = cpo_update(policy, _policy_batch(obs, actions), adv, cadv, b, settings)
    theta1 = _flat(policy)
    assert metrics["line_search_accepted"] == 1.0
    fraction = metrics["step_fraction"]
    _assert_first_acceptable_fraction(ref, theta1, full, fraction, settings.line_search_decay)
    assert ref.change(theta1, cadv) <= -b  # the accepted step respects the limit
    assert metrics["cost_surrogate_change"] == pytest.approx(ref.change(theta1, cadv), rel=1e-9)
    longer = ref.theta0 + (fraction / settings.line_search_decay) * full
    assert ref.change(longer, cadv) > -b  # ...and the previous candidate did not
    assert ref.change(theta1, adv) >= 0.0


@pytest.mark.parametrize("which", ["kl", "cost"])
def test_cpo_update_leaves_parameters_unchanged_when_no_candidate_passes(which: str) -> None:
    # The same two instances with only the full step to try: it is rejected, θ stays θ_old.
    policy, obs, actions, mean0, sigma0 = _tiny_batch(0 if which == "kl" else 1)
    if which == "kl":
        adv = -((actions - mean0).squeeze(-1).pow(2) - sigma0**2)
        cadv = 0.1 * (actions - mean0).squeeze(-1) / sigma0
        b, delta = -1.0, 0.2
    else:
        adv = (actions - mean0).squeeze(-1)
        cadv = (actions - mean0).squeeze(-1).pow(2) - sigma0**2
        b, delta = -0.005, 0.02
    damping = 0.0 if which == "kl" else 0.1
    settings = TrustRegionSettings(
        max_kl=delta, cg_iterations=10, cg_damping=damping, line_search_steps=1
    )
    before = [p.detach().clone() for p in policy.policy_parameters()]
    metrics = cpo_update(policy, _policy_batch(obs, actions), adv, cadv, b, settings)
    assert metrics["line_search_accepted"] == 0.0 and metrics["step_fraction"] == 0.0
    assert all(torch.equal(p, q) for p, q in zip(policy.policy_parameters(), before, strict=True))
    assert metrics["kl"] == 0.0 and metrics["cost_surrogate_change"] == 0.0


# -- the cross-fitted estimator -----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_noise_only_cost_gradient_is_not_mistaken_for_a_reachable_cut(seed: int) -> None:
    # Costs independent of the action: the true cost gradient is 0, but the batch's own noise
    # gives an in-sample s ≈ dim·Var(A_C)/N (101 parameters here), large enough that the in-sample
    # dual calls the violated constraint fixable (INFEASIBLE_DUAL) and plans a cut into noise.
    policy, obs, actions, mean0, sigma0 = _tiny_batch(seed, n=4000, obs_dim=100)
    adv = (actions - mean0).squeeze(-1) / sigma0
    cadv = torch.randn(4000, generator=torch.Generator().manual_seed(100 + seed), dtype=D)
    batch = _policy_batch(obs, actions)
    ref = _Reference(policy, batch, adv, cadv)
    settings = TrustRegionSettings(max_kl=0.01, cg_iterations=30, cg_damping=0.1)
    c = ref.cross_fitted(settings.cg_damping)
    b = 0.5 * float(torch.sqrt(2 * settings.max_kl * c["s_in_sample"]))  # over the limit
    g, a = ref.gradient(adv, slice(None)), ref.gradient(cadv, slice(None))
    solve = torch.linalg.solve
    in_sample = cpo_dual(
        g @ solve(c["h"], g), g @ solve(c["h"], a), c["s_in_sample"], torch.tensor(b, dtype=D), 0.01
    )
    assert in_sample.case is CPOCase.INFEASIBLE_DUAL  # what the in-sample estimator concludes

    metrics = cpo_update(policy, batch, adv, cadv, b, settings)
    assert metrics["cpo_s_in_sample"] == pytest.approx(float(c["s_in_sample"]), rel=1e-4)
    assert metrics["cpo_s"] == pytest.approx(float(c["s"]), rel=1e-4, abs=1e-9)
    assert metrics["cpo_s"] <= 0.1 * metrics["cpo_s_in_sample"]  # ≈ 0: no real cost gradient
    # ...so no feasible point is reachable: the recovery step (also when s comes out ≤ 0 and
    # would read "no cost gradient": over the limit, some step against a is still tried).
    assert CPOCase(int(metrics["cpo_case"])) is CPOCase.INFEASIBLE_RECOVERY


def test_line_search_rejects_a_step_whose_held_out_cost_breaks_the_limit() -> None:
    # The fit half sees no cost at all (A_C = 0 there): its step is the TRPO step, free of cost
    # in-sample. On the held-out half the cost grows with the action, as the reward does, so the
    # full step overshoots the slack -b there and must be shortened; with one try, rejected.
    policy, obs, actions, mean0, sigma0 = _tiny_batch(2)
    adv = (actions - mean0).squeeze(-1) / sigma0
    cadv = adv.clone()
    cadv[: len(cadv) // 2] = 0.0
    b, settings = -0.02, TrustRegionSettings(max_kl=0.02, cg_iterations=10, cg_damping=0.1)
    batch = _policy_batch(obs, actions)
    ref = _Reference(policy, batch, adv, cadv)
    full = ref.full_step(b, settings.max_kl, settings.cg_damping)
    assert ref.change(ref.theta0 + full, cadv, rows=ref.fit) == 0.0  # in-sample: no cost
    assert ref.change(ref.theta0 + full, cadv) > -b  # held out: over the slack

    metrics = cpo_update(policy, batch, adv, cadv, b, settings)
    theta1 = _flat(policy)
    assert metrics["line_search_accepted"] == 1.0
    _assert_first_acceptable_fraction(
        ref, theta1, full, metrics["step_fraction"], settings.line_search_decay
    )
    assert ref.change(theta1, cadv) <= -b
    assert metrics["cost_surrogate_change"] == pytest.approx(ref.change(theta1, cadv), rel=1e-9)

    policy, *_ = _tiny_batch(2)
    one_try = TrustRegionSettings(max_kl=0.02, cg_iterations=10, line_search_steps=1)
    metrics = cpo_update(policy, batch, adv, cadv, b, one_try)
    assert metrics["line_search_accepted"] == 0.0
    assert torch.equal(_flat(policy), ref.theta0)


def test_cost_gradient_average_is_bias_corrected_and_keeps_the_halves_apart() -> None:
    average = CostGradientAverage(beta=0.5)
    fit, held = average(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 4.0]))
    assert fit.tolist() == [2.0, 0.0] and held.tolist() == [0.0, 4.0]  # first call: the input
    fit, held = average(torch.tensor([4.0, 0.0]), torch.tensor([0.0, 0.0]))
    # m₁ = 0.5·2 = 1, m₂ = 0.5·1 + 0.5·4 = 2.5; bias-corrected m₂ / (1 − 0.5²) = 10/3
    assert fit.tolist() == pytest.approx([2.5 / 0.75, 0.0])
    assert held.tolist() == pytest.approx([0.0, 1.0 / 0.75])
    # Constant true gradient plus independent noise: the averaged cross-fitted s concentrates.
    gen = torch.Generator().manual_seed(0)
    true = torch.full((50,), 0.1, dtype=D)
    spread = {}
    for beta in (0.0, 0.8):
        average, values = CostGradientAverage(beta), []
        for _ in range(400):
            a_f, a_e = (true + torch.randn(50, generator=gen, dtype=D) for _ in range(2))
            fit, held = average(a_f, a_e)
            values.append(float(fit @ held))
        spread[beta] = float(np.std(values[50:]))
    assert spread[0.8] < 0.3 * spread[0.0]
