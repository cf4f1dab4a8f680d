"""Frames and distances (spec §2): a tilted Car's lidar, reward, goal and hazard tests, by hand.

The Car is set down rolled about its body x axis and lifted clear of the floor, then stepped once
with zero action; the expectations are computed here from the formulas and the bodies' poses.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from safemeta.environments.navigation.env import SafeNavigationEnv
from safemeta.environments.navigation.tasks import level_task

FAR = ((-1.5, 1.5), (1.5, 1.5), (-1.5, -1.5), (1.5, -1.5))
BINS, WIDTH = 16, 2 * math.pi / 16


def tilted_car(roll: float, lift: float, **fields) -> tuple[SafeNavigationEnv, np.ndarray]:
    """A Goal1 Car at the origin, yaw 0, rolled by ``roll`` and raised by ``lift``; returns the
    env and the agent's world xy at reset (the reward's previous distance was taken there)."""
    task = level_task("goal", 1).replace(
        agent_xy=(0.0, 0.0), agent_yaw=0.0, hazards_xy=FAR + FAR, vases_xy=((-1.0, 1.0),)
    )
    env = SafeNavigationEnv("car", task.replace(**fields))
    env.reset(seed=0)
    p = env.physics
    start_xy = p.data.xpos[p.agent_body, :2].copy()
    q = p.data.qpos[p.agent_qpos : p.agent_qpos + 7]
    q[2] += lift
    q[3:] = (math.cos(roll / 2), math.sin(roll / 2), 0.0, 0.0)
    p.data.qvel[:] = 0.0
    mujoco.mj_forward(p.model, p.data)
    return env, start_xy


def hand_lidar(objects_xy: np.ndarray, agent: np.ndarray, rot: np.ndarray, dist: float):
    """Spec §2, object by object: v = Rᵀ([p_x, p_y, 0] − a); bins, aliasing, max."""
    out = np.zeros(BINS)
    for px, py in objects_xy:
        v = rot.T @ (np.array([px, py, 0.0]) - agent)
        theta = math.atan2(v[1], v[0]) % (2 * math.pi)
        b = int(theta // WIDTH)
        s = max(0.0, dist - math.hypot(v[0], v[1])) / dist
        alpha = (theta - b * WIDTH) / WIDTH
        out[b] = max(out[b], s)
        out[(b + 1) % BINS] = max(out[(b + 1) % BINS], alpha * s)
        out[(b - 1) % BINS] = max(out[(b - 1) % BINS], (1 - alpha) * s)
    return out


def ego_xy_distance(env: SafeNavigationEnv, xy) -> float:
    """|(v_x, v_y)| of the egocentric vector v (what a lidar-based distance would use)."""
    p = env.physics
    a, rot = p.data.xpos[p.agent_body], p.data.xmat[p.agent_body].reshape(3, 3)
    v = rot.T @ (np.array([xy[0], xy[1], 0.0]) - a)
    return math.hypot(v[0], v[1])


def xy_only_distance(env: SafeNavigationEnv, xy) -> float:
    """|R₂ᵀ(p_xy − a_xy)| with R₂ the top-left 2×2 of R: shorter than the world distance when
    the body tilts (the singular values of R₂ are ≤ 1)."""
    p = env.physics
    rot = p.data.xmat[p.agent_body].reshape(3, 3)
    return float(np.linalg.norm((np.asarray(xy) - p.data.xpos[p.agent_body, :2]) @ rot[:2, :2]))


def test_tilted_car_lidar_bins_and_reward_by_hand() -> None:
    goal = (1.1, 0.7)
    env, start_xy = tilted_car(roll=0.35, lift=0.25, goal_xy=goal)
    obs, reward, *_ = env.step(np.zeros(2))
    p = env.physics
    agent, rot = p.data.xpos[p.agent_body].copy(), p.data.xmat[p.agent_body].reshape(3, 3)
    assert math.acos(rot[2, 2]) > 0.3  # still tilted after the step
    sensors = env.robot.sensor_dim
    blocks = {
        "goal": p.data.xpos[[p.goal_body], :2],
        "hazards": p.data.xpos[p.hazard_bodies, :2],
        "vases": p.data.xpos[p.vase_bodies, :2],
    }
    for i, objects in enumerate(blocks.values()):
        got = obs[sensors + i * BINS : sensors + (i + 1) * BINS]
        np.testing.assert_allclose(got, hand_lidar(objects, agent, rot, 3.0), atol=1e-12)
    # The xy-only formula (top-left 2×2 of R, agent height ignored) sees another goal block.
    xy_only = (np.asarray(goal) - agent[:2]) @ rot[:2, :2]
    xy_only_block = hand_lidar([xy_only], np.zeros(3), np.eye(3), 3.0)
    assert np.abs(obs[sensors : sensors + BINS] - xy_only_block).max() > 1e-2
    # Reward = previous world-xy goal distance − current one (Safety-Gymnasium's dist_xy).
    expected = math.dist(goal, start_xy) - math.dist(goal, agent[:2])
    assert abs(reward - expected) < 1e-12
    lidar_based = math.dist(goal, start_xy) - ego_xy_distance(env, goal)
    assert abs(reward - lidar_based) > 1e-2


def test_tilted_car_reaches_the_goal_by_world_xy_distance() -> None:
    # Goal size 0.3. At world-xy 0.33 the goal is not reached, though the tilted xy-only
    # distance is inside (0.29); at 0.28 it is.
    for goal, reached in (((0.0, -0.33), False), ((0.0, -0.28), True)):
        env, _ = tilted_car(roll=0.5, lift=0.3, goal_xy=goal)
        *_, info = env.step(np.zeros(2))
        p = env.physics
        world = math.dist(goal, p.data.xpos[p.agent_body, :2])
        assert (world < 0.3) is reached
        if not reached:
            assert xy_only_distance(env, goal) < 0.3
        assert info.get("goal_met", False) is reached


def test_tilted_car_hazard_cost_by_world_xy_distance() -> None:
    # Hazard size 0.2. At world-xy 0.22 no cost, though the tilted xy-only distance is inside
    # (0.19); at 0.18 the cost fires.
    for hazard, inside in (((0.0, -0.22), False), ((0.0, -0.18), True)):
        env, _ = tilted_car(
            roll=0.5, lift=0.3, goal_xy=(1.5, 0.0), hazards_xy=(hazard, *FAR, *FAR[:3])
        )
        *_, info = env.step(np.zeros(2))
        p = env.physics
        assert (math.dist(hazard, p.data.xpos[p.agent_body, :2]) < 0.2) is inside
        if not inside:
            assert xy_only_distance(env, hazard) < 0.2
        assert info["cost_hazards"] == float(inside)


def test_point_lidar_is_the_planar_formula() -> None:
    # Point's joints are slide x, slide y, hinge z: R is a yaw rotation, so the full 3-D formula
    # reduces to the planar one (2×2 block, height ignored) and Point's results do not change.
    env = SafeNavigationEnv("point", level_task("goal", 1))
    env.reset(seed=4)
    p, sensors = env.physics, env.robot.sensor_dim
    rng = np.random.default_rng(0)
    for _ in range(40):
        obs, *_ = env.step(rng.uniform(-1, 1, 2))
        agent, rot = p.data.xpos[p.agent_body], p.data.xmat[p.agent_body].reshape(3, 3)
        planar = (p.data.xpos[p.hazard_bodies, :2] - agent[:2]) @ rot[:2, :2]
        expected = hand_lidar(planar, np.zeros(3), np.eye(3), 3.0)
        np.testing.assert_allclose(obs[sensors + BINS : sensors + 2 * BINS], expected, atol=1e-12)
