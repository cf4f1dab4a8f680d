"""The meta-RL inner update (``onpolicy.local``): a function of an explicit state, with the
family's defaults from one source."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from safemeta.algorithms.meta_cpo.config import MetaCPOConfig
from safemeta.algorithms.meta_cpo.fisher_metric import FisherMetric
from safemeta.algorithms.meta_cpo.local_update import LocalCPOUpdate
from safemeta.algorithms.onpolicy.config import CPOConfig, TRPOLagConfig
from safemeta.algorithms.onpolicy.defaults import (
    CriticSettings,
    LagrangeSettings,
    TrustRegionSettings,
)
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate
from safemeta.algorithms.onpolicy.module import OnPolicyModule


def _module() -> OnPolicyModule:
    torch.manual_seed(0)
    return OnPolicyModule(
        observation_space=gym.spaces.Box(-1.0, 1.0, (3,), np.float32),
        action_space=gym.spaces.Box(-1.0, 1.0, (1,), np.float32),
        model_config={"policy_hiddens": (16,), "critic_hiddens": (16,)},
    )


def _episodes(n: int = 6, length: int = 25) -> list[SingleAgentEpisode]:
    """Reward −|a − 0.5|; a cost of 1 whenever a > 0.3."""
    rng = np.random.default_rng(0)
    episodes = []
    for i in range(n):
        actions = rng.normal(0.0, 0.6, (length, 1)).astype(np.float32)
        episodes.append(
            SingleAgentEpisode(
                id_=f"e{i}",
                observations=list(rng.uniform(-1, 1, (length + 1, 3)).astype(np.float32)),
                actions=list(actions),
                rewards=list(-np.abs(actions[:, 0] - 0.5)),
                infos=[{}] + [{"cost": float(a[0] > 0.3)} for a in actions],
                terminated=True,
                len_lookback_buffer=0,
            )
        )
    return episodes


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_inner_update_is_a_function_of_its_state() -> None:
    module, episodes = _module(), _episodes()
    update = OnPolicyLocalUpdate(
        variant="trpo_lag",
        settings=TrustRegionSettings(max_kl=0.05),
        critic=CriticSettings(epochs=2),
        lagrange=LagrangeSettings(init=1.0, lr=0.5, rule="sgd"),
        cost_limit=2.0,
    )
    state = update.initial_state(module.get_state())
    weights_in = {k: v.clone() for k, v in state.weights.items()}
    new, metrics = update(module, state, episodes, None, 0)
    assert _equal(state.weights, weights_in)  # the input state is not changed
    assert not torch.equal(new.weights["log_std"], weights_in["log_std"])  # the policy moved
    assert not torch.equal(new.weights["vf.0.weight"], weights_in["vf.0.weight"])  # critics too
    # The module only evaluates: scribble over it, and the same inputs give the same outputs.
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    again, _ = update(module, state, episodes, None, 0)
    assert _equal(again.weights, new.weights)
    # λ_p took one projected step on J_C − d, J_C the mean episode cost (by hand).
    j_c = np.mean([sum(info["cost"] for info in ep.get_infos()[1:]) for ep in episodes])
    assert metrics["episode_cost"] == pytest.approx(j_c)
    assert new.lagrange_multiplier == pytest.approx(max(0.0, 1.0 + 0.5 * (j_c - 2.0)), rel=1e-6)
    # The next step starts from the returned λ_p.
    third, _ = update(module, new, episodes, None, 1)
    assert third.lagrange_multiplier == pytest.approx(
        max(0.0, new.lagrange_multiplier + 0.5 * (j_c - 2.0)), rel=1e-6
    )


def test_inner_update_and_config_take_the_family_defaults_from_one_place() -> None:
    # Untouched configs give the inner update's own defaults (which once differed: critic
    # epochs 5 vs 10, λ lr 0.05 vs 0.035).
    default = OnPolicyLocalUpdate()
    assert OnPolicyLocalUpdate.from_config(TRPOLagConfig(), "trpo_lag") == default
    assert OnPolicyLocalUpdate.from_config(CPOConfig(), "cpo") == dataclasses.replace(
        default, variant="cpo"
    )
    # An experiment's values reach the inner update.
    config = TRPOLagConfig().training(
        max_kl=0.05, critic_epochs=3, lagrangian_lr=0.1, gamma=0.9, cost_limit=5.0
    )
    inner = OnPolicyLocalUpdate.from_config(config, "trpo_lag")
    assert (inner.settings.max_kl, inner.critic.epochs, inner.lagrange.lr) == (0.05, 3, 0.1)
    assert (inner.discounting.gamma, inner.cost_limit) == (0.9, 5.0)


def test_meta_cpo_local_step_is_a_function_of_its_state_and_stays_in_its_ball() -> None:
    module, episodes = _module(), _episodes()
    update = LocalCPOUpdate(delta=0.02, critic=CriticSettings(epochs=2), cost_limit=2.0)
    state = update.initial_state(module.get_state())
    weights_in = {k: v.clone() for k, v in state.weights.items()}
    new, metrics = update(module, state, episodes, None, 0)
    assert _equal(state.weights, weights_in)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    again, _ = update(module, state, episodes, None, 0)
    assert _equal(again.weights, new.weights)
    # b = (J_C − d)/L by hand; the step c·x* with ‖x*‖ ≤ sqrt(2δ) (the ball), c ∈ (0, 1].
    j_c = np.mean([sum(info["cost"] for info in ep.get_infos()[1:]) for ep in episodes])
    assert metrics["b"] == pytest.approx((j_c - 2.0) / 25.0)
    policy = [k for k in weights_in if k == "log_std" or k.startswith("pi.")]
    moved = float(torch.cat([(new.weights[k] - weights_in[k]).ravel() for k in policy]).norm())
    assert moved == pytest.approx(metrics["step_norm"], rel=1e-5)
    assert 0 < moved <= math.sqrt(2 * 0.02) * (1 + 1e-6)


def test_meta_cpo_local_step_in_the_kl_trust_region() -> None:
    config = MetaCPOConfig().training(
        local_trust_region="kl", max_kl=0.02, cg_damping=0.1, cg_iterations=20
    )
    update = dataclasses.replace(
        LocalCPOUpdate.from_config(config), critic=CriticSettings(epochs=2), cost_limit=2.0
    )
    assert update.fisher == FisherMetric(damping=0.1, iterations=20)
    euclidean = dataclasses.replace(update, fisher=None)
    module, episodes = _module(), _episodes()
    state = update.initial_state(module.get_state())
    _, kl_metrics = update(module, state, episodes, None, 0)
    _, ball_metrics = euclidean(module, state, episodes, None, 0)
    # The KL step is solved on the quadratic model ½xᵀ(H + 0.1·I)x ≤ δ: its true mean KL is
    # c²δ up to third-order terms (here 0.0204 for δ = 0.02); the Euclidean ball's step of the
    # same δ has no KL bound (here 0.12).
    c = kl_metrics["line_search_scale"]
    assert 0.5 * c**2 * 0.02 < kl_metrics["kl"] <= 1.05 * c**2 * 0.02
    assert ball_metrics["kl"] > 2 * kl_metrics["kl"]
