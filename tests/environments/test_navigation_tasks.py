"""Safe navigation: determinism, task objects, task switching, task distributions (spec §3, §10)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from safemeta.environments import make
from safemeta.environments.navigation.distributions import (
    DISTRIBUTIONS,
    c_maml_env1,
    c_maml_env2,
    goal_in_arc,
    meta_cpo_car_circle_hazard,
    meta_cpo_point_button,
    meta_cpo_point_circle,
)
from safemeta.environments.navigation.env import SafeNavigationEnv
from safemeta.environments.navigation.layout import sample_layout
from safemeta.environments.navigation.tasks import NavTask, level_task
from safemeta.environments.task_distributions import make_task_distribution
from safemeta.environments.tasks import Task, TaskDistribution, TaskSettable, set_task


def rollout(env, seed: int, steps: int) -> tuple[np.ndarray, list[float], list[float]]:
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    observations, rewards, costs = [obs], [], []
    for _ in range(steps):
        obs, reward, _, _, info = env.step(rng.uniform(-1, 1, 2))
        observations.append(obs)
        rewards.append(reward)
        costs.append(info["cost"])
    return np.array(observations), rewards, costs


@pytest.mark.parametrize(
    "name", ["SafetyPointGoal2-v0", "SafetyPointButton1-v0", "SafetyCarCircle1-v0"]
)
def test_reset_seed_reproduces_layout_and_trajectory(name: str) -> None:
    a, b = make(name), make(name)
    first = rollout(a, 3, 200)
    rollout(a, 4, 50)  # another episode in between
    again = rollout(a, 3, 200)
    other_env = rollout(b, 3, 200)
    for run in (again, other_env):
        np.testing.assert_array_equal(first[0], run[0])
        assert first[1] == run[1] and first[2] == run[2]
    assert not np.array_equal(first[0][0], rollout(b, 5, 1)[0][0])


def test_no_global_rng_use() -> None:
    """Construction, reset (seeded and not) and steps leave numpy's and Python's global RNGs alone.

    The scenarios force every RNG path: layout sampling, goal respawns, button picks and, in
    Button1, hazards and gremlins.
    """
    goal = level_task("goal", 1).replace(agent_xy=(0.0, 0.0), goal_xy=(0.1, 0.0))
    button = level_task("button", 1).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_button=0,
        buttons_xy=((0.35, 0.0), (-1.2, 1.2), (-1.2, -1.2), (1.2, -1.2)),
    )
    np.random.seed(1234)
    random.seed(1234)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    goals = 0
    for robot, task in (("point", goal), ("point", button), ("car", level_task("circle", 2))):
        env = SafeNavigationEnv(robot, task)
        env.reset()
        for seed in (0, 1, None):
            env.reset(seed=seed)
            actions = np.random.default_rng(0)
            for _ in range(80):
                *_, info = env.step(np.array([1.0, actions.uniform(-0.05, 0.05)]))
                goals += bool(info.get("goal_met"))
    assert goals >= 6  # respawns and button picks happened (3 episodes each)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert random.getstate() == python_state


def agent_and_goal(env) -> np.ndarray:
    physics = env.unwrapped.physics
    return np.concatenate(
        [physics.data.xpos[physics.agent_body, :2], physics.data.mocap_pos[physics.goal_mocap, :2]]
    )


def test_layout_rng_independent_of_episode_length() -> None:
    short, long = make("SafetyPointGoal1-v0"), make("SafetyPointGoal1-v0")
    for env, steps in ((short, 5), (long, 400)):
        env.reset(seed=11)
        for _ in range(steps):
            env.step(env.action_space.sample())
    short.reset()
    long.reset()
    np.testing.assert_array_equal(agent_and_goal(short), agent_and_goal(long))
    short.reset()
    assert not np.array_equal(agent_and_goal(short), agent_and_goal(long))  # unseeded: new layout


def test_layout_seed_fixes_the_layout() -> None:
    env = make("SafetyPointGoal1-v0", layout_seed=42)
    env.reset(seed=0)
    first = agent_and_goal(env)
    env.reset(seed=1)
    np.testing.assert_array_equal(first, agent_and_goal(env))
    layout = sample_layout(env.unwrapped.get_task(), np.random.default_rng(42))
    np.testing.assert_allclose(first, np.concatenate([layout.agent_xy, layout.goal_xy]))


def test_layout_respects_keepouts_and_extents() -> None:
    task = level_task("button", 2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        layout = sample_layout(task, rng)
        entries = [
            (layout.agent_xy, 0.4),
            *[(p, 0.2) for p in layout.buttons_xy],
            *[(p, 0.18) for p in layout.hazards_xy],
            *[(p, 0.4) for p in layout.gremlins_xy],
        ]
        for i, (p, k) in enumerate(entries):
            assert np.all(np.abs(p) <= 1.8 - k + 1e-12)
            for q, kq in entries[:i]:
                assert np.hypot(*(p - q)) >= k + kq
        np.testing.assert_array_equal(layout.goal_xy, layout.buttons_xy[layout.goal_button])


def test_explicit_positions_override_sampling() -> None:
    hazards = tuple((-1.0 + 0.25 * i, 1.2) for i in range(8))
    task = level_task("goal", 1).replace(
        agent_xy=(0.5, -0.5), agent_yaw=1.0, goal_xy=(-1.0, -1.0), hazards_xy=hazards
    )
    env = SafeNavigationEnv("point", task)
    env.reset(seed=3)
    physics = env.physics
    np.testing.assert_allclose(physics.data.qpos[:3], [0.5, -0.5, 1.0])
    np.testing.assert_allclose(physics.data.mocap_pos[physics.goal_mocap, :2], [-1.0, -1.0])
    np.testing.assert_allclose(physics.data.xpos[physics.hazard_bodies, :2], hazards)
    vase = physics.data.xpos[physics.vase_bodies[0], :2]
    assert np.hypot(*(vase - [0.5, -0.5])) >= 0.55  # sampled entries avoid the fixed ones


def test_set_task_switches_layout_and_parameters_between_episodes() -> None:
    env = make("SafetyPointGoal1-v0")
    env.reset(seed=0)
    structure = env.unwrapped.physics.structure
    new = level_task("goal", 1).replace(
        num_hazards=3,
        hazard_size=0.3,
        placement_extent=2.5,
        max_episode_steps=7,
        layout_seed=5,
        cost_limit=3.0,
    )
    env.unwrapped.set_task(new)
    assert env.unwrapped.get_task() is new
    assert env.unwrapped.physics.structure is structure  # takes effect at the next reset
    before = agent_and_goal(env)
    env.reset(seed=0)
    physics = env.unwrapped.physics
    after = agent_and_goal(env)
    layout = sample_layout(new, np.random.default_rng(5))
    np.testing.assert_allclose(after, np.concatenate([layout.agent_xy, layout.goal_xy]))
    assert not np.allclose(before, after)
    np.testing.assert_allclose(physics.data.xpos[physics.hazard_bodies, :2], layout.hazards_xy)
    assert len(physics.hazard_bodies) == 3
    assert np.allclose(physics.model.geom_size[physics.hazard_geoms, 0], 0.3)
    steps = 0
    while True:
        steps += 1
        if any(env.step(np.zeros(2))[2:4]):
            break
    assert steps == 7
    # Switching back reuses the first compiled model.
    env.unwrapped.set_task(level_task("goal", 1))
    env.reset(seed=0)
    assert env.unwrapped.physics.structure == structure
    # reset(options={"task": ...}) is the same as set_task.
    env.reset(seed=0, options={"task": new})
    assert env.unwrapped.get_task() is new


def test_set_task_rejects_a_different_observation_layout() -> None:
    env = make("SafetyPointGoal1-v0")
    with pytest.raises(ValueError, match="lidar blocks"):
        env.unwrapped.set_task(level_task("goal", 0))
    with pytest.raises(TypeError, match="NavTask"):
        env.unwrapped.set_task({"kind": "goal"})


def test_task_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="hazards_xy has 2 positions but the task has 8"):
        level_task("goal", 1).replace(hazards_xy=((0.0, 0.0), (1.0, 1.0)))
    with pytest.raises(ValueError, match="kind must be one of"):
        NavTask(kind="maze")
    with pytest.raises(ValueError, match="num_hazards must be a non-negative int"):
        NavTask(num_hazards=-1)
    with pytest.raises(ValueError, match="goal_button"):
        level_task("button", 0).replace(goal_button=7)
    task = level_task("button", 1).replace(layout_seed=9)
    assert NavTask.from_dict(task.to_dict()) == task
    with pytest.raises(ValueError, match="unknown NavTask fields"):
        NavTask.from_dict({"colour": "red"})


def test_protocols() -> None:
    env = make("SafetyPointGoal1-v0")
    assert isinstance(env, TaskSettable)
    assert isinstance(level_task("goal", 1), Task)
    for factory in DISTRIBUTIONS.values():
        assert isinstance(factory(), TaskDistribution)


@pytest.mark.parametrize(
    "factory,checks",
    [
        (
            meta_cpo_point_circle,
            {"train": {"circle_radius": (1.0, 1.5)}, "test": {"circle_radius": (2.0, 2.5)}},
        ),
        (
            meta_cpo_car_circle_hazard,
            {
                "train": {"circle_radius": (0.7, 1.0), "num_hazards": (3, 7)},
                "test": {"circle_radius": (1.2, 1.5), "num_hazards": (7, 12)},
            },
        ),
        (
            meta_cpo_point_button,
            {
                "train": {"num_buttons": (3, 6), "placement_extent": (1.75, 2.0)},
                "test": {"num_buttons": (6, 10), "placement_extent": (2.5, 3.0)},
            },
        ),
    ],
)
def test_meta_cpo_distributions(factory, checks) -> None:
    dist = factory()
    env = dist.make_env()
    for split, ranges in checks.items():
        tasks = dist.sample_tasks(20, split=split, seed=0)
        assert tasks == dist.sample_tasks(20, split=split, rng=np.random.default_rng(0))
        assert len({t.layout_seed for t in tasks}) == 20
        for task in tasks:
            for name, (low, high) in ranges.items():
                assert low <= getattr(task, name) <= high
            if task.walls:
                ratio = task.wall_distance / task.circle_radius
                assert (0.65 <= ratio <= 0.75) if split == "train" else (0.55 <= ratio <= 0.65)
            if task.kind == "button":
                assert task.num_hazards == task.num_buttons and task.num_gremlins == 0
        env.unwrapped.set_task(tasks[0])
        obs, _ = env.reset(seed=0)
        assert obs.shape == env.observation_space.shape
        _, _, _, _, info = env.step(np.zeros(2))
        assert info["cost"] == 0.0  # no task starts in violation
    limits = {s: dist.sample_tasks(1, split=s, seed=0)[0].cost_limit for s in ("train", "test")}
    if factory is meta_cpo_car_circle_hazard:
        assert limits == {"train": 10.0, "test": 5.0}
    if factory is meta_cpo_point_button:
        assert env.observation_space.shape == (60,)
    with pytest.raises(ValueError, match="split"):
        dist.sample_tasks(1, split="validation", seed=0)


def test_c_maml_seed_pools() -> None:
    for dist, hazards, vases in ((c_maml_env1(), 9, 1), (c_maml_env2(), 10, 10)):
        train, test = dist.split_seeds["train"], dist.split_seeds["test"]
        assert not set(train) & set(test)
        assert set(train) | set(test) == set(dist.pool)
        assert 80 <= len(dist.pool) <= 160  # the paper found 107 and 106 of 301
        assert all(0 <= s <= 300 for s in dist.pool)
        rejected = next(s for s in range(301) if s not in dist.pool)
        assert not goal_in_arc(dist.task(rejected), 140.0)
        tasks = dist.sample_tasks(10, split="test", seed=1)
        assert len({t.layout_seed for t in tasks}) == 10
        assert {t.layout_seed for t in tasks} <= set(test)
        assert all(
            t.num_hazards == hazards and t.num_vases == vases and t.cost_limit == 5.0 for t in tasks
        )
        with pytest.raises(ValueError, match="exceeds"):
            dist.sample_tasks(len(test) + 1, split="test", seed=0)


def test_c_maml_goal_in_arc_and_hidden_goal_lidar() -> None:
    dist = c_maml_env1(hide_goal_lidar=True)
    task = dist.sample_tasks(1, split="train", seed=0)[0]
    env = dist.make_env()
    env.unwrapped.set_task(task)
    obs, _ = env.reset(seed=0)
    assert not obs[12:28].any() and obs[28:44].any()  # goal lidar hidden, hazards seen
    physics = env.unwrapped.physics
    agent = physics.data.xpos[physics.agent_body, :2]
    goal = physics.data.mocap_pos[physics.goal_mocap, :2]
    yaw = physics.data.qpos[2]
    angle = np.arctan2(*(goal - agent)[::-1]) - yaw
    assert abs(np.angle(np.exp(1j * angle))) <= np.radians(70)
    visible = c_maml_env1().task(task.layout_seed)
    env.unwrapped.set_task(visible)
    assert env.reset(seed=0)[0][12:28].any()
    with pytest.raises(
        ValueError, match="unknown task distribution 'meta_world'; registered: c_maml"
    ):
        make_task_distribution("meta_world")
    hidden = make_task_distribution("c_maml_env1", hide_goal_lidar=True)
    assert hidden.split_seeds == c_maml_env1().split_seeds and hidden.base.hide_goal_lidar


def test_set_task_through_rllib_env_runner() -> None:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    config = (
        PPOConfig()
        .environment(lambda cfg: make("SafetyPointGoal1-v0"))
        .env_runners(num_envs_per_env_runner=2)
    )
    runner = SingleAgentEnvRunner(config=config)
    try:
        task = level_task("goal", 1).replace(num_hazards=2, layout_seed=7, max_episode_steps=5)
        runner.env.unwrapped.call("set_task", task)
        assert runner.env.unwrapped.call("get_task") == (task, task)
        other = task.replace(layout_seed=8)
        set_task(runner.env, other)
        assert runner.env.unwrapped.call("get_task") == (other, other)
        episodes = runner.sample(num_episodes=2, random_actions=True)
        assert all(len(ep) == 5 for ep in episodes)
    finally:
        runner.stop()
