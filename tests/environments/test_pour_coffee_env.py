"""SafetyPourCoffee-v0: spaces, Eq. 17, Table III settings, constructed collision and spill."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safemeta.environments import make
from safemeta.environments.pour_coffee import kinematics as kin
from safemeta.environments.pour_coffee.reward import (
    SETTINGS,
    EffortMeter,
    pour_reward,
    wrapped_difference,
)
from safemeta.environments.pour_coffee.spillage import (
    CupGeometry,
    liquid_angle,
    spills,
    surface_tilt,
)

ZERO = np.zeros(4, dtype=np.float32)


def goal_seeking(obs: np.ndarray, max_linear_speed: float, max_pour_rate: float) -> np.ndarray:
    """A scripted controller: straight to the goal upright, then roll to the pouring angle."""
    position, euler, goal = obs[:3], obs[3:6], obs[9:12]
    delta = goal - position
    linear = np.clip(delta * 3.0 / max_linear_speed, -1, 1)
    target_phi = obs[14] if np.linalg.norm(delta) < 0.04 else 0.0
    pour = np.clip(2.0 * (target_phi - euler[2]) / max_pour_rate, -1, 1)
    return np.array([*linear, pour], dtype=np.float32)


@pytest.fixture(scope="module")
def env():
    environment = make("SafetyPourCoffee-v0")
    yield environment
    environment.close()


def test_spaces_and_env_checker(env):
    assert env.observation_space.shape == (15,)
    assert env.action_space.shape == (4,)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert np.allclose(obs[9:12], [0.55, -0.17, 0.22])  # goal position
    assert np.allclose(obs[12:15], [0.0, 0.0, 1.4])  # goal orientation


def test_reset_is_deterministic_per_seed(env):
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=7)
        trace = [obs]
        for action in np.random.default_rng(3).uniform(-1, 1, (5, 4)):
            trace.append(env.step(action.astype(np.float32))[0])
        runs.append(np.stack(trace))
    assert np.array_equal(runs[0], runs[1])
    other, _ = env.reset(seed=8)
    assert not np.array_equal(other, runs[0][0])


def test_eq17_reward_terms_per_setting():
    sim1, sim2, sim3 = SETTINGS["sim1"], SETTINGS["sim2"], SETTINGS["sim3"]
    # Far from the goal: r1·d (+ r2·‖a‖ + r3·1[spill] where the setting has them).
    assert pour_reward(0.3, 4.0, True, 0.0, 1.4, sim1) == pytest.approx(-0.6)
    assert pour_reward(0.3, 4.0, True, 0.0, 1.4, sim2) == pytest.approx(-0.6 - 0.2)
    assert pour_reward(0.3, 4.0, True, 0.0, 1.4, sim3) == pytest.approx(-0.6 - 0.2 - 1.0)
    assert pour_reward(0.3, 4.0, False, 0.0, 1.4, sim3) == pytest.approx(-0.8)
    # Within d_thresh = 5 cm: −|φ − φ_goal| + 10, whatever the setting; the angle difference wraps.
    for setting in (sim1, sim2, sim3):
        assert pour_reward(0.05, 9.0, True, 1.2, 1.4, setting) == pytest.approx(9.8)
    assert pour_reward(0.01, 0.0, False, math.pi - 0.1, -math.pi + 0.1, sim1) == pytest.approx(9.8)
    assert wrapped_difference(3.0, -3.0) == pytest.approx(6.0 - 2 * math.pi)
    assert SETTINGS["sim3"] == SETTINGS["sim4"]
    assert SETTINGS["real"] == SETTINGS["sim1"]
    assert not SETTINGS["sim2"].spill_cost and SETTINGS["sim2"].collision_cost


def test_spill_model_numbers():
    cup = CupGeometry()  # D = 8 cm, H = 10 cm, h = 7 cm: rim reached at atan(0.75) = 36.87°
    assert math.degrees(cup.rim_angle) == pytest.approx(36.8699, abs=1e-3)
    up = np.array([0.0, 0.0, 1.0])
    assert liquid_angle(up, np.zeros(3)) == 0.0
    assert surface_tilt(np.array([9.81, 0.0, 0.0])) == pytest.approx(math.pi / 4)
    # Lateral acceleration g·tan(36.87°) = 7.36 m/s² is the limit for an upright cup.
    assert not spills(up, np.array([7.3, 0.0, 0.0]), cup, at_goal=False)
    assert spills(up, np.array([0.0, 7.45, 0.0]), cup, at_goal=False)
    # A cup tilted 40° at rest spills, unless it is pouring at the goal; accelerating towards the
    # tilt levels the surface with the cup again.
    tilted = np.array([0.0, -math.sin(math.radians(40)), math.cos(math.radians(40))])
    assert spills(tilted, np.zeros(3), cup, at_goal=False)
    assert not spills(tilted, np.zeros(3), cup, at_goal=True)
    assert not spills(tilted, np.array([0.0, -9.81 * math.tan(math.radians(40)), 0.0]), cup,
                      at_goal=False)  # fmt: skip
    with pytest.raises(ValueError, match="fill"):
        CupGeometry(fill=0.12)


def test_effort_meter_finite_differences():
    meter = EffortMeter(dt=0.05)
    for k in range(1, 5):  # constant acceleration of 2 m/s² along x
        meter.update(np.array([0.1 * k, 0.0, 0.0]))
    summary = meter.summary()
    assert summary["ee_acc_max"] == pytest.approx(2.0)
    assert summary["ee_acc_mean"] == pytest.approx(2.0)
    assert summary["ee_jerk_max"] == pytest.approx(40.0)  # the start from rest only
    assert summary["ee_jerk_mean"] == pytest.approx(10.0)


def test_constructed_collision_costs_in_every_setting():
    for setting in ("sim1", "sim2", "real"):
        env = make("SafetyPourCoffee-v0", setting=setting, init_joint_noise=0.0)
        env.reset(seed=0)
        env.twin_backend.reset_joints(np.array([0, 2.0, 0, 0, 0, 0, 0]))  # into the table
        _, _, terminated, truncated, info = env.step(ZERO)
        assert info["collided"] and info["cost_collision"] == 1.0 and info["cost"] == 1.0
        assert not terminated and not truncated
        env.close()
    env = make("SafetyPourCoffee-v0", terminate_on_violation=True)
    env.reset(seed=0)
    env.twin_backend.reset_joints(np.array([0, 0.5, 0, 2.57, 0, 2.0, 0]))  # self-collision
    _, _, terminated, _, info = env.step(ZERO)
    assert info["cost_collision"] == 1.0 and terminated
    env.close()


def test_constructed_spill_costs_per_setting():
    tipped = kin.HOME.copy()
    tipped[6] += math.radians(60)  # mug rolled 60° about its forward axis, far from the goal
    rewards = {}
    for setting in ("sim1", "sim2", "sim3"):
        env = make("SafetyPourCoffee-v0", setting=setting, init_joint_noise=0.0)
        env.reset(seed=0)
        env.twin_backend.reset_joints(tipped)
        _, rewards[setting], _, _, info = env.step(ZERO)
        assert info["spilled"] and not info["collided"]
        assert info["cost_spill"] == (0.0 if setting == "sim2" else 1.0)
        assert info["cost"] == info["cost_spill"]
        env.close()
    # sim3 has the r3 = −1 spill penalty on top of sim2's reward (same step, same acceleration).
    assert rewards["sim3"] - rewards["sim2"] == pytest.approx(-1.0)


def test_a_jerk_of_the_upright_mug_spills():
    env = make("SafetyPourCoffee-v0", max_linear_speed=0.5, init_joint_noise=0.0)
    env.reset(seed=0)
    _, _, _, _, calm = env.step(np.array([0.2, 0, 0, 0], dtype=np.float32))
    assert not calm["spilled"]
    _, _, _, _, info = env.step(np.array([-1.0, 0, 0, 0], dtype=np.float32))  # 0.1 -> −0.5 m/s
    assert info["spilled"] and info["cost"] == 1.0 and info["ee_acc_max"] > 7.36
    env.close()


def test_scripted_controller_succeeds_without_violation():
    env = make("SafetyPourCoffee-v0")
    obs, info = env.reset(seed=1)
    assert info["distance"] > 0.25
    costs = 0.0
    for _ in range(env.max_episode_steps):
        action = goal_seeking(obs, env.max_linear_speed, env.max_pour_rate)
        obs, reward, terminated, truncated, info = env.step(action)
        costs += info["cost"]
        if terminated or truncated:
            break
    assert truncated and not terminated
    assert costs == 0.0 and info["is_success"]
    assert info["distance"] < 0.05 and info["phi_error"] < 0.1 and reward > 9.9
    for key in ("ee_acc_mean", "ee_acc_max", "ee_jerk_mean", "ee_jerk_max"):
        assert info[key] > 0.0
    assert info["ee_acc_max"] < 7.36  # smooth enough not to spill
    env.close()


def test_pouring_at_the_goal_is_not_a_spill(env):
    """Rolled ≈ 80° within d_thresh of the goal: pouring, which the spill model exempts."""
    obs, _ = env.reset(seed=2)
    for _ in range(env.max_episode_steps):
        obs, _, _, _, info = env.step(goal_seeking(obs, env.max_linear_speed, env.max_pour_rate))
        if info["is_success"]:
            break
    assert info["is_success"] and abs(obs[5]) > 1.3  # rolled ≈ 80°, yet no spill near the goal
    assert not info["spilled"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"setting": "sim5"}, "setting must be one of sim1, sim2, sim3, sim4, real"),
        ({"control_hz": 50}, "control_hz must be in 10..40"),
        ({"control_hz": 25}, "divide the 240 Hz physics"),
        ({"backend": "kortex"}, "backend must be 'twin' or 'actor'"),
        ({"max_linear_speed": 0.8}, "Kinova's twist limit"),
        ({"max_episode_steps": 0}, "max_episode_steps must be >= 1"),
    ],
)
def test_bad_arguments_name_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make("SafetyPourCoffee-v0", **kwargs)
