"""Numerical references for the on-policy math: GAE, CG, Fisher-vector products, line search."""

from __future__ import annotations

import math

import pytest
import torch

from safemeta.algorithms.onpolicy.advantages import discounted_cumsum, gae
from safemeta.algorithms.onpolicy.distributions import diag_gaussian_kl, diag_gaussian_logp
from safemeta.algorithms.onpolicy.trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_params,
    natural_step,
    set_flat_params,
    trpo_accept,
)

D = torch.float64


def test_discounted_cumsum_hand_example() -> None:
    x = torch.tensor([1.0, 2.0, 3.0], dtype=D)
    # y2 = 3, y1 = 2 + 0.5*3 = 3.5, y0 = 1 + 0.5*3.5 = 2.75
    assert torch.allclose(discounted_cumsum(x, 0.5), torch.tensor([2.75, 3.5, 3.0], dtype=D))


def test_gae_hand_example() -> None:
    rewards = torch.tensor([1.0, 0.0, 2.0], dtype=D)
    values = torch.tensor([0.5, 1.0, -1.0, 4.0], dtype=D)  # last: bootstrap value
    gamma, lam = 0.9, 0.5
    # deltas: 1 + .9*1 - .5 = 1.4 ; 0 + .9*(-1) - 1 = -1.9 ; 2 + .9*4 + 1 = 6.6
    # A2 = 6.6 ; A1 = -1.9 + .45*6.6 = 1.07 ; A0 = 1.4 + .45*1.07 = 1.8815
    adv, targets = gae(rewards, values, gamma=gamma, lam=lam)
    expected = torch.tensor([1.8815, 1.07, 6.6], dtype=D)
    assert torch.allclose(adv, expected, atol=1e-12)
    assert torch.allclose(targets, expected + values[:-1], atol=1e-12)


def test_gae_lambda_one_is_discounted_return_minus_value() -> None:
    gen = torch.Generator().manual_seed(0)
    rewards = torch.randn(7, generator=gen, dtype=D)
    values = torch.randn(8, generator=gen, dtype=D)
    values[-1] = 0.0  # terminal
    adv, targets = gae(rewards, values, gamma=0.97, lam=1.0)
    returns = discounted_cumsum(rewards, 0.97)
    assert torch.allclose(targets, returns, atol=1e-12)
    assert torch.allclose(adv, returns - values[:-1], atol=1e-12)


def test_gae_rejects_missing_bootstrap() -> None:
    with pytest.raises(ValueError, match="bootstrap"):
        gae(torch.zeros(3), torch.zeros(3), gamma=0.99, lam=0.95)


def test_conjugate_gradient_matches_direct_solve() -> None:
    gen = torch.Generator().manual_seed(1)
    m = torch.randn(12, 12, generator=gen, dtype=D)
    a = m @ m.T + 0.5 * torch.eye(12, dtype=D)
    b = torch.randn(12, generator=gen, dtype=D)
    x = conjugate_gradient(lambda v: a @ v, b, iterations=40, residual_tol=1e-26)
    assert torch.allclose(x, torch.linalg.solve(a, b), atol=1e-9)
    # Few iterations: an approximation, not the solution (the test can tell them apart).
    x2 = conjugate_gradient(lambda v: a @ v, b, iterations=2)
    assert (x2 - torch.linalg.solve(a, b)).abs().max() > 1e-6


class TinyGaussianPolicy(torch.nn.Module):
    """Linear-tanh mean and state-independent log-std: 2 obs -> 2 actions."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2).to(D)
        self.log_std = torch.nn.Parameter(torch.tensor([-0.3, 0.2], dtype=D))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tanh(self.lin(obs)), self.log_std.expand(obs.shape[0], -1)


def test_fisher_vector_product_matches_explicit_fisher() -> None:
    torch.manual_seed(2)
    policy = TinyGaussianPolicy()
    params = list(policy.parameters())
    n = sum(p.numel() for p in params)
    obs = torch.randn(5, 2, dtype=D)
    with torch.no_grad():
        mean0, log_std0 = policy(obs)

    def kl() -> torch.Tensor:
        mean, log_std = policy(obs)
        return diag_gaussian_kl(mean0, log_std0, mean, log_std).mean()

    # Explicit Fisher: E_s[J_s^T F_s J_s] with the Gaussian's Fisher in (mean, log_std):
    # diag(1/σ²) for the mean, 2 for each log σ.
    fisher = torch.zeros(n, n, dtype=D)
    theta0 = flat_params(params)

    def outputs(theta: torch.Tensor) -> torch.Tensor:
        offset, tensors = 0, []
        for p in params:
            tensors.append(theta[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        # parameters(): own parameters first (log_std), then the Linear's weight and bias.
        log_std, weight, bias = tensors
        mean = torch.tanh(obs @ weight.T + bias)
        return torch.cat([mean, log_std.expand(obs.shape[0], -1)], dim=1)

    jac = torch.autograd.functional.jacobian(outputs, theta0)  # [S, 4, n]
    sigma2 = torch.exp(2 * log_std0[0])
    f_out = torch.diag(torch.cat([1.0 / sigma2, torch.full((2,), 2.0, dtype=D)]))
    for i in range(obs.shape[0]):
        fisher += jac[i].T @ f_out @ jac[i]
    fisher /= obs.shape[0]

    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        v = torch.randn(n, generator=gen, dtype=D)
        fvp = fisher_vector_product(kl, params, v, damping=0.1)
        assert torch.allclose(fvp, fisher @ v + 0.1 * v, atol=1e-10)


def test_natural_step_lands_on_trust_region_boundary() -> None:
    h = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=D)
    x = torch.tensor([0.7, -0.2], dtype=D)
    step = natural_step(x, h @ x, max_kl=0.01)
    assert math.isclose(float(0.5 * step @ h @ step), 0.01, rel_tol=1e-12)


def test_gaussian_logp_matches_torch_distribution() -> None:
    mean = torch.tensor([[0.1, -0.4]], dtype=D)
    log_std = torch.tensor([[-0.5, 0.3]], dtype=D)
    x = torch.tensor([[0.3, 0.2]], dtype=D)
    reference = torch.distributions.Normal(mean, log_std.exp()).log_prob(x).sum(-1)
    assert torch.allclose(diag_gaussian_logp(x, mean, log_std), reference, atol=1e-12)


def test_line_search_rejects_steps_that_break_kl_and_accepts_a_shorter_one() -> None:
    # Quadratic "KL" 0.5|x|^2 and linear surrogate 1·x: the full step (KL 0.5) is too long.
    full = torch.tensor([1.0, 0.0], dtype=D)

    def evaluate(step: torch.Tensor) -> dict[str, float]:
        return {"kl": float(0.5 * step.dot(step)), "improvement": float(step.sum())}

    def accept(stats: dict[str, float]) -> bool:
        return trpo_accept(kl=stats["kl"], improvement=stats["improvement"], max_kl=0.1)

    result = backtracking_line_search(evaluate, accept, full, max_backtracks=10, decay=0.5)
    # 0.5 * 0.5^(2j) <= 0.1  ->  j = 2 (KL 0.03125); j = 0, 1 rejected (0.5, 0.125).
    assert result.accepted and result.backtracks == 2 and result.step_fraction == 0.25
    # A step that never improves the surrogate is rejected entirely.
    worse = backtracking_line_search(evaluate, accept, -full, max_backtracks=5, decay=0.5)
    assert not worse.accepted and worse.step_fraction == 0.0


def test_set_flat_params_roundtrip() -> None:
    policy = TinyGaussianPolicy()
    params = list(policy.parameters())
    theta = flat_params(params)
    set_flat_params(params, theta + 1.0)
    assert torch.allclose(flat_params(params), theta + 1.0)
    with pytest.raises(ValueError, match="entries"):
        set_flat_params(params, torch.zeros(theta.numel() + 1, dtype=D))
