"""CI-sized learning test: Meta SAC-Lag and SACv2-Lag learn a 1-D safe corridor in ~2k steps.

The agent moves along a line (x += 0.2·a); the reward of a step is the new position x, so reward
grows with position, and every step beyond the wall at x = 1 costs 1 and ends the episode. The safe
optimum drives up to the wall and stays just below it (return ≈ 17 over 20 steps); random actions
return ≈ 2, and driving straight on hits the wall after 5 steps (return ≈ 3.5, violation rate 1).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from safemeta.algorithms.registry import get_algorithm_entry

HORIZON = 20
WALL = 1.0
RETURN_TO_BEAT = 10.0
MAX_VIOLATION_RATE = 0.1


class Corridor(gym.Env):
    """Position x ∈ [-1, 2] starting near 0; reward x; cost (and termination) when x > 1."""

    def __init__(self, config: dict | None = None) -> None:
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.t / HORIZON], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-0.2, 0.2)), 0
        return self._obs(), {}

    def step(self, action):
        self.x = float(np.clip(self.x + 0.2 * float(np.clip(action[0], -1, 1)), -1.0, 2.0))
        self.t += 1
        cost = float(self.x > WALL)
        truncated = self.t >= HORIZON and not cost
        return self._obs(), self.x, bool(cost), truncated, {"cost": cost}


def evaluate(policy, episodes: int = 20) -> tuple[float, float]:
    """Mean return and violation rate of ``policy(obs) -> action`` over fixed-seed episodes."""
    env, returns, violations = Corridor(), [], 0.0
    for i in range(episodes):
        obs, _ = env.reset(seed=1000 + i)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            total += reward
            violations += info["cost"]
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns)), violations / episodes


def test_baselines_of_the_corridor_fall_short():
    rng = np.random.default_rng(0)
    random_return, _ = evaluate(lambda obs: rng.uniform(-1, 1, 1))
    straight_return, straight_violations = evaluate(lambda obs: np.ones(1))
    assert random_return < RETURN_TO_BEAT and straight_return < RETURN_TO_BEAT
    assert straight_violations == 1.0


@pytest.mark.parametrize("name", ["meta_sac_lag", "sacv2_lag"])
def test_learns_a_safe_high_return_policy(local_ray, name):
    hyperparameters = {
        "actor_hiddens": [64, 64],
        "critic_hiddens": [64, 64],
        "train_batch_size_per_learner": 64,
        "num_steps_sampled_before_learning_starts": 300,
        "initial_state_prefill": 20,
        "actor_lr": 1e-3,
        "critic_lr": 1e-3,
        "nu_lr": 1e-3,
        "epsilon_lr": 1e-3,
        "alpha_lr": 3e-3,
        "nu": 10.0,
        "updates_per_env_step": 0.5,
    }
    if name == "sacv2_lag":
        hyperparameters["epsilon"] = 0.5
    config = get_algorithm_entry(name).build_config(hyperparameters)
    config.environment(Corridor).env_runners(num_env_runners=0).debugging(seed=0)
    config.reporting(min_sample_timesteps_per_iteration=512)
    algo = config.build_algo()
    try:
        for _ in range(4):  # 2048 env steps, ~870 gradient updates
            algo.train()
        pi = algo.learner_group._learner.module["default_policy"].pi

        def policy(obs: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return torch.tanh(pi(torch.as_tensor(obs)[None])[0, :1]).numpy()

        mean_return, violation_rate = evaluate(policy)
    finally:
        algo.stop()
    assert mean_return > RETURN_TO_BEAT, (mean_return, violation_rate)
    assert violation_rate <= MAX_VIOLATION_RATE, (mean_return, violation_rate)
