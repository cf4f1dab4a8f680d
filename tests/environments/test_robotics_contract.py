"""What every robotic safe task promises (SafeRoboticEnv / SafeMujocoWrapper): reset observations
in the space, the time limit, seeded determinism, gymnasium's env checker, the physics reference
for throughput runs, and a named error for a bad ``max_episode_steps``. Each task's own cost,
reward and termination physics are in its test_robotics_<task>.py."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from safemeta.environments import make

# name -> (observation size, action size, MuJoCo steps per env step)
TASKS = {
    "SafetyHumanoidVelocity-v1": (376, 17, 5),
    "SafetyFetchPushTopple-v0": (28, 4, 20),
    "SafetyEggManipulate-v0": (68, 20, 20),
    "SafetyFrankaCloseDrawer-v0": (22, 7, 40),
}


@pytest.fixture(params=list(TASKS))
def name(request) -> str:
    return request.param


@pytest.fixture
def env(name):
    env = make(name)
    yield env
    env.close()


def test_spaces_hold_the_reset_observation(env, name):
    obs_size, action_size, _ = TASKS[name]
    assert env.observation_space.shape == (obs_size,)
    assert env.action_space.shape == (action_size,)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_time_limit_truncates(name):
    env = make(name, max_episode_steps=3)
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, dtype=np.float32)
    flags = [env.step(zero)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    env.reset(seed=0)  # the count restarts with the episode
    assert env.step(zero)[2:4] == (False, False)


def test_deterministic_under_seed(name):
    def rollout(seed: int) -> list[np.ndarray]:
        env = make(name)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(15):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out += [obs, np.array([reward, info["cost"]])]
            if terminated or truncated:
                break
        env.close()
        return out

    first, second = rollout(3), rollout(3)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(rollout(4)[0], first[0])


def test_env_checker(env):
    check_env(env, skip_render_check=True)


def test_physics_reference_copies_the_live_state(env, name):
    env.reset(seed=0)
    model, data, substeps = env.physics_reference()
    assert substeps == TASKS[name][2]
    assert model is env.model and data is not env.data
    np.testing.assert_array_equal(data.qpos, env.data.qpos)


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_bad_max_episode_steps_names_the_field(name, steps):
    with pytest.raises(ValueError, match="max_episode_steps"):
        make(name, max_episode_steps=steps)
