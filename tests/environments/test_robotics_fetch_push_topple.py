"""SafetyFetchPushTopple-v0: topple and off-table costs, reward, termination (the shared
contract: test_robotics_contract.py)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from safemeta.environments import make

NAME = "SafetyFetchPushTopple-v0"
ZERO = np.zeros(4, dtype=np.float32)


def box_qpos(env) -> np.ndarray:
    adr = env.model.joint("object0:joint").qposadr[0]
    return env.data.qpos[adr : adr + 7]


def place_box(env, xyz, tilt_deg: float = 0.0) -> None:
    half = math.radians(tilt_deg) / 2
    box_qpos(env)[:] = [*xyz, math.cos(half), math.sin(half), 0.0, 0.0]
    mujoco.mj_forward(env.model, env.data)


def tilt_from_quaternion(env) -> float:
    _, x, y, _ = box_qpos(env)[3:] / np.linalg.norm(box_qpos(env)[3:])
    return math.degrees(math.acos(np.clip(1 - 2 * (x * x + y * y), -1, 1)))


def push_towards_box(env, lift: float, speed: float, steps: int) -> list[dict]:
    """Raise the gripper by ``lift`` for 6 steps, then drive it at the box with ``speed``."""
    for _ in range(6):
        obs, *_ = env.step(np.array([0, 0, lift, 0], dtype=np.float32))
    infos = []
    for _ in range(steps):
        direction = obs[3:5] - obs[0:2]
        direction /= np.linalg.norm(direction)
        obs, _, _, _, info = env.step(np.array([*(speed * direction), 0, 0], dtype=np.float32))
        info["tilt_from_quaternion"] = tilt_from_quaternion(env)
        infos.append(info)
    return infos


@pytest.fixture
def env():
    env = make(NAME)
    yield env
    env.close()


def test_box_size_and_goal_observation(env):
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[-3:], env.goal)  # desired goal is appended
    np.testing.assert_allclose(env.model.geom("object0").size, [0.02, 0.02, 0.06])
    assert obs[5] == pytest.approx(0.46, abs=2e-3)  # box centre rests 6 cm above the table


def test_idle_arm_has_zero_cost(env):
    env.reset(seed=0)
    for _ in range(50):
        _, _, terminated, truncated, info = env.step(ZERO)
        assert info["cost"] == 0.0
    assert info["tilt_deg"] < 1.0
    assert truncated and not terminated


def test_slow_push_at_mid_height_moves_box_upright(env):
    env.reset(seed=0)
    start = env.data.xpos[env.model.body("object0").id].copy()
    infos = push_towards_box(env, lift=0.3, speed=0.3, steps=20)
    moved = np.linalg.norm(env.data.xpos[env.model.body("object0").id][:2] - start[:2])
    assert moved > 0.03
    assert all(info["cost"] == 0.0 for info in infos)


def test_fast_high_push_topples_and_costs(env):
    env.reset(seed=0)
    infos = push_towards_box(env, lift=0.3, speed=1.0, steps=30)
    costs = [info["cost_topple"] for info in infos]
    assert costs[0] == 0.0 and costs[-1] == 1.0
    for info in infos:
        assert info["tilt_deg"] == pytest.approx(info["tilt_from_quaternion"], abs=1e-6)
        assert info["cost_topple"] == float(info["tilt_from_quaternion"] > 45.0)
        assert info["cost"] == max(info["cost_topple"], info["cost_off_table"])


@pytest.mark.parametrize(("tilt", "expected"), [(0.0, 0.0), (60.0, 1.0), (90.0, 1.0)])
def test_tipped_box_costs_one(env, tilt, expected):
    env.reset(seed=0)
    x, y, _ = env.data.xpos[env.model.body("object0").id]
    place_box(env, (x, y, 0.46 if tilt == 0 else 0.45), tilt)
    _, _, _, _, info = env.step(ZERO)
    assert info["cost_topple"] == expected
    assert info["cost"] == expected
    assert info["cost_off_table"] == 0.0


def test_box_off_table_costs_one(env):
    env.reset(seed=0)
    place_box(env, (1.3, 1.2, 0.46))  # table top spans y in [0.4, 1.1]
    _, _, _, _, info = env.step(ZERO)
    assert info["cost_off_table"] == 1.0
    assert info["cost"] == 1.0


def test_reward_is_negative_distance_plus_success_bonus():
    env = make(NAME, success_bonus=2.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(ZERO)
    assert not info["is_success"]
    assert reward == pytest.approx(-info["distance"])
    goal = env.goal
    place_box(env, (goal[0], goal[1], goal[2]))
    _, reward, _, _, info = env.step(ZERO)
    assert info["is_success"]
    assert reward == pytest.approx(2.0 - info["distance"])
    assert info["distance"] < 0.05


def test_terminate_on_violation():
    env = make(NAME, terminate_on_violation=True)
    env.reset(seed=0)
    x, y, _ = env.data.xpos[env.model.body("object0").id]
    place_box(env, (x, y, 0.45), 60.0)
    _, _, terminated, truncated, info = env.step(ZERO)
    assert info["cost"] == 1.0
    assert terminated and not truncated


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="max_tilt_deg"):
        make(NAME, max_tilt_deg=0.0)
