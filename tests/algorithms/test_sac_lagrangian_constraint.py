"""ν's constraint estimate on representative data, and ν paths that depend on ε.

A fixed replay with a known per-state violation probability p(s) = 0.99·s, s ~ U[0, 1]
(mean 0.495), routed as Alg. 1 does (violations to D_s only); with γ_c = 0, Q_c(s, a) = p(s).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from safemeta.algorithms.sac_lagrangian.buffers import SafeReplay
from safemeta.algorithms.sac_lagrangian.module import SafeSACModule
from safemeta.algorithms.sac_lagrangian.training_loop import run_updates
from safemeta.algorithms.sac_lagrangian.update import STAT_NAMES, SafeSACUpdate, UpdateSettings

N = 8000
MEAN_Q_C = STAT_NAMES.index("mean_q_c")


def _replay() -> tuple[SafeReplay, float]:
    rng = np.random.default_rng(0)
    obs = rng.uniform(0.0, 1.0, (N, 1)).astype(np.float32)
    costs = (rng.uniform(size=N) < 0.99 * obs[:, 0]).astype(np.float32)
    replay = SafeReplay(1, 1, capacity=N, safety_capacity=N, initial_capacity=100)
    replay.add_transitions(
        {
            "obs": obs,
            "actions": rng.uniform(-1, 1, (N, 1)).astype(np.float32),
            "rewards": np.zeros(N, np.float32),
            "costs": costs,
            "next_obs": rng.uniform(0.0, 1.0, (N, 1)).astype(np.float32),
            "dones": costs,
        }
    )
    replay.add_initial_states(obs[:100])
    return replay, float(0.99 * obs.mean())


def _update(**settings) -> SafeSACUpdate:
    torch.manual_seed(0)
    space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    module = SafeSACModule(
        observation_space=space,
        action_space=space,
        model_config={"actor_hiddens": [32, 32], "critic_hiddens": [32, 32]},
    )
    base = {"gamma_c": 0.0, "critic_lr": 3e-3, "actor_optimizer": "adam", "initial_nu": 10.0}
    return SafeSACUpdate(
        module,
        UpdateSettings(**{**base, **settings}),
        generator=torch.Generator().manual_seed(1),
    )


def test_nu_step_measures_the_constraint_on_every_transition() -> None:
    replay, true_mean = _replay()
    assert replay.main.size < 0.6 * N  # about half the transitions violate: they are in D_s
    core = _update(initial_epsilon=0.5)
    run_updates(core, replay, 500, 256)
    used = run_updates(core, replay, 50, 256)[MEAN_Q_C].item()  # what ν's step saw
    assert used == pytest.approx(true_mean, rel=0.1)
    # The same critic averaged over B ⊂ D (Alg. 1's batch) misses the violating states.
    over_d = core.constraint_estimate(replay.sample_main(N, core.generator).obs).item()
    assert over_d < 0.8 * true_mean


def test_two_thresholds_give_two_nu_paths() -> None:
    # Both ε lie above J_c ≈ 0.5, so the slack has one sign in both runs: a step that ignores the
    # slack's size would give one ν path; here the larger ε lowers ν faster.
    replay, _ = _replay()
    paths = {}
    for epsilon in (0.6, 0.9):
        core = _update(initial_epsilon=epsilon, nu_lr=0.05)
        run_updates(core, replay, 300, 256)  # the critic learns Q_c first
        path = []
        for _ in range(20):
            run_updates(core, replay, 5, 256)
            path.append(core.nu.value.item())
        paths[epsilon] = np.array(path)
    assert np.all(paths[0.9] < paths[0.6])
    assert np.all(np.diff(paths[0.6]) < 0) and np.all(np.diff(paths[0.9]) < 0)
    # log ν falls at β·(J_c − ε) per update: the rates stand ≈ (0.9 − J_c) : (0.6 − J_c).
    rates = {e: -np.log(p[-1] / p[0]) for e, p in paths.items()}
    assert rates[0.9] > 2.0 * rates[0.6]


def test_meta_learned_epsilon_starts_inside_its_bounds() -> None:
    # The paper's ε₀ = 1: ε lives in [0, 1.5] (J_c ∈ [0, 1]), so it can move both ways from the
    # start (a bound of 1 pinned it there).
    from safemeta.algorithms.sac_lagrangian.config import MetaSACLagConfig

    config = MetaSACLagConfig()
    core = _update(**{**config.update_settings().__dict__, "critic_lr": 3e-3})
    assert core.epsilon.low < config.epsilon < core.epsilon.high
    assert core.epsilon.high == pytest.approx(1.5)
    with pytest.raises(ValueError, match=r"epsilon=3.0 must be in \[0, 1.5\]"):
        MetaSACLagConfig().training(epsilon=3.0).validate()


def test_epsilon_keeps_moving_when_nu_is_near_its_floor() -> None:
    # At ν ≈ 1e-3, ε's meta-gradient (∝ β_φ·β_ν·ν') is ≈ 1e-10: with RMSProp's default
    # eps = 1e-8 ε would not move; with the family's 1e-20 it moves ≈ β_ε per update.
    from safemeta.algorithms.sac_lagrangian.config import MetaSACLagConfig

    replay, _ = _replay()
    settings = {**MetaSACLagConfig().update_settings().__dict__, "initial_nu": 1e-3}
    core = _update(**{**settings, "critic_lr": 3e-3})
    grads = []
    ascend = core.epsilon.ascend
    core.epsilon.ascend = lambda grad: (grads.append(abs(grad.item())), ascend(grad))
    epsilon0 = core.epsilon.value.item()
    run_updates(core, replay, 50, 256, violation_rate=0.9)
    assert 0 < max(grads) < 1e-8
    moved = abs(core.epsilon.value.item() - epsilon0)
    assert moved > 20 * settings["epsilon_lr"], moved  # 2.2e-2 here; 9e-4 with eps = 1e-8


def test_nu_steps_on_the_violation_rate_when_given() -> None:
    # The default source (``constraint_source="episodes"``): the Learner passes the recent
    # episodes' mean cost; log ν moves by β_ν·(J_c − ε) with that J_c, not the critic's.
    replay, _ = _replay()
    core = _update(initial_epsilon=0.5, nu_lr=0.1)
    nu0 = core.nu.value.item()
    stats = run_updates(core, replay, 1, 256, violation_rate=0.9)
    assert stats[STAT_NAMES.index("constraint_value")].item() == pytest.approx(0.9)
    assert np.log(core.nu.value.item() / nu0) == pytest.approx(0.1 * (0.9 - 0.5))
    stats = run_updates(core, replay, 1, 256, violation_rate=0.1)
    assert np.log(core.nu.value.item() / nu0) == pytest.approx(0.1 * (0.4 - 0.4))
