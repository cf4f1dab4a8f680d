"""The one Lagrange-multiplier component (``common.lagrange``): its three rules by hand, their
derivatives, and its state."""

from __future__ import annotations

import math

import pytest
import torch

from safemeta.algorithms.common.lagrange import LagrangeMultiplier


def T(value, **kwargs):
    return torch.tensor(value, **kwargs)


def test_projected_step_is_the_plain_dual_step_by_hand():
    # λ' = max(0, λ + β (J − d)) — C-MAML Eq. 22 / 31, Meta SAC-Lag Eq. 19.
    lam = LagrangeMultiplier(1.0, lr=0.5)
    assert lam.step(7.0, 5.0) == pytest.approx(2.0)  # 1 + 0.5 · 2
    assert lam.step(1.0, 5.0) == pytest.approx(0.0)  # 2 + 0.5 · (−4) = 0
    assert lam.step(0.0, 5.0) == 0.0  # projected: stays at 0
    assert lam.step(9.0, 5.0) == pytest.approx(2.0)


def test_projected_proposal_is_differentiable_in_the_limit_and_zero_at_the_projection():
    lam = LagrangeMultiplier(1.0, lr=0.5, dtype=torch.float64)
    d = T(5.0, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(lam.proposal(6.0, d), d)
    assert grad.item() == pytest.approx(-0.5)
    (grad,) = torch.autograd.grad(lam.proposal(0.0, d), d)  # 1 − 2.5 < 0: projected
    assert grad.item() == 0.0
    assert lam.value.item() == 1.0  # a proposal does not change λ


def test_optimizer_rules_step_with_the_slack_sign_and_stay_nonnegative():
    # Adam's first step is lr in the direction of the violation, whatever its size.
    for slack in (0.1, 10.0):
        lam = LagrangeMultiplier(1.0, lr=0.035, rule="adam")
        assert lam.step(slack, 0.0) == pytest.approx(1.035, rel=1e-5)
    lam = LagrangeMultiplier(0.01, lr=0.035, rule="rmsprop")
    assert lam.step(-1.0, 0.0) == 0.0
    with pytest.raises(TypeError, match="call step"):
        lam.proposal(1.0, 0.0)


def test_state_round_trip_keeps_the_value_and_the_optimizer():
    lam = LagrangeMultiplier(0.5, lr=0.035, rule="adam")
    for j in (3.0, 4.0):
        lam.step(j, 2.0)
    twin = LagrangeMultiplier(0.0, lr=0.035, rule="adam")
    twin.set_state(lam.get_state())
    assert twin.step(5.0, 2.0) == lam.step(5.0, 2.0)  # same Adam moments, same next step
    # A "log" multiplier reads a plain {"value"} state (older checkpoints).
    log_lam = LagrangeMultiplier(1.0, lr=0.01, rule="log")
    log_lam.set_state({"value": T(4.0)})
    assert log_lam.value.item() == pytest.approx(4.0)


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="rule 'pid' is not one of"):
        LagrangeMultiplier(1.0, lr=0.1, rule="pid")
    with pytest.raises(ValueError, match="must be >= 0"):
        LagrangeMultiplier(-1.0, lr=0.1)
    with pytest.raises(ValueError, match=r"lr=0\.0 must be a positive number"):
        LagrangeMultiplier(1.0, lr=0.0)


def test_lagrange_multiplier_step_is_proportional_to_the_slack():
    # log ν' = log ν + β (J_c − ε): slacks −0.5 and −0.05 give relative steps 10× apart, by hand.
    for slack in (-0.5, -0.05, 0.3):
        nu = LagrangeMultiplier(100.0, lr=0.01, rule="log", dtype=torch.float64)
        proposal = nu.proposal(T(0.5 + slack, dtype=torch.float64), 0.5)
        assert proposal.item() == pytest.approx(100.0 * math.exp(0.01 * slack), rel=1e-12)
        nu.commit(proposal)
        assert math.log(nu.value.item() / 100.0) == pytest.approx(0.01 * slack, rel=1e-9)
    # 1,000 updates at each slack: ν travels exp(β·slack·1000), not a slack-independent β·1000.
    ends = []
    for slack in (-0.5, -0.05):
        nu = LagrangeMultiplier(100.0, lr=5e-3, rule="log", dtype=torch.float64)
        for _ in range(1000):
            nu.commit(nu.proposal(T(0.5 + slack, dtype=torch.float64), 0.5))
        ends.append(nu.value.item())
    assert ends == pytest.approx([100.0 * math.exp(-2.5), 100.0 * math.exp(-0.25)], rel=1e-9)


def test_lagrange_multiplier_floor_and_meta_gradient_near_zero():
    nu = LagrangeMultiplier(1e-3, lr=0.05, floor=1e-4, rule="log", dtype=torch.float64)
    epsilon = T(0.5, dtype=torch.float64, requires_grad=True)
    proposal = nu.proposal(T(0.0, dtype=torch.float64), epsilon)
    # dν'/dε = −β ν': small but not 0 (a projected step max(0, ·) has 0 here).
    (grad,) = torch.autograd.grad(proposal, epsilon)
    assert grad.item() == pytest.approx(-0.05 * proposal.item(), rel=1e-12) and grad.item() < 0
    for _ in range(200):  # a satisfied constraint drives ν down to the floor, not to 0
        nu.commit(nu.proposal(T(0.0, dtype=torch.float64), 0.5))
    assert nu.value.item() == pytest.approx(1e-4, rel=1e-9)
    with pytest.raises(ValueError, match="must be > 0"):
        LagrangeMultiplier(0.0, lr=0.01, rule="log")
