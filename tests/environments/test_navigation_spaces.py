"""Safe navigation: registered ids, space shapes and dtypes, gymnasium's env checker, lidar."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safemeta.environments import make, registered_envs
from safemeta.environments.navigation.lidar import NUM_BINS, PseudoLidar, lidar_reference

NAVIGATION_IDS = sorted(
    name
    for name, entry in registered_envs().items()
    if entry.entry_point.startswith("safemeta.environments.navigation.")
)

# Spec §2: observation dimensions (Point; Car adds 12).
POINT_DIMS = {
    "Circle0": 28,
    "Circle1": 28,
    "Circle2": 28,
    "Goal0": 28,
    "Goal1": 60,
    "Goal2": 60,
    "Button0": 44,
    "Button1": 76,
    "Button2": 76,
}


@pytest.mark.parametrize("robot", ["Point", "Car"])
@pytest.mark.parametrize("task", sorted(POINT_DIMS))
def test_spaces_shape_and_dtype(robot: str, task: str) -> None:
    env = make(f"Safety{robot}{task}-v0")
    expected = POINT_DIMS[task] + (12 if robot == "Car" else 0)
    assert env.observation_space.shape == (expected,)
    assert env.observation_space.dtype == np.float64
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float64
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    obs, info = env.reset(seed=0)
    assert info == {}
    assert obs.shape == (expected,) and obs.dtype == np.float64
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    assert isinstance(reward, float) and info["cost"] in (0.0, 1.0)
    assert not terminated and not truncated


def test_registered_ids() -> None:
    expected = {f"Safety{robot}{task}-v0" for robot in ("Point", "Car") for task in POINT_DIMS}
    expected.add("SafetyCarCircleHazard-v0")
    # Exactly these ids: the env checker below is parametrized over NAVIGATION_IDS.
    assert set(NAVIGATION_IDS) == expected
    assert make("SafetyCarCircleHazard-v0").observation_space.shape == (56,)


@pytest.mark.parametrize("name", NAVIGATION_IDS)
def test_gymnasium_env_checker(name: str) -> None:
    check_env(make(name), skip_render_check=True)


def test_car_circle_hazard_lidar_uses_the_circle_range() -> None:
    """Both lidar blocks of Car-Circle-Hazard (circle, hazards) use the Circle range D = 6."""
    env = make("SafetyCarCircleHazard-v0")
    obs, _ = env.reset(seed=3)
    physics = env.unwrapped.physics
    agent = physics.agent_body
    objects = physics.data.xpos[physics.hazard_bodies, :2]
    pos, rot = physics.data.xpos[agent], physics.data.xmat[agent].reshape(3, 3)
    start = env.unwrapped.robot.sensor_dim + NUM_BINS  # after the circle block
    hazards = obs[start : start + NUM_BINS]
    np.testing.assert_allclose(hazards, lidar_reference(objects, pos, rot, 6.0), atol=1e-12)
    assert np.abs(hazards - lidar_reference(objects, pos, rot, 3.0)).max() > 0.1


def test_vectorised_lidar_matches_reference() -> None:
    rng = np.random.default_rng(0)
    lidar = PseudoLidar([1, 5, 3], max_dist=3.0)
    out = np.empty(3 * NUM_BINS)
    for _ in range(50):
        objects, agent = rng.uniform(-4, 4, (9, 2)), rng.uniform(-1, 1, 3)
        # Any rotation (tilted bodies included): QR of a random matrix, sign-fixed to det +1.
        rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rot *= np.sign(np.linalg.det(rot))
        lidar(objects - agent[:2], agent[2], rot, out)
        expected = np.concatenate(
            [lidar_reference(objects[a:b], agent, rot, 3.0) for a, b in ((0, 1), (1, 6), (6, 9))]
        )
        np.testing.assert_allclose(out, expected, atol=1e-12)


def test_lidar_bins_start_at_body_x_counter_clockwise() -> None:
    lidar = PseudoLidar([1], max_dist=3.0)
    out = np.empty(NUM_BINS)
    # 1.5 m straight ahead, a quarter of the way into bin 0: s = 0.5, alpha = 0.25.
    angle = 0.25 * 2 * np.pi / NUM_BINS
    lidar(np.array([[1.5 * np.cos(angle), 1.5 * np.sin(angle)]]), 0.0, np.eye(3), out)
    expected = np.zeros(NUM_BINS)
    expected[0], expected[1], expected[15] = 0.5, 0.125, 0.375
    np.testing.assert_allclose(out, expected)
    # Agent yawed by +90°: the object is to its right, θ = 3π/2 exactly at the start of bin 12,
    # so α = 0 and bin 11 gets (1 − α)·s = s too (the spec's aliasing).
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    lidar(np.array([[1.5, 0.0]]), 0.0, rot, out)
    assert out[12] == out[11] == 0.5 and out[13] == 0.0
    # Beyond the range nothing is seen.
    lidar(np.array([[3.5, 0.0]]), 0.0, np.eye(3), out)
    assert not out.any()


def test_physics_reference_is_a_separate_copy() -> None:
    import mujoco

    env = make("SafetyPointGoal1-v0")
    env.reset(seed=0)
    model, data, substeps = env.unwrapped.physics_reference()
    assert isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData) and substeps == 10
    np.testing.assert_array_equal(data.qpos, env.unwrapped.physics.data.qpos)
    data.ctrl[:] = 1.0
    mujoco.mj_step(model, data, substeps)
    assert not np.array_equal(data.qpos, env.unwrapped.physics.data.qpos)
