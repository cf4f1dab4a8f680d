"""SafetyHumanoidVelocity-v1: the speed cost, termination, reward (the shared contract:
test_robotics_contract.py)."""

from __future__ import annotations

import numpy as np
import pytest

from safemeta.environments import make

NAME = "SafetyHumanoidVelocity-v1"


def mass_center_xy(env) -> np.ndarray:
    model, data = env.model, env.data
    return (model.body_mass @ data.xipos / model.body_mass.sum())[:2].copy()


@pytest.fixture
def env():
    env = make(NAME)
    yield env
    env.close()


def test_standing_still_has_zero_cost(env):
    env.reset(seed=0)
    for _ in range(5):
        _, _, terminated, _, info = env.step(np.zeros(17, dtype=np.float32))
        assert info["cost"] == 0.0
        assert info["cost_velocity"] == 0.0
        assert not terminated


@pytest.mark.parametrize("axis", [0, 1], ids=["pushed-forward", "pushed-sideways"])
def test_push_above_speed_limit_costs_one(env, axis):
    env.reset(seed=0)
    env.data.qvel[axis] = 3.0  # root linear velocity, m/s
    before = mass_center_xy(env)
    _, _, _, _, info = env.step(np.zeros(17, dtype=np.float32))
    after = mass_center_xy(env)
    speed = float(np.linalg.norm(after - before) / env.dt)
    assert speed > 1.4149
    assert info["speed"] == pytest.approx(speed)
    assert info["cost"] == 1.0
    assert info["cost_velocity"] == 1.0


def test_cost_threshold_is_the_v1_limit():
    env = make(NAME)
    env.reset(seed=0)
    env.data.qvel[0] = 1.2
    _, _, _, _, info = env.step(np.zeros(17, dtype=np.float32))
    # Just below the v1 limit but above any smaller limit: cost follows the configured limit.
    assert info["speed"] < 1.4149
    assert info["cost"] == 0.0
    strict = make(NAME, speed_limit=0.5)
    strict.reset(seed=0)
    strict.data.qvel[0] = 1.2
    _, _, _, _, info = strict.step(np.zeros(17, dtype=np.float32))
    assert info["cost"] == 1.0


def test_terminate_on_violation():
    env = make(NAME, terminate_on_violation=True)
    env.reset(seed=0)
    env.data.qvel[0] = 3.0
    _, _, terminated, truncated, info = env.step(np.zeros(17, dtype=np.float32))
    assert info["cost"] == 1.0
    assert terminated and not truncated


def test_reward_is_humanoid_v4(env):
    env.reset(seed=0)
    env.data.qvel[0] = 1.0
    action = np.full(17, 0.2, dtype=np.float32)
    before = mass_center_xy(env)
    _, reward, _, _, _ = env.step(action)
    v_x = (mass_center_xy(env) - before)[0] / env.dt
    assert reward == pytest.approx(1.25 * v_x + 5.0 - 0.1 * float(np.sum(action**2)), rel=1e-5)


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="speed_limit"):
        make(NAME, speed_limit=0.0)
