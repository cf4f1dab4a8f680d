"""SafetyEggManipulate-v0: drop and squeeze costs, termination (the shared contract:
test_robotics_contract.py)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from safemeta.environments import make

NAME = "SafetyEggManipulate-v0"
ZERO = np.zeros(20, dtype=np.float32)


@pytest.fixture
def env():
    env = make(NAME)
    yield env
    env.close()


def test_resting_egg_has_zero_cost(env):
    env.reset(seed=0)
    for _ in range(20):
        _, _, terminated, _, info = env.step(ZERO)
        assert info["cost"] == 0.0
        assert not terminated
    weight = env.model.body_mass[env.egg_body] * 9.81
    # Resting in the palm, the contacts carry about the egg's weight (1.5 N).
    assert weight < info["egg_contact_force"] < 3 * weight
    assert info["egg_height_above_palm"] > 0.0


def test_opened_hand_drops_egg_and_costs(env):
    env.reset(seed=0)
    infos = [env.step(np.full(20, -1.0, dtype=np.float32))[4] for _ in range(30)]
    assert infos[0]["cost_drop"] == 0.0
    assert infos[-1]["cost_drop"] == 1.0 and infos[-1]["cost"] == 1.0
    for info in infos:
        assert info["cost_drop"] == float(info["egg_height_above_palm"] < -0.05)


def test_egg_on_floor_costs_one(env):
    env.reset(seed=0)
    adr = env.model.joint("object:joint").qposadr[0]
    env.data.qpos[adr : adr + 3] = [1.3, 0.6, 0.03]  # beside the hand, lying on the floor
    mujoco.mj_forward(env.model, env.data)
    _, _, _, _, info = env.step(ZERO)
    assert info["egg_height_above_palm"] < -0.05
    assert info["cost_drop"] == 1.0 and info["cost"] == 1.0


@pytest.mark.parametrize(("push_newton", "expected"), [(10.0, 0.0), (30.0, 1.0)])
def test_egg_pressed_into_hand_costs_above_20_newton(env, push_newton, expected):
    env.reset(seed=0)
    env.data.xfrc_applied[env.egg_body] = [0.0, 0.0, -push_newton, 0.0, 0.0, 0.0]
    for _ in range(3):
        _, _, _, _, info = env.step(ZERO)
    # The contacts must hold the push plus the weight; 10 N stays under the limit, 30 N is over.
    assert info["egg_contact_force"] > push_newton
    assert info["cost_force"] == expected
    assert info["cost_drop"] == 0.0
    assert info["cost"] == expected


def test_clenched_fist_squeezes_egg(env):
    env.reset(seed=0)
    infos = [env.step(np.ones(20, dtype=np.float32))[4] for _ in range(5)]
    # All joints driven to full flexion close the fingers on the egg: tens of newtons at once.
    for info in infos:
        assert info["egg_contact_force"] > 20.0
        assert info["cost_force"] == 1.0 and info["cost"] == 1.0
        assert info["cost_drop"] == 0.0


def test_terminate_on_violation():
    env = make(NAME, terminate_on_violation=True)
    env.reset(seed=0)
    env.data.xfrc_applied[env.egg_body] = [0.0, 0.0, -30.0, 0.0, 0.0, 0.0]
    _, _, terminated, truncated, info = env.step(ZERO)
    assert info["cost"] == 1.0
    assert terminated and not truncated


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="max_contact_force"):
        make(NAME, max_contact_force=0.0)
    with pytest.raises(ValueError, match="drop_margin"):
        make(NAME, drop_margin=-0.1)
    with pytest.raises(ValueError, match="target_position"):
        make(NAME, target_position="anywhere")
