"""Meta-CPO's math on small deterministic float64 instances: one Euclidean CPO step and its
Jacobian against cvxpylayers on random programs (every case), and the exact meta-gradient of
Eq. 11 through K = 3 replayed steps against central finite differences (every case), which also
fails when any of g(φ), a(φ), b(φ) is detached."""

from __future__ import annotations

import dataclasses
import warnings

import cvxpy as cp
import numpy as np
import pytest
import torch
from cvxpylayers.torch import CvxpyLayer

from safemeta.algorithms.meta_cpo import meta_gradient
from safemeta.algorithms.meta_cpo.cpo_program import backtracking_scale, euclidean_cpo_step
from safemeta.algorithms.meta_cpo.fisher_metric import (
    FisherMetric,
    fisher_solve,
    fisher_vector_product,
)
from safemeta.algorithms.meta_cpo.functional_policy import flat_policy_logp
from safemeta.algorithms.meta_cpo.meta_gradient import (
    TaskBatch,
    TaskReplay,
    diagonal_meta_gradients,
    local_cpo_step,
    surrogates,
    task_meta_gradients,
)
from safemeta.algorithms.onpolicy.cpo import CPOCase
from safemeta.algorithms.onpolicy.distributions import diag_gaussian_kl, diag_gaussian_logp
from safemeta.algorithms.onpolicy.module import OnPolicyModule
from safemeta.algorithms.onpolicy.trust_region import flat_params
from tests.tiny_policies import float64_policy

D = torch.float64
DELTA = 0.01
K = 3
SCALES = (1.0, 0.8, 0.64)  # line-search factors: constants of the replay
# b = factor · sqrt(2δ aᵀa) puts every step in one case: |factor| > 1 leaves no cut of the
# ball (all feasible / none feasible); |factor| < 1 cuts it (with gᵀa > 0 the cut is active).
CASE_FACTORS = {
    CPOCase.FEASIBLE_TRPO: -3.0,
    CPOCase.FEASIBLE_DUAL: -0.3,
    CPOCase.INFEASIBLE_DUAL: 0.3,
    CPOCase.INFEASIBLE_RECOVERY: 3.0,
}


# ---- one step against cvxpylayers -------------------------------------------------------------


def _program_layer(n: int, recovery: bool) -> CvxpyLayer:
    """Eq. 9 with H = I (or Eq. 4's recovery program) as a differentiable cvxpy layer."""
    x, g, a, b = cp.Variable(n), cp.Parameter(n), cp.Parameter(n), cp.Parameter()
    ball = cp.sum_squares(x) <= 2 * DELTA
    if recovery:
        problem = cp.Problem(cp.Minimize(a @ x + 0 * (g @ x) + 0 * b), [ball])
    else:
        problem = cp.Problem(cp.Maximize(g @ x), [ball, b + a @ x <= 0])
    return CvxpyLayer(problem, parameters=[g, a, b], variables=[x])


@pytest.mark.parametrize("case", list(CASE_FACTORS))
@pytest.mark.parametrize("seed", [0, 1])
def test_one_step_and_its_jacobian_match_cvxpylayers(case: CPOCase, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    g = torch.tensor(rng.normal(size=n), dtype=D, requires_grad=True)
    a_value = rng.normal(size=n)
    a_value += np.sign(g.detach().numpy() @ a_value) * 0.5 * g.detach().numpy()  # gᵀa > 0
    a = torch.tensor(a_value, dtype=D, requires_grad=True)
    factor = CASE_FACTORS[case]
    b = torch.tensor(factor * np.sqrt(2 * DELTA * a_value @ a_value), dtype=D, requires_grad=True)
    x, got_case = euclidean_cpo_step(g, a, b, DELTA)
    assert got_case is case
    layer = _program_layer(n, recovery=case is CPOCase.INFEASIBLE_RECOVERY)
    with warnings.catch_warnings():  # diffcp's numpy-conversion warnings
        warnings.simplefilter("ignore")
        (x_ref,) = layer(g, a, b, solver_args={"eps": 1e-12, "max_iters": 100_000})
        jacobian_ref = [
            torch.autograd.grad(x_ref[i], (g, a, b), retain_graph=True) for i in range(n)
        ]
    np.testing.assert_allclose(x.detach(), x_ref.detach(), atol=1e-7)
    for i in range(n):  # the Jacobian row by row: d x*_i / d(g, a, b)
        ours = torch.autograd.grad(x[i], (g, a, b), retain_graph=True, allow_unused=True)
        for mine, theirs in zip(ours, jacobian_ref[i], strict=True):
            mine = torch.zeros_like(theirs) if mine is None else mine
            np.testing.assert_allclose(mine, theirs, atol=1e-6, rtol=1e-5)


# ---- the meta-gradient through K steps --------------------------------------------------------


def _policy() -> tuple[OnPolicyModule, torch.Tensor]:
    """A float64 policy (obs 3, hidden 5, act 2: 34 parameters) and a θ away from its init."""
    module = float64_policy()
    theta = flat_params(module.policy_parameters())
    theta = theta + 0.3 * torch.randn(
        theta.shape, generator=torch.Generator().manual_seed(3), dtype=D
    )
    return module, theta


def _batch(
    logp, phi: torch.Tensor, gen: torch.Generator, factor: float | None, fisher=None
) -> TaskBatch:
    """40 states and actions with reward and cost advantages correlated (gᵀa > 0); b set by
    ``factor`` relative to the trust region's reach sqrt(2δ aᵀH⁻¹a) at φ (H = I without
    ``fisher``; ``None``: b = 0.1)."""
    obs = torch.randn(40, 3, generator=gen, dtype=D)
    actions = torch.randn(40, 2, generator=gen, dtype=D)
    advantages = torch.randn(40, generator=gen, dtype=D)
    cost_advantages = 0.6 * advantages + torch.randn(40, generator=gen, dtype=D)
    batch = TaskBatch(
        obs, actions, logp(phi, obs, actions).detach(), advantages, cost_advantages, 0.1
    )
    if factor is None:
        return batch
    phi = phi.detach().requires_grad_(True)
    (a,) = torch.autograd.grad(surrogates(logp, phi, batch)[1], phi)
    w = a if fisher is None else fisher_solve(logp.mean, 2, phi, obs, a, fisher)
    b = factor * float(torch.sqrt(2 * DELTA * a.dot(w)))
    return TaskBatch(obs, actions, batch.behaviour_logp, advantages, cost_advantages, b)


def _instance(case: CPOCase, fisher: FisherMetric | None = None):
    """A task's replay: K batches, each sampled (behaviour log-probs) at the φᵏ the adaptation
    reaches, every step in ``case``, and the post-adaptation batch at φᴷ (local trust region:
    the Euclidean ball, or the KL one with ``fisher``)."""
    module, theta = _policy()
    logp = flat_policy_logp(module)
    gen = torch.Generator().manual_seed(int(case) + 10)
    batches, phi = [], theta
    for scale in SCALES:
        batch = _batch(logp, phi, gen, CASE_FACTORS[case], fisher)
        local = local_cpo_step(
            logp, phi.detach().requires_grad_(True), batch, DELTA, create_graph=False, fisher=fisher
        )
        assert local.case is case
        batches.append(batch)
        phi = (phi + scale * local.step).detach()
    post = _batch(logp, phi, gen, None)
    return logp, theta, TaskReplay(batches, SCALES, post, DELTA, fisher=fisher)


def _objectives(logp, theta, replay: TaskReplay) -> tuple[float, float]:
    """F(θ) and G(θ): the surrogates at φᴷ(θ) on the post-adaptation batch (values only, so
    the steps need no graph)."""
    with torch.enable_grad():
        phi = meta_gradient.adapt(
            logp, theta.clone().requires_grad_(True), replay, first_order=True
        )
    reward, cost = surrogates(logp, phi, replay.post_batch)
    return float(reward), float(cost)


def _finite_differences(logp, theta, replay: TaskReplay, h: float = 1e-6) -> tuple[np.ndarray, ...]:
    rows = []
    for j in range(theta.numel()):
        e = torch.zeros_like(theta)
        e[j] = h
        plus = _objectives(logp, theta + e, replay)
        minus = _objectives(logp, theta - e, replay)
        rows.append([(p - m) / (2 * h) for p, m in zip(plus, minus, strict=True)])
    return tuple(np.array(rows).T)


def _relative_error(x: torch.Tensor, ref: np.ndarray) -> float:
    return float(np.linalg.norm(x.numpy() - ref) / np.linalg.norm(ref))


@pytest.fixture(scope="module")
def instances() -> dict:
    out = {}
    for case in CASE_FACTORS:
        logp, theta, replay = _instance(case)
        out[case] = (logp, theta, replay, _finite_differences(logp, theta, replay))
    return out


@pytest.mark.parametrize("case", list(CASE_FACTORS))
def test_exact_meta_gradient_matches_finite_differences(instances, case: CPOCase) -> None:
    logp, theta, replay, (fd_reward, fd_cost) = instances[case]
    exact = task_meta_gradients(logp, theta, replay)
    assert _relative_error(exact.reward, fd_reward) <= 1e-5
    assert _relative_error(exact.cost, fd_cost) <= 1e-5
    # First order (dφᴷ/dθ = I) is the post-adaptation gradient itself, and measurably off.
    first = task_meta_gradients(logp, theta, replay, first_order=True)
    phi = exact.adapted.clone().requires_grad_(True)
    (g_post,) = torch.autograd.grad(surrogates(logp, phi, replay.post_batch)[0], phi)
    torch.testing.assert_close(first.reward, g_post, rtol=0, atol=1e-12)
    assert _relative_error(first.reward, fd_reward) > 1e-3


@pytest.mark.parametrize(
    ("detached", "case"),
    [
        ("g", CPOCase.FEASIBLE_TRPO),
        ("a", CPOCase.INFEASIBLE_RECOVERY),
        ("a", CPOCase.FEASIBLE_DUAL),
        ("b", CPOCase.FEASIBLE_DUAL),
        ("b", CPOCase.INFEASIBLE_DUAL),
    ],
)
def test_detaching_g_a_or_b_breaks_the_agreement(instances, monkeypatch, detached, case) -> None:
    # The finite-difference check above sees each dependence on φᵏ: with one of them cut, the
    # same comparison fails.
    def cut(g, a, b, delta):
        parts = {"g": g, "a": a, "b": b}
        parts[detached] = parts[detached].detach()
        return euclidean_cpo_step(parts["g"], parts["a"], parts["b"], delta)

    monkeypatch.setattr(meta_gradient, "euclidean_cpo_step", cut)
    logp, theta, replay, (fd_reward, fd_cost) = instances[case]
    broken = task_meta_gradients(logp, theta, replay)
    assert (
        max(_relative_error(broken.reward, fd_reward), _relative_error(broken.cost, fd_cost)) > 1e-3
    )


def test_diagonal_approximation_is_exact_for_one_diagonal_step_and_off_otherwise(instances) -> None:
    logp, theta, replay, (fd_reward, _) = instances[CPOCase.FEASIBLE_DUAL]
    diagonal = diagonal_meta_gradients(logp, theta, replay)
    exact = task_meta_gradients(logp, theta, replay)
    torch.testing.assert_close(diagonal.adapted, exact.adapted)
    assert _relative_error(diagonal.reward, fd_reward) > 1e-3
    # With zero-length steps every Jacobian is I: the diagonal product is exact.
    still = diagonal_meta_gradients(logp, theta, dataclasses.replace(replay, scales=(0.0,) * K))
    phi = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(surrogates(logp, phi, replay.post_batch)[0], phi)
    torch.testing.assert_close(still.reward, g)


def test_flat_policy_logp_matches_the_module() -> None:
    module, _ = _policy()
    obs = torch.randn(7, 3, dtype=D)
    actions = torch.randn(7, 2, dtype=D)
    mean, log_std = module.distribution(obs)
    expected = diag_gaussian_logp(actions, mean, log_std)
    got = flat_policy_logp(module)(flat_params(module.policy_parameters()), obs, actions)
    torch.testing.assert_close(got, expected)
    with pytest.raises(ValueError, match="34"):
        flat_policy_logp(module)(torch.zeros(3, dtype=D), obs, actions)


# ---- the KL (Fisher) trust region -------------------------------------------------------------

FISHER = FisherMetric(damping=0.1, iterations=60, residual_tol=1e-24)  # CG to convergence


def test_fisher_vector_product_is_the_hessian_of_the_mean_kl() -> None:
    module, theta = _policy()
    policy = flat_policy_logp(module)
    obs = torch.randn(40, 3, generator=torch.Generator().manual_seed(5), dtype=D)

    def mean_kl(phi: torch.Tensor) -> torch.Tensor:
        mean0, mean1 = policy.mean(theta, obs), policy.mean(phi, obs)
        log_std0, log_std1 = theta[:2].expand_as(mean0), phi[:2].expand_as(mean1)
        return diag_gaussian_kl(mean0, log_std0, mean1, log_std1).mean()

    hessian = torch.autograd.functional.hessian(mean_kl, theta)
    products = torch.stack(
        [fisher_vector_product(policy.mean, 2, theta, obs, e, 0.0) for e in torch.eye(34, dtype=D)]
    )
    torch.testing.assert_close(products, hessian, rtol=1e-9, atol=1e-12)


def test_fisher_solve_is_differentiable_in_phi_and_rhs() -> None:
    module, theta = _policy()
    policy = flat_policy_logp(module)
    gen = torch.Generator().manual_seed(6)
    obs = torch.randn(40, 3, generator=gen, dtype=D)
    rhs, probe = torch.randn(34, generator=gen, dtype=D), torch.randn(34, generator=gen, dtype=D)

    def value(phi: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return probe.dot(fisher_solve(policy.mean, 2, phi, obs, b, FISHER))

    phi, b = theta.clone().requires_grad_(True), rhs.clone().requires_grad_(True)
    d_phi, d_rhs = torch.autograd.grad(value(phi, b), (phi, b))
    h = 1e-6
    basis = h * torch.eye(34, dtype=D)
    fd_phi = [float(value(theta + e, rhs) - value(theta - e, rhs)) / (2 * h) for e in basis]
    fd_rhs = [float(value(theta, rhs + e) - value(theta, rhs - e)) / (2 * h) for e in basis]
    assert _relative_error(d_phi, np.array(fd_phi)) <= 1e-6
    assert _relative_error(d_rhs, np.array(fd_rhs)) <= 1e-6


DIRECTIONS = torch.randn(6, 34, generator=torch.Generator().manual_seed(8), dtype=D)


def _directional_differences(logp, theta, replay, h: float = 1e-6) -> tuple[np.ndarray, ...]:
    """Central differences of F and G along ``DIRECTIONS`` (each KL step costs CG solves, so
    six directions stand in for the 34 coordinates)."""
    rows = []
    for d in DIRECTIONS:
        plus = _objectives(logp, theta + h * d, replay)
        minus = _objectives(logp, theta - h * d, replay)
        rows.append([(p - m) / (2 * h) for p, m in zip(plus, minus, strict=True)])
    return tuple(np.array(rows).T)


@pytest.fixture(scope="module")
def fisher_instances() -> dict:
    out = {}
    for case in CASE_FACTORS:
        logp, theta, replay = _instance(case, FISHER)
        out[case] = (logp, theta, replay, _directional_differences(logp, theta, replay))
    return out


@pytest.mark.parametrize("case", list(CASE_FACTORS))
def test_exact_meta_gradient_through_kl_steps_matches_finite_differences(
    fisher_instances, case: CPOCase
) -> None:
    logp, theta, replay, (fd_reward, fd_cost) = fisher_instances[case]
    exact = task_meta_gradients(logp, theta, replay)
    assert _relative_error(DIRECTIONS @ exact.reward, fd_reward) <= 1e-5
    assert _relative_error(DIRECTIONS @ exact.cost, fd_cost) <= 1e-5
    # Each step stays in its KL trust region: ½xᵀHx ≤ δ (on the boundary unless recovering
    # with room to spare, which these instances never need).
    phi = theta
    for batch, scale in zip(replay.batches, replay.scales, strict=True):
        local = local_cpo_step(
            logp, phi.clone().requires_grad_(True), batch, DELTA, create_graph=False, fisher=FISHER
        )
        x = local.step.detach()
        quadratic = 0.5 * x.dot(
            fisher_vector_product(logp.mean, 2, phi, batch.obs, x, FISHER.damping)
        )
        assert float(quadratic) == pytest.approx(DELTA, rel=1e-6)
        phi = phi + scale * x


def test_freezing_the_fisher_matrix_breaks_the_agreement(fisher_instances, monkeypatch) -> None:
    # H(φᵏ) depends on φᵏ; treating it as a constant (φ detached in the solve) is measurably off.
    def frozen(mean, size, phi, obs, rhs, metric):
        return fisher_solve(mean, size, phi.detach(), obs, rhs, metric)

    monkeypatch.setattr(meta_gradient, "fisher_solve", frozen)
    logp, theta, replay, (fd_reward, _) = fisher_instances[CPOCase.FEASIBLE_DUAL]
    broken = task_meta_gradients(logp, theta, replay)
    assert _relative_error(DIRECTIONS @ broken.reward, fd_reward) > 1e-3


@pytest.mark.parametrize("case", [None, CPOCase.INFEASIBLE_RECOVERY, CPOCase.FEASIBLE_DUAL])
def test_backtracking_shrinks_the_step_until_its_measured_kl_holds(case) -> None:
    # Surrogates always acceptable; KL(c) = 0.04·c² against 0.01: the first factor of 0.8ᵏ with
    # c² ≤ 1/4 is 0.8⁴ = 0.4096 (0.8³ gives 0.0105). Without a KL test the full step is taken.
    def improvement(scale: float) -> tuple[float, float]:
        return scale, -scale

    def kl(scale: float) -> float:
        return 0.04 * scale**2

    args = (improvement, case, 0.5 if case == CPOCase.INFEASIBLE_RECOVERY else -0.5)
    assert backtracking_scale(*args, decay=0.8, kl=kl, max_kl=0.01) == pytest.approx(0.8**4)
    assert backtracking_scale(*args, decay=0.8) == 1.0
    assert backtracking_scale(*args, decay=0.8, max_backtracks=4, kl=kl, max_kl=0.01) == 0.0
