"""C-MAML's outer-loop equations: hand-computed values, and finite differences of the written
objectives (Eq. 13 for λ and η, Eq. 30's direction for the meta policy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from safemeta.algorithms.c_maml.meta_update import (
    cost_critic_gradient,
    meta_policy_step,
    states_batch,
)
from safemeta.algorithms.c_maml.objectives import (
    first_order_meta_gradient,
    meta_cost_critic_objective,
    meta_multiplier_slack,
    outer_direction,
    outer_lagrangian,
    safety_multiplier_slack,
)
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.onpolicy.defaults import TrustRegionSettings
from safemeta.algorithms.onpolicy.distributions import diag_gaussian_logp
from safemeta.algorithms.onpolicy.trust_region import flat_grad, flat_params, set_flat_params
from safemeta.algorithms.onpolicy.updates import PolicyEvaluator
from tests.tiny_policies import float64_policy

T = torch.tensor


def test_first_order_meta_gradient_is_the_task_mean_by_hand() -> None:
    grads = T([[1.0, 2.0], [3.0, 6.0], [2.0, 1.0]])
    assert first_order_meta_gradient(grads).tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match=r"\[B >= 1, n\]"):
        first_order_meta_gradient(T([1.0, 2.0]))


def test_meta_cost_critic_objective_by_hand_and_its_gradient_skips_the_critic() -> None:
    theta = T(0.5, requires_grad=True)
    x = T([1.0, 2.0, -1.0])
    cost_values = T([2.0, 0.5, 1.0], requires_grad=True)
    value = meta_cost_critic_objective(theta * x, cost_values)  # logp = θ·x
    assert value.item() == pytest.approx((0.5 * 2.0 + 1.0 * 0.5 - 0.5 * 1.0) / 3)
    grad_theta, grad_critic = torch.autograd.grad(value, [theta, cost_values], allow_unused=True)
    assert grad_theta.item() == pytest.approx((2.0 + 1.0 - 1.0) / 3)  # mean(x · V_C)
    assert grad_critic is None  # Eq. 14 differentiates π only


def _finite_difference(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


def test_multiplier_steps_descend_the_written_eq13() -> None:
    returns, costs = T([4.0, 6.0], dtype=torch.float64), T([7.0, 9.0], dtype=torch.float64)
    initial_values, d = T([3.0, 4.0, 8.0], dtype=torch.float64), 5.0

    def lagrangian(lam: float, eta: float) -> float:
        return float(outer_lagrangian(returns, costs, initial_values, lam, eta, d))

    # Eq. 22 and Eq. 31 are the negated partial derivatives of Eq. 13: λ, η ascend on them.
    assert _finite_difference(lambda lam: lagrangian(lam, 0.3), 1.2) == pytest.approx(
        -float(meta_multiplier_slack(costs, d)), rel=1e-8
    )
    assert _finite_difference(lambda eta: lagrangian(1.2, eta), 0.3) == pytest.approx(
        -float(safety_multiplier_slack(initial_values, d)), rel=1e-8
    )
    assert float(meta_multiplier_slack(costs, d)) == 3.0  # (7 + 9)/2 − 5
    assert float(safety_multiplier_slack(initial_values, d)) == 0.0  # (3 + 4 + 8)/3 − 5
    lam = LagrangeMultiplier(1.2, lr=0.1)  # Eq. 22's projected step
    assert lam.step(float(costs.mean()), d) == pytest.approx(1.5)


@pytest.fixture
def tiny():
    """A float64 policy (obs 3, act 2), states, actions and per-task advantages."""
    module = float64_policy()
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    actions = torch.randn(40, 2, generator=gen, dtype=torch.float64)
    advantages = torch.randn(2, 40, generator=gen, dtype=torch.float64)
    return module, obs, actions, advantages


def test_outer_direction_matches_finite_differences_of_the_written_objective(tiny) -> None:
    # J(θ) = mean_p E[ρ_θ A_p] − η E[log π_θ(a|s) V_C(s)], V_C fixed at θ₀: Eq. 30 under
    # FoMAML (every task's gradient taken at the same θ here, so J has one argument).
    module, obs, actions, advantages = tiny
    eta = 0.7
    batch = PolicyEvaluator(module, states_batch(obs, actions))
    params = module.policy_parameters()
    theta0 = flat_params(params)
    with torch.no_grad():
        cost_values = module.values(obs)[1].clone()
    task_grads = torch.stack([flat_grad(batch.surrogate(a), params) for a in advantages])
    direction = outer_direction(
        first_order_meta_gradient(task_grads), cost_critic_gradient(module, obs, actions), eta
    )

    def objective(theta: torch.Tensor) -> float:
        set_flat_params(params, theta)
        with torch.no_grad():
            surrogates = [float(batch.surrogate(a)) for a in advantages]
            mean, log_std = module.distribution(obs)
            logp = diag_gaussian_logp(actions, mean, log_std)
            penalty = float(meta_cost_critic_objective(logp, cost_values))
        return float(np.mean(surrogates)) - eta * penalty

    h = 1e-6
    numeric = torch.zeros_like(theta0)
    for i in range(theta0.numel()):
        e = torch.zeros_like(theta0)
        e[i] = h
        numeric[i] = (objective(theta0 + e) - objective(theta0 - e)) / (2 * h)
    set_flat_params(params, theta0)
    torch.testing.assert_close(direction, numeric, rtol=1e-6, atol=1e-9)
    assert direction.norm() > 1e-3


def test_meta_policy_step_stays_in_the_trust_region_and_ascends_the_direction(tiny) -> None:
    module, obs, actions, _ = tiny
    params = module.policy_parameters()
    theta0 = flat_params(params)
    direction = cost_critic_gradient(module, obs, actions) * -1.0  # any fixed direction
    settings = TrustRegionSettings(max_kl=0.01, cg_iterations=20, cg_damping=0.0)
    metrics = meta_policy_step(module, obs, actions, direction, settings)
    moved = flat_params(params) - theta0
    assert 0.0 < metrics["meta_kl"] <= 0.01
    assert metrics["meta_kl"] > 0.5 * 0.01  # a quadratic model of the KL: the boundary, ≈ δ
    assert float(direction.dot(moved)) > 0  # an ascent step for the direction
    assert metrics["meta_expected_improvement"] == pytest.approx(float(direction.dot(moved)))
