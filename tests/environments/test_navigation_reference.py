"""Safe navigation: spec §9 reference numbers (uniform random policy, 50 seeds; oracle, 5 seeds).

Protocol (spec §9): episode i calls ``reset(seed=i)`` and draws its actions from
``np.random.default_rng(i).uniform(-1, 1, 2)``. Layouts cannot match Safety-Gymnasium's RNG stream,
so the comparison is statistical. For the mean return, mean cost and goals per episode, our 50-seed
mean must lie within ``max(4 SE, 10 % of the spec value)`` of the spec's 50-seed mean, both below
and above, where SE = sd/sqrt(50) of our own sample. The band treats the spec's mean as exact;
its own standard error is about as large as ours, so the band is about 2.8 standard errors of the
difference (tight on purpose). The relative term only matters when our sample has no spread: e.g.
zero goals in every episode fails against the spec's 0.12 goals per episode. The spread of the
returns and the number of episodes with any cost are checked too (the random-policy cost is
dominated by a few episodes, spec §9).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments import make

EPISODES = 50
SE_BAND = 4.0
RELATIVE_BAND = 0.1
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


def assert_mean_matches(label: str, ours: np.ndarray, spec: float) -> None:
    """Our mean within max(4 SE, 10 % of |spec|) of the spec's mean, on both sides."""
    se = ours.std(ddof=1) / math.sqrt(len(ours))
    band = max(SE_BAND * se, RELATIVE_BAND * abs(spec))
    assert spec - band <= ours.mean() <= spec + band, (
        f"{label}: mean {ours.mean():.3f} (SE {se:.3f}) outside {spec} ± {band:.3f}"
    )


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_random_policy_matches_reference(name: str) -> None:
    ret_mean, ret_sd, cost_mean, _, goals_per_episode = REFERENCE[name]
    returns, costs, goals = random_policy_episodes(name)
    assert_mean_matches("return", returns, ret_mean)
    assert_mean_matches("cost", costs, cost_mean)
    assert_mean_matches("goals", goals, goals_per_episode)
    assert 0.6 < returns.std(ddof=1) / ret_sd < 1.6, returns.std(ddof=1)
    assert 3 <= np.count_nonzero(costs) <= 40, costs
    assert set(np.unique(costs)) <= set(range(1001))


def test_mean_band_rejects_what_the_old_test_accepted() -> None:
    """The band has a floor: zero goals, or a far too small or large cost, fail."""
    rng = np.random.default_rng(0)
    heavy = rng.exponential(30.0, EPISODES)  # cost-like sample, mean ≈ 30, SE ≈ 4
    assert_mean_matches("cost", heavy, heavy.mean() + 10.0)
    for spec in (heavy.mean() + 25.0, heavy.mean() - 25.0, 136.0):
        with pytest.raises(AssertionError):
            assert_mean_matches("cost", heavy, spec)
    with pytest.raises(AssertionError):
        assert_mean_matches("goals", np.zeros(EPISODES), 0.12)
    assert_mean_matches("goals", np.zeros(EPISODES), 0.0)


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
