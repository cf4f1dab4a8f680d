"""Numerical checks of the SAC-Lagrangian family's equations and meta-gradients.

Losses against hand-computed values on tiny tensors; the ε (Eq. 14) and α (Eq. 15) meta-gradients
through the one-step RMSProp inner update against central finite differences in float64.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from safemeta.algorithms.common.functional_optim import commit_rmsprop, rmsprop_step
from safemeta.algorithms.common.lagrange import LagrangeMultiplier
from safemeta.algorithms.sac_lagrangian import losses
from safemeta.algorithms.sac_lagrangian.meta_step import (
    critics_at_updated_policy,
    inner_actor_step,
    lagrangian_actor_gradient,
    meta_gradient,
    penalised_actor_gradient,
    sample_policy,
)
from safemeta.algorithms.sac_lagrangian.module import (
    SafeSACModule,
    critic_values,
    squashed_gaussian,
)
from safemeta.algorithms.sac_lagrangian.update import Batch, SafeSACUpdate, UpdateSettings

T = torch.tensor


def test_reward_target_uses_min_of_twins_entropy_and_done_mask():
    # r + γ(1-d)(min(Q1,Q2) - α logπ): (1, 0): 1 + 0.9*(2 - 0.5*(-1)) = 3.25; (2, done): 2
    target = losses.reward_critic_target(
        T([1.0, 2.0]), T([0.0, 1.0]), T([[2.0, 5.0], [3.0, 4.0]]), T([-1.0, -1.0]), 0.5, 0.9
    )
    torch.testing.assert_close(target, T([3.25, 2.0]))


def test_safety_target_uses_max_of_twins_and_violation_mask():
    # c + γc(1-c)(1-d) max(Qc1, Qc2); twins (0.2, 0.5), (0.7, 0.1), (0.3, 0.4), (0.9, 0.9)
    target = losses.safety_critic_target(
        cost=T([0.0, 1.0, 0.0, 0.0]),
        done=T([0.0, 0.0, 0.0, 1.0]),
        target_qc_next=T([[0.2, 0.7, 0.3, 0.9], [0.5, 0.1, 0.4, 0.9]]),
        gamma_c=0.6,
    )
    # 0.6*0.5 = 0.3 (max, not min 0.12); violation -> exactly 1; 0.6*0.4; terminal -> 0
    torch.testing.assert_close(target, T([0.3, 1.0, 0.24, 0.0]))


def test_critic_loss_is_half_mse_summed_over_twins():
    q = T([[1.0, 2.0], [0.0, 4.0]])
    # twin 1: ((1-0)^2 + (2-3)^2)/2/2 = 0.5; twin 2: (0 + 1)/2/2 = 0.25
    torch.testing.assert_close(losses.critic_loss(q, T([0.0, 3.0])), T(0.75))


def test_lagrangian_and_rcpo_objectives():
    q_r, q_c, logp = T([1.0, 3.0]), T([0.5, 0.1]), T([-1.0, 0.0])
    # mean(q_r - α logp - ν(q_c - ε)) with α 0.2, ν 2, ε 0.3: (1 + 0.2 - 0.4 + 3 - 0 + 0.4)/2
    torch.testing.assert_close(losses.lagrangian_objective(q_r, q_c, logp, 0.2, 2.0, 0.3), T(2.1))
    # Q̂ per twin then min: twins Q_r (1, 3) / (2, 2.5), Q_c (0.5, 0.1) / (0, 0.4), ν 2
    # -> twin 1 (0, 2.8), twin 2 (2, 1.7) -> min (0, 1.7); not min Q_r - ν max Q_c = (-1, 1.7)
    q_hat = losses.q_hat(T([[1.0, 3.0], [2.0, 2.5]]), T([[0.5, 0.1], [0.0, 0.4]]), 2.0)
    torch.testing.assert_close(q_hat, T([0.0, 1.7]))
    # mean(Q̂ - α logp): (0 + 0.2 + 1.7 - 0)/2
    torch.testing.assert_close(losses.rcpo_objective(q_hat, logp, 0.2), T(0.95))
    torch.testing.assert_close(losses.nu_gradient(T(0.6), 0.5), T(-0.1))


def test_meta_objectives():
    q_r, q_c = T([2.0, -1.0]), T([0.25, 0.5])
    nu = T(4.0, requires_grad=True)
    # Eq. 14: mean(ν q_c - q_r) = ((1 - 2) + (2 + 1))/2 = 1, with ν detached
    value = losses.epsilon_objective(q_r, q_c, nu)
    torch.testing.assert_close(value, T(1.0))
    assert not value.requires_grad
    # Eq. 16: q_r >= 0 -> q_r(1 - q_c) = 1.5; q_r < 0 -> q_r q_c = -0.5; mean 0.5
    torch.testing.assert_close(losses.epsilon_objective_nl(q_r, q_c), T(0.5))
    # Eq. 15: mean(q_r - ν(q_c - ε)), ν 4, ε 0.25: (2 - 0) + (-1 - 1) -> 0
    torch.testing.assert_close(losses.alpha_objective(q_r, q_c, 4.0, 0.25), T(0.0))
    # mean of Q̂ at the initial states
    torch.testing.assert_close(losses.q_hat_objective(T([1.0, -3.0])), T(-1.0))


def test_target_entropy_alpha_loss_raises_alpha_when_entropy_is_low():
    log_alpha = T(0.0, requires_grad=True)
    # entropy 0.5 (logp = -0.5) below target 1: loss = -log α (−0.5 + 1) -> d/dlogα = -0.5
    loss = losses.target_entropy_alpha_loss(log_alpha, T([-0.5, -0.5]), 1.0)
    (grad,) = torch.autograd.grad(loss, log_alpha)
    torch.testing.assert_close(grad, T(-0.5))


def test_squashed_gaussian_log_density_matches_change_of_variables():
    pi_out = T([[0.3, -0.2, math.log(0.5), math.log(2.0)]], dtype=torch.float64)
    noise = T([[0.7, -1.1]], dtype=torch.float64)
    action, logp = squashed_gaussian(pi_out, noise)
    mean, std = pi_out[0, :2], pi_out[0, 2:].exp()
    u = mean + std * noise[0]
    normal = torch.distributions.Normal(mean, std).log_prob(u).sum()
    expected = normal - torch.log(1 - torch.tanh(u) ** 2).sum()
    torch.testing.assert_close(action[0], torch.tanh(u))
    torch.testing.assert_close(logp[0], expected)


def test_functional_rmsprop_equals_torch_rmsprop_and_commit_keeps_state():
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.randn(5, dtype=torch.float64))
    twin = torch.nn.Parameter(param.detach().clone())
    reference = torch.optim.RMSprop([twin], lr=0.01)
    functional = torch.optim.RMSprop([param], lr=0.01)
    for _ in range(3):
        grad = torch.randn(5, dtype=torch.float64)
        twin.grad = grad.clone()
        reference.step()
        square_avg = functional.state.get(param, {}).get("square_avg", torch.zeros_like(param))
        new, new_avg = rmsprop_step(param.detach(), grad, square_avg, lr=0.01)
        commit_rmsprop(functional, [param], [new], [new_avg])
    torch.testing.assert_close(param.detach(), twin.detach())
    torch.testing.assert_close(
        functional.state[param]["square_avg"], reference.state[twin]["square_avg"]
    )


# ---------------------------------------------------------------- meta-gradients (float64)


@pytest.fixture
def tiny():
    """A float64 module (obs 3, act 2, hidden 16) with non-trivial RMSProp state."""
    torch.manual_seed(3)
    obs_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float64)
    act_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float64)
    module = SafeSACModule(
        observation_space=obs_space,
        action_space=act_space,
        model_config={"actor_hiddens": [16, 16], "critic_hiddens": [16, 16]},
    ).double()
    params = list(module.pi.parameters())
    names = [name for name, _ in module.pi.named_parameters()]
    square_avgs = [torch.rand_like(p) * 1e-2 + 1e-3 for p in params]
    data = {
        "obs": torch.randn(8, 3, dtype=torch.float64),
        "noise": torch.randn(8, 2, dtype=torch.float64),
        "meta_obs": torch.randn(8, 3, dtype=torch.float64),
        "meta_noise": torch.randn(8, 2, dtype=torch.float64),
        "initial_obs": torch.randn(8, 3, dtype=torch.float64),
    }
    nu = LagrangeMultiplier(2.0, lr=0.05, rule="log", dtype=torch.float64)
    return module, params, names, square_avgs, data, nu


def _updated_actor(tiny, epsilon, log_alpha, lr=0.05):
    module, params, _, square_avgs, data, nu = tiny
    sample = sample_policy(module.pi, module.qr, module.qc, data["obs"], data["noise"])
    nu_new = nu.proposal(sample.q_c_max.mean().detach(), epsilon)
    ascent = lagrangian_actor_gradient(sample, params)(nu_new, log_alpha.exp())
    new_params, _ = inner_actor_step(params, ascent, square_avgs, lr=lr)
    return new_params, nu_new


def _epsilon_objective(tiny, epsilon, log_alpha, nu_copy):
    module, _, names, _, data, _ = tiny
    new_params, _ = _updated_actor(tiny, epsilon, log_alpha)
    q_r, q_c = critics_at_updated_policy(
        module.pi, names, new_params, module.qr, module.qc, data["meta_obs"], data["meta_noise"]
    )
    return losses.epsilon_objective(q_r.min(dim=0).values, q_c.max(dim=0).values, nu_copy)


def _alpha_objective(tiny, epsilon, log_alpha, nu_const, epsilon_new):
    module, _, names, _, data, _ = tiny
    new_params, _ = _updated_actor(tiny, epsilon, log_alpha)
    q_r, q_c = critics_at_updated_policy(
        module.pi, names, new_params, module.qr, module.qc, data["initial_obs"], None
    )
    return losses.alpha_objective(
        q_r.min(dim=0).values, q_c.max(dim=0).values, nu_const, epsilon_new
    )


def _relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def test_epsilon_meta_gradient_matches_finite_differences(tiny):
    epsilon = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    log_alpha = torch.tensor(math.log(0.5), dtype=torch.float64)
    _, nu_new = _updated_actor(tiny, epsilon, log_alpha)
    nu_copy = nu_new.detach()  # ν'_copy: a constant in Eq. 14
    analytic = meta_gradient(_epsilon_objective(tiny, epsilon, log_alpha, nu_copy), epsilon).item()
    h = 1e-5
    plus = _epsilon_objective(tiny, torch.tensor(0.3 + h, dtype=torch.float64), log_alpha, nu_copy)
    minus = _epsilon_objective(tiny, torch.tensor(0.3 - h, dtype=torch.float64), log_alpha, nu_copy)
    numeric = (plus.item() - minus.item()) / (2 * h)
    assert abs(analytic) > 1e-6, "the meta-gradient should reach ε through ν' and φ'"
    assert _relative_error(analytic, numeric) < 1e-4, (analytic, numeric)
    print(f"dJ_eps/deps analytic {analytic:.8e} numeric {numeric:.8e}")


def test_alpha_meta_gradient_matches_finite_differences(tiny):
    epsilon = torch.tensor(0.3, dtype=torch.float64)
    log_alpha = torch.tensor(math.log(0.5), dtype=torch.float64, requires_grad=True)
    _, nu_new = _updated_actor(tiny, epsilon, log_alpha)
    nu_const, epsilon_new = nu_new.detach(), 0.35
    analytic = meta_gradient(
        _alpha_objective(tiny, epsilon, log_alpha, nu_const, epsilon_new), log_alpha
    ).item()
    h = 1e-5
    base = math.log(0.5)
    plus = _alpha_objective(
        tiny, epsilon, torch.tensor(base + h, dtype=torch.float64), nu_const, epsilon_new
    )
    minus = _alpha_objective(
        tiny, epsilon, torch.tensor(base - h, dtype=torch.float64), nu_const, epsilon_new
    )
    numeric = (plus.item() - minus.item()) / (2 * h)
    assert abs(analytic) > 1e-6, "the meta-gradient should reach α through φ'"
    assert _relative_error(analytic, numeric) < 1e-4, (analytic, numeric)
    print(f"dJ_alpha/dlog_alpha analytic {analytic:.8e} numeric {numeric:.8e}")


def test_decomposed_actor_gradient_equals_autograd_of_eq11(tiny):
    module, params, _, _, data, _ = tiny
    nu, alpha, epsilon = T(1.7, dtype=torch.float64), T(0.3, dtype=torch.float64), 0.2
    sample = sample_policy(module.pi, module.qr, module.qc, data["obs"], data["noise"])
    decomposed = lagrangian_actor_gradient(sample, params)(nu, alpha)
    action, logp = squashed_gaussian(module.pi(data["obs"]), data["noise"])
    q_r = critic_values(module.qr, data["obs"], action).min(dim=0).values
    q_c = critic_values(module.qc, data["obs"], action).max(dim=0).values
    direct = torch.autograd.grad(
        losses.lagrangian_objective(q_r, q_c, logp, alpha, nu, epsilon), params
    )
    for a, b in zip(decomposed, direct, strict=True):
        torch.testing.assert_close(a, b)
    # the penalised form with ν constant gives the same direction
    sample = sample_policy(module.pi, module.qr, module.qc, data["obs"], data["noise"])
    penalised = penalised_actor_gradient(sample, params, sample.q_r_min - nu * sample.q_c_max)
    for a, b in zip(penalised(nu, alpha), direct, strict=True):
        torch.testing.assert_close(a, b)


def _q_hat_alpha_objective(tiny, log_alpha, nu_const):
    """RCPO-MetaSAC: one RMSProp actor step on Q̂ (ν constant), then Q̂ at μ_φ'(s0)."""
    module, params, names, square_avgs, data, _ = tiny
    sample = sample_policy(module.pi, module.qr, module.qc, data["obs"], data["noise"])
    critic_term = losses.q_hat(sample.q_r, sample.q_c, nu_const)
    ascent = penalised_actor_gradient(sample, params, critic_term)(nu_const, log_alpha.exp())
    new_params, _ = inner_actor_step(params, ascent, square_avgs, lr=0.05)
    q_r, q_c = critics_at_updated_policy(
        module.pi, names, new_params, module.qr, module.qc, data["initial_obs"], None
    )
    return losses.q_hat_objective(losses.q_hat(q_r, q_c, nu_const))


def test_rcpo_metasac_alpha_meta_gradient_matches_finite_differences(tiny):
    nu_const, base, h = T(1.5, dtype=torch.float64), math.log(0.5), 1e-5
    log_alpha = torch.tensor(base, dtype=torch.float64, requires_grad=True)
    analytic = meta_gradient(_q_hat_alpha_objective(tiny, log_alpha, nu_const), log_alpha).item()
    plus = _q_hat_alpha_objective(tiny, torch.tensor(base + h, dtype=torch.float64), nu_const)
    minus = _q_hat_alpha_objective(tiny, torch.tensor(base - h, dtype=torch.float64), nu_const)
    numeric = (plus.item() - minus.item()) / (2 * h)
    assert abs(analytic) > 1e-6
    assert _relative_error(analytic, numeric) < 1e-4, (analytic, numeric)


# ------------------------------------------- the whole update step against finite differences


def _run_whole_step(tiny, settings, epsilon, log_alpha):
    """One ``SafeSACUpdate.step`` on a copy of the fixture's module, recording what it computes.

    The actor's RMSProp state is the fixture's (a fresh RMSProp's first step is about
    ``lr·sign(g)``, flat in the meta-parameters). Returns the module (now at φ'), ν', ε after the
    step, the meta-gradients the step handed to ``ascend`` and the noise it drew, in order.
    """
    module, _, _, square_avgs, data, _ = tiny
    module = copy.deepcopy(module)
    update = SafeSACUpdate(module, settings, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        update.epsilon.param.fill_(epsilon)
        update.log_alpha.param.fill_(log_alpha)
    for param, square_avg in zip(update.actor_params, square_avgs, strict=True):
        update.optimizers["actor"].state[param].update(square_avg=square_avg.clone(), step=T(1.0))
    grads, noises = {}, []
    draw = update._noise

    def recorded_noise(n, dtype):
        noises.append(draw(n, dtype))
        return noises[-1]

    update._noise = recorded_noise
    for name in ("epsilon", "log_alpha"):
        scalar = getattr(update, name)

        def recorded_ascend(grad, name=name, ascend=scalar.ascend):
            grads[name] = grad.item()
            ascend(grad)

        scalar.ascend = recorded_ascend
    g = torch.Generator().manual_seed(11)

    def batch(n):
        return Batch(
            obs=torch.randn(n, 3, generator=g, dtype=torch.float64),
            actions=torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1,
            rewards=torch.randn(n, generator=g, dtype=torch.float64),
            costs=(torch.rand(n, generator=g, dtype=torch.float64) < 0.3).double(),
            next_obs=torch.randn(n, 3, generator=g, dtype=torch.float64),
            dones=(torch.rand(n, generator=g, dtype=torch.float64) < 0.2).double(),
        )

    update.step(batch(8), batch(8), data["meta_obs"], data["initial_obs"], data["obs"])
    return module, update.nu.value, update.epsilon.value, grads, noises


def test_whole_update_step_meta_gradients_match_finite_differences(tiny):
    """``SafeSACUpdate.step``'s dJ/dε (Eq. 14) and dJ/dlog α (Eq. 15, and RCPO-MetaSAC's Q̂).

    The numeric side runs the whole step at η ± h and evaluates the meta-objective at the φ' it
    commits, with ν' (and ε in Eq. 15) held at the unperturbed step's values: Eq. 14 treats ν' as a
    constant copy, and the one-step truncation ignores how the critics move with α, so α's cases
    freeze the critics (lr 0). The step's meta-objective at φ instead of φ', or ν' left
    differentiable in Eq. 14, gives a gradient that disagrees with these differences.
    """
    _, _, names, _, data, _ = tiny
    base = UpdateSettings(
        actor_lr=0.05, nu_lr=0.05, initial_nu=2.0, initial_epsilon=0.3, initial_alpha=0.5
    )
    meta_sac_lag = {"epsilon_update": "meta", "alpha_update": "meta_lagrangian"}
    rcpo_metasac = {"policy_objective": "rcpo", "alpha_update": "meta_q_hat"}

    def critics_at(module, obs, noise):
        params = list(module.pi.parameters())
        q_r, q_c = critics_at_updated_policy(
            module.pi, names, params, module.qr, module.qc, obs, noise
        )
        return q_r, q_c

    def epsilon_objective(module, nu_new, epsilon_new, noises):
        q_r, q_c = critics_at(module, data["meta_obs"], noises[3])  # B' is the fourth draw
        return losses.epsilon_objective(q_r.min(dim=0).values, q_c.max(dim=0).values, nu_new)

    def alpha_objective(module, nu_new, epsilon_new, noises):
        q_r, q_c = critics_at(module, data["initial_obs"], None)
        return losses.alpha_objective(
            q_r.min(dim=0).values, q_c.max(dim=0).values, nu_new, epsilon_new
        )

    def q_hat_objective(module, nu_new, epsilon_new, noises):
        q_r, q_c = critics_at(module, data["initial_obs"], None)
        return losses.q_hat_objective(losses.q_hat(q_r, q_c, nu_new))

    cases = [  # (label, switches, critic lr, meta-parameter, objective at φ')
        ("Meta SAC-Lag eps", meta_sac_lag, 1e-2, "epsilon", epsilon_objective),
        ("Meta SAC-Lag alpha", meta_sac_lag, 0.0, "log_alpha", alpha_objective),
        ("RCPO-MetaSAC alpha", rcpo_metasac, 0.0, "log_alpha", q_hat_objective),
    ]
    h = 1e-5
    for label, switches, critic_lr, meta_parameter, objective in cases:
        settings = dataclasses.replace(base, critic_lr=critic_lr, **switches)
        point = {"epsilon": 0.3, "log_alpha": math.log(0.5)}
        _, nu_new, epsilon_new, grads, _ = _run_whole_step(tiny, settings, **point)
        values = []
        for sign in (1.0, -1.0):
            shifted = {**point, meta_parameter: point[meta_parameter] + sign * h}
            module, _, _, _, noises = _run_whole_step(tiny, settings, **shifted)
            with torch.no_grad():
                values.append(objective(module, nu_new, epsilon_new, noises).item())
        numeric = (values[0] - values[1]) / (2 * h)
        analytic = grads[meta_parameter]
        assert abs(analytic) > 1e-6, label
        assert _relative_error(analytic, numeric) < 1e-4, (label, analytic, numeric)
        error = _relative_error(analytic, numeric)
        print(f"{label}: step {analytic:.8e} numeric {numeric:.8e} rel. error {error:.1e}")


def test_epsilon_meta_gradient_stays_nonzero_when_nu_is_near_zero(tiny):
    # ν = 1e-3 and a satisfied constraint: a projected step would put ν' at 0 and cut ε's only path
    # (ε → ν' → φ' → Eq. 14). In log space dν'/dε = −β ν' keeps it, and the step's gradient still
    # matches central differences of the objective at the committed φ'.
    _, _, names, _, data, _ = tiny
    settings = UpdateSettings(
        actor_lr=0.05,
        nu_lr=0.05,
        initial_nu=1e-3,
        initial_epsilon=1.2,
        initial_alpha=0.5,
        critic_lr=1e-2,
        epsilon_update="meta",
        alpha_update="meta_lagrangian",
    )
    point = {"epsilon": 1.2, "log_alpha": math.log(0.5)}
    _, nu_new, _, grads, _ = _run_whole_step(tiny, settings, **point)
    assert nu_new.item() < 1e-3  # the constraint is slack: ν went down
    values = []
    h = 1e-4
    for sign in (1.0, -1.0):
        module, _, _, _, noises = _run_whole_step(
            tiny, settings, epsilon=1.2 + sign * h, log_alpha=point["log_alpha"]
        )
        params = list(module.pi.parameters())
        q_r, q_c = critics_at_updated_policy(
            module.pi, names, params, module.qr, module.qc, data["meta_obs"], noises[3]
        )
        with torch.no_grad():
            objective = losses.epsilon_objective(
                q_r.min(dim=0).values, q_c.max(dim=0).values, nu_new
            )
        values.append(objective.item())
    numeric = (values[0] - values[1]) / (2 * h)
    assert grads["epsilon"] != 0.0
    assert _relative_error(grads["epsilon"], numeric) < 1e-3, (grads["epsilon"], numeric)
