"""Safe navigation: spec §9 reference numbers (uniform random policy, 50 seeds; oracle, 5 seeds).

Protocol (spec §9): episode i calls ``reset(seed=i)`` and draws its actions from
``np.random.default_rng(i).uniform(-1, 1, 2)``. Layouts cannot match Safety-Gymnasium's RNG stream,
so the comparison is statistical: two-sample z-tests of the means with the reference's standard
deviations, a ratio test on the spread of returns, and a floor and ceiling on how many episodes have
any cost (the random-policy cost is dominated by a few episodes, spec §9).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments import make

EPISODES = 50
Z = 3.5
# name: (return mean, return sd, cost mean, cost sd, goals per episode) from spec §9.
REFERENCE = {
    "SafetyPointGoal1-v0": (-0.04, 0.95, 52.3, 119.8, 0.12),
    "SafetyPointButton1-v0": (-0.13, 0.71, 63.1, 93.3, 0.08),
    "SafetyPointCircle1-v0": (-0.30, 1.51, 31.6, 72.8, 0.0),
}


def random_policy_episodes(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    env = make(name)
    returns, costs, goals = [], [], []
    for seed in range(EPISODES):
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        ret = cost = goal = 0.0
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 2))
            ret += reward
            cost += info["cost"]
            goal += info.get("goal_met", False)
            done = terminated or truncated
        returns.append(ret)
        costs.append(cost)
        goals.append(goal)
    return np.array(returns), np.array(costs), np.array(goals)


def z_score(ours: np.ndarray, ref_mean: float, ref_sd: float) -> float:
    se = math.sqrt((ours.std(ddof=1) ** 2 + ref_sd**2) / len(ours))
    return abs(ours.mean() - ref_mean) / se


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_random_policy_matches_reference(name: str) -> None:
    ret_mean, ret_sd, cost_mean, cost_sd, goals_per_episode = REFERENCE[name]
    returns, costs, goals = random_policy_episodes(name)
    assert z_score(returns, ret_mean, ret_sd) < Z, (returns.mean(), returns.std())
    assert 0.6 < returns.std(ddof=1) / ret_sd < 1.6, returns.std()
    assert z_score(costs, cost_mean, cost_sd) < Z, (costs.mean(), costs.std())
    assert 3 <= np.count_nonzero(costs) <= 40, costs
    assert set(np.unique(costs)) <= set(range(1001))
    expected_goals = goals_per_episode * EPISODES
    assert abs(goals.sum() - expected_goals) <= Z * math.sqrt(goals.sum() + expected_goals + 1)


def test_oracle_goal0_reaches_goals_at_the_reference_rate() -> None:
    """Privileged oracle (spec §9): 10.8 goals and return 17.67 per episode on Goal0, seeds 0..4."""
    env = make("SafetyPointGoal0-v0")
    physics = env.unwrapped.physics
    goals, returns = [], []
    for seed in range(5):
        env.reset(seed=seed)
        ret, goal, done = 0.0, 0, False
        while not done:
            xy = physics.data.xpos[physics.agent_body, :2]
            rot = physics.data.xmat[physics.agent_body].reshape(3, 3)
            ego = rot[:2, :2].T @ (physics.data.mocap_pos[physics.goal_mocap, :2] - xy)
            angle = math.atan2(ego[1], ego[0])
            action = np.array([1.0 if abs(angle) < 0.5 else 0.0, np.clip(2 * angle, -1, 1)])
            _, reward, terminated, truncated, info = env.step(action)
            ret += reward
            goal += info.get("goal_met", False)
            done = terminated or truncated
        goals.append(goal)
        returns.append(ret)
    assert 8.5 < np.mean(goals) < 13.5, goals
    assert 13.0 < np.mean(returns) < 23.0, returns
