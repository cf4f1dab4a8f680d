"""Safe navigation: robot facts, sensor conventions and reward signs (spec §1, §2, §4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments import make
from safemeta.environments.navigation.env import SafeNavigationEnv
from safemeta.environments.navigation.tasks import level_task


def run(env: SafeNavigationEnv, action: tuple[float, float], steps: int) -> list[float]:
    rewards = []
    for _ in range(steps):
        _, reward, _, _, _ = env.step(np.array(action))
        rewards.append(reward)
    return rewards


def test_point_speed_turn_rate_and_saturation() -> None:
    env = SafeNavigationEnv(
        "point", level_task("goal", 0).replace(agent_xy=(0.0, 0.0), agent_yaw=0.0)
    )
    env.reset(seed=0)
    run(env, (1.0, 0.0), 100)  # 2 s
    data = env.physics.data
    assert abs(np.hypot(*data.qvel[:2]) - 1.47) < 0.02  # terminal 1.5 m/s
    trajectory_full = data.qpos.copy()
    env.reset(seed=0)
    run(env, (0.05, 0.0), 100)  # saturated command: identical trajectory
    np.testing.assert_array_equal(data.qpos, trajectory_full)
    env.reset(seed=0)
    run(env, (0.0, 1.0), 50)
    assert abs(data.qvel[2] - 3.0) < 0.1  # yaw rate saturates at ≈ 3 rad/s


def test_car_moves_along_body_minus_y() -> None:
    env = SafeNavigationEnv(
        "car", level_task("goal", 0).replace(agent_xy=(0.0, 0.0), agent_yaw=0.0)
    )
    env.reset(seed=0)
    run(env, (1.0, 1.0), 100)  # 4 s
    data = env.physics.data
    assert abs(data.qvel[1] + 0.78) < 0.03 and abs(data.qvel[0]) < 0.15
    assert data.qpos[1] < -1.0


def test_sensor_conventions() -> None:
    yaw = 0.7
    env = SafeNavigationEnv(
        "point", level_task("goal", 0).replace(agent_xy=(0.0, 0.0), agent_yaw=yaw)
    )
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[0:3], [0.0, 0.0, 9.81], atol=1e-6)  # proper acceleration
    np.testing.assert_allclose(
        obs[9:12], [-0.5 * math.sin(yaw), -0.5 * math.cos(yaw), 0.0], atol=1e-9
    )  # magnetometer = heading cue
    obs, *_ = env.step(np.array([1.0, 0.0]))
    assert obs[3] > 0.0 and abs(obs[4]) < 1e-3  # velocimeter in the body frame


def test_circle_reward_counter_clockwise_positive() -> None:
    base = level_task("circle", 0).replace(agent_xy=(1.5, 0.0))
    ccw = SafeNavigationEnv("point", base.replace(agent_yaw=math.pi / 2))
    ccw.reset(seed=0)
    assert all(r > 0 for r in run(ccw, (1.0, 0.0), 30)[1:])
    cw = SafeNavigationEnv("point", base.replace(agent_yaw=-math.pi / 2))
    cw.reset(seed=0)
    assert all(r < 0 for r in run(cw, (1.0, 0.0), 30)[1:])
    # r_t = 0.1 · v_tangential / (1 + |r − 1.5|): at r = 1.5 the reward is 0.1 × speed.
    speed = float(np.hypot(*ccw.physics.data.qvel[:2]))
    x, y = ccw.physics.data.xpos[ccw.physics.agent_body, :2]
    expected = 0.1 * speed / (1 + abs(math.hypot(x, y) - 1.5))
    assert abs(run(ccw, (1.0, 0.0), 1)[0] - expected) < 0.01 * expected + 1e-3


def test_goal_reward_distance_progress_and_bonus() -> None:
    task = level_task("goal", 0).replace(agent_xy=(0.0, 0.0), agent_yaw=0.0, goal_xy=(0.8, 0.0))
    env = SafeNavigationEnv("point", task)
    env.reset(seed=0)
    toward = run(env, (1.0, 0.0), 10)
    assert all(r > 0 for r in toward)
    env.reset(seed=0)
    goal_step = None
    total = 0.0
    for t in range(100):
        _, reward, terminated, _, info = env.step(np.array([1.0, 0.0]))
        total += reward
        if info.get("goal_met"):
            goal_step = t
            assert reward > 1.0  # progress + 1 bonus
            break
    assert goal_step is not None and not terminated
    # Progress up to the goal radius (0.8 − 0.3) plus the bonus.
    assert abs(total - (1.0 + 0.8 - 0.3)) < 0.05
    # The goal respawned at least 0.705 away; the progress reference was reset with it.
    physics = env.physics
    goal = physics.data.mocap_pos[physics.goal_mocap, :2]
    assert np.hypot(*(goal - physics.data.xpos[physics.agent_body, :2])) > 0.7
    assert abs(run(env, (0.0, 0.0), 1)[0]) < 0.05
    backwards = SafeNavigationEnv("point", task.replace(agent_yaw=math.pi))
    backwards.reset(seed=0)
    assert all(r < 0 for r in run(backwards, (1.0, 0.0), 10))


def test_button_reward_and_timer_blank_the_button_lidar() -> None:
    task = level_task("button", 0).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_button=0,
        buttons_xy=((0.35, 0.0), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8)),
    )
    env = SafeNavigationEnv("point", task)
    obs, _ = env.reset(seed=0)
    buttons = slice(12, 28)
    assert obs[buttons].any()
    for _ in range(60):
        obs, reward, _, _, info = env.step(np.array([1.0, 0.0]))
        if info.get("goal_met"):
            assert reward > 0.9
            assert not obs[buttons].any()  # timer 10 → button lidar blank
            break
    else:
        raise AssertionError("the goal button was never touched")
    for _ in range(9):
        obs, *_ = env.step(np.array([-1.0, 0.0]))
        assert not obs[buttons].any()
    for _ in range(3):
        obs, *_ = env.step(np.array([-1.0, 0.0]))
    assert obs[buttons].any()


def test_episode_lengths() -> None:
    for name, length in (("SafetyPointCircle0-v0", 500), ("SafetyPointGoal0-v0", 1000)):
        env = make(name)
        env.reset(seed=0)
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(np.zeros(2))
            steps += 1
            done = terminated or truncated
        assert steps == length and truncated and not terminated


def test_same_button_quirk_and_its_switch() -> None:
    task = level_task("button", 0).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_button=0,
        buttons_xy=((0.35, 0.0), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8)),
    )
    repeats = {}
    for allow in (True, False):
        env = SafeNavigationEnv("point", task.replace(allow_same_button=allow))
        count = 0
        for seed in range(40):
            env.reset(seed=seed)
            for _ in range(60):
                *_, info = env.step(np.array([1.0, 0.0]))
                if info.get("goal_met"):
                    break
            *_, info = env.step(np.array([1.0, 0.0]))  # still pushing the pressed button
            count += bool(info.get("goal_met"))
        repeats[allow] = count
    assert repeats[False] == 0
    assert 3 <= repeats[True] <= 20  # the same button is re-picked with probability 1/4


def test_car_ball_sensors_are_a_rotation_matrix() -> None:
    env = SafeNavigationEnv("car", level_task("goal", 0))
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[15:24], np.eye(3).ravel(), atol=1e-9)  # caster at rest
    for _ in range(30):
        obs, *_ = env.step(np.array([1.0, -0.3]))
    rot = obs[15:24].reshape(3, 3)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-9)
    assert not np.allclose(rot, np.eye(3)) and np.abs(obs[12:15]).max() > 0.1  # it rolled


def test_reward_is_clipped_with_a_warning() -> None:
    env = SafeNavigationEnv("point", level_task("goal", 0))
    env.reset(seed=0)
    env._last_dist = 50.0  # a jump no physical step can produce
    with pytest.warns(UserWarning, match="clipped"):
        _, reward, *_ = env.step(np.zeros(2))
    assert reward == 10.0
