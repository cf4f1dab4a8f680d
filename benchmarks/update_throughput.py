"""Gradient updates/s of SACv2-Lag and Meta SAC-Lag, inside RLlib and in a bare torch loop.

One run measures, for each (obs, act) shape and method, with batch 256 and 256×256 MLPs:

* **bare**: ``SafeSACUpdate`` + ``SafeReplay`` (prefilled with random transitions) driven by the
  same ``training_loop.run_updates`` the Learner uses, with no RLlib object alive;
* **rllib**: the registered Algorithm end to end (``algo.train()`` on a random-observation env,
  ``num_env_runners=0``, ``updates_per_env_step=1``): env sampling, routing, the Learner call,
  metrics and weight sync included.

Measurements alternate (bare, rllib, bare, rllib, ...) and the median is reported, because the
machine may be shared: compare the ratios, not the absolute numbers. Usage::

    python benchmarks/update_throughput.py [--repeats 2] [--updates 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

HIDDEN = [256, 256]
BATCH = 256
SHAPES = ((60, 2), (376, 17))
METHODS = ("sacv2_lag", "meta_sac_lag")


class RandomSafeEnv(gym.Env):
    """Random observations, zero reward, cost 1 with probability 5% (never terminates)."""

    def __init__(self, config: dict | None = None) -> None:
        config = config or {}
        obs_dim, act_dim = int(config.get("obs_dim", 60)), int(config.get("act_dim", 2))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (act_dim,), np.float32)
        self._rng = np.random.default_rng(0)

    def _obs(self) -> np.ndarray:
        return self._rng.uniform(-1, 1, self.observation_space.shape).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 0.0, False, False, {"cost": float(self._rng.random() < 0.05)}


def _settings(method: str):
    from safemeta.algorithms.registry import get_algorithm_entry

    config = get_algorithm_entry(method).build_config({})
    return config.update_settings()


def bare_updates_per_second(method: str, obs_dim: int, act_dim: int, updates: int) -> float:
    """Updates/s of the Learner's loop without RLlib (random data, same functions)."""
    from safemeta.algorithms.sac_lagrangian.buffers import SafeReplay
    from safemeta.algorithms.sac_lagrangian.module import SafeSACModule
    from safemeta.algorithms.sac_lagrangian.training_loop import run_updates
    from safemeta.algorithms.sac_lagrangian.update import SafeSACUpdate

    env = RandomSafeEnv({"obs_dim": obs_dim, "act_dim": act_dim})
    module = SafeSACModule(
        observation_space=env.observation_space,
        action_space=env.action_space,
        model_config={"actor_hiddens": HIDDEN, "critic_hiddens": HIDDEN},
    )
    core = SafeSACUpdate(module, _settings(method))
    replay = SafeReplay(obs_dim, act_dim, 100_000, 100_000, 10_000)
    rng, n = np.random.default_rng(0), 5000
    replay.add_transitions(
        {
            "obs": rng.uniform(-1, 1, (n, obs_dim)),
            "actions": rng.uniform(-1, 1, (n, act_dim)),
            "rewards": np.zeros(n),
            "costs": (rng.random(n) < 0.05).astype(np.float32),
            "next_obs": rng.uniform(-1, 1, (n, obs_dim)),
            "dones": np.zeros(n),
        }
    )
    replay.add_initial_states(rng.uniform(-1, 1, (100, obs_dim)))
    run_updates(core, replay, 5, BATCH)  # warm-up
    start = time.perf_counter()
    run_updates(core, replay, updates, BATCH)
    return updates / (time.perf_counter() - start)


def rllib_updates_per_second(method: str, obs_dim: int, act_dim: int, updates: int) -> float:
    """Updates/s of the registered Algorithm end to end (``algo.train()``)."""
    from safemeta.algorithms.registry import get_algorithm_entry

    config = get_algorithm_entry(method).build_config(
        {
            "actor_hiddens": HIDDEN,
            "critic_hiddens": HIDDEN,
            "train_batch_size_per_learner": BATCH,
            "num_steps_sampled_before_learning_starts": BATCH,
            "initial_state_prefill": 10,
        }
    )
    config.environment(RandomSafeEnv, env_config={"obs_dim": obs_dim, "act_dim": act_dim})
    config.env_runners(num_env_runners=0)
    config.reporting(min_sample_timesteps_per_iteration=updates)
    algo = config.build_algo()
    try:
        while algo.learner_group._learner.core.updates_done == 0:
            algo.train()  # warm-up: random actions, then the first updates
        before = algo.learner_group._learner.core.updates_done
        start = time.perf_counter()
        algo.train()
        elapsed = time.perf_counter() - start
        done = algo.learner_group._learner.core.updates_done - before
    finally:
        algo.stop()
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        rows = {}
        for obs_dim, act_dim in SHAPES:
            for method in METHODS:
                bare, rllib = [], []
                for _ in range(args.repeats):
                    bare.append(bare_updates_per_second(method, obs_dim, act_dim, args.updates))
                    rllib.append(rllib_updates_per_second(method, obs_dim, act_dim, args.updates))
                rows[(obs_dim, act_dim, method)] = (
                    statistics.median(bare),
                    statistics.median(rllib),
                )
                print(f"{obs_dim}/{act_dim} {method}: bare {bare} rllib {rllib}", flush=True)
    finally:
        ray.shutdown()

    print(f"\nbatch {BATCH}, MLPs {HIDDEN}, torch threads {args.threads}, repeats {args.repeats}")
    print("| obs/act | method | bare upd/s | RLlib upd/s | bare ÷ RLlib time (RLlib ÷ bare) |")
    print("|---|---|---|---|---|")
    for (obs_dim, act_dim, method), (bare, rllib) in rows.items():
        print(f"| {obs_dim}/{act_dim} | {method} | {bare:.1f} | {rllib:.1f} | {bare / rllib:.2f} |")
    print("\n| obs/act | Meta SAC-Lag ÷ SACv2-Lag update cost (bare) | (RLlib) |")
    print("|---|---|---|")
    for obs_dim, act_dim in SHAPES:
        b_sac, r_sac = rows[(obs_dim, act_dim, "sacv2_lag")]
        b_meta, r_meta = rows[(obs_dim, act_dim, "meta_sac_lag")]
        print(f"| {obs_dim}/{act_dim} | {b_sac / b_meta:.2f} | {r_sac / r_meta:.2f} |")


if __name__ == "__main__":
    main()
