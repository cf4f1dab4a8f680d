"""Gradient updates/s of SACv2-Lag and Meta SAC-Lag, inside RLlib and in a bare torch loop.

One run measures, for each (obs, act) shape and method, with batch 256 and 256×256 MLPs:

* **bare**: ``SafeSACUpdate`` + ``SafeReplay`` (prefilled with random transitions) driven by the
  same ``training_loop.run_updates`` the Learner uses, with no RLlib object alive;
* **rllib**: the registered Algorithm end to end (``algo.train()`` on a random-observation env,
  ``num_env_runners=0``, ``updates_per_env_step=1``): env sampling, routing, the Learner call,
  metrics and weight sync included.

All four loops of a shape are built once and then measured in turn, ``--repeats`` times; ratios
are medians of ratios of neighbouring measurements, because the machine may be shared: compare the
ratios, not the absolute numbers. Usage::

    python benchmarks/update_throughput.py [--repeats 5] [--updates 64] [--threads 1]
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
LOOPS = ("bare", "rllib")


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


class BareLoop:
    """The Learner's update loop without RLlib: ``SafeSACUpdate`` + ``SafeReplay`` (random data)."""

    def __init__(self, method: str, obs_dim: int, act_dim: int) -> None:
        from safemeta.algorithms.sac_lagrangian.buffers import SafeReplay
        from safemeta.algorithms.sac_lagrangian.module import SafeSACModule
        from safemeta.algorithms.sac_lagrangian.update import SafeSACUpdate

        env = RandomSafeEnv({"obs_dim": obs_dim, "act_dim": act_dim})
        module = SafeSACModule(
            observation_space=env.observation_space,
            action_space=env.action_space,
            model_config={"actor_hiddens": HIDDEN, "critic_hiddens": HIDDEN},
        )
        self.core = SafeSACUpdate(module, _settings(method))
        self.replay = SafeReplay(obs_dim, act_dim, 100_000, 100_000, 10_000)
        rng, n = np.random.default_rng(0), 5000
        self.replay.add_transitions(
            {
                "obs": rng.uniform(-1, 1, (n, obs_dim)),
                "actions": rng.uniform(-1, 1, (n, act_dim)),
                "rewards": np.zeros(n),
                "costs": (rng.random(n) < 0.05).astype(np.float32),
                "next_obs": rng.uniform(-1, 1, (n, obs_dim)),
                "dones": np.zeros(n),
            }
        )
        self.replay.add_initial_states(rng.uniform(-1, 1, (100, obs_dim)))
        self.seconds_per_update(5)  # warm-up

    def seconds_per_update(self, updates: int) -> float:
        from safemeta.algorithms.sac_lagrangian.training_loop import run_updates

        start = time.perf_counter()
        run_updates(self.core, self.replay, updates, BATCH)
        return (time.perf_counter() - start) / updates


class RLlibLoop:
    """The registered Algorithm end to end: ``algo.train()`` with one update per env step."""

    def __init__(self, method: str, obs_dim: int, act_dim: int, updates: int) -> None:
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
        self.algo = config.build_algo()
        self.learner = self.algo.learner_group._learner
        while self.learner.core.updates_done == 0:
            self.algo.train()  # warm-up: random actions, then the first updates

    def seconds_per_update(self) -> float:
        before = self.learner.core.updates_done
        start = time.perf_counter()
        self.algo.train()
        return (time.perf_counter() - start) / (self.learner.core.updates_done - before)

    def stop(self) -> None:
        self.algo.stop()


def measure_shape(obs_dim: int, act_dim: int, repeats: int, updates: int) -> dict:
    """Interleaved paired measurements of every (method, loop) of one shape."""
    bare = {m: BareLoop(m, obs_dim, act_dim) for m in METHODS}
    rllib = {m: RLlibLoop(m, obs_dim, act_dim, updates) for m in METHODS}
    times: dict[tuple[str, str], list[float]] = {(m, k): [] for m in METHODS for k in LOOPS}
    try:
        for _ in range(repeats):
            for method in METHODS:
                times[(method, "bare")].append(bare[method].seconds_per_update(updates))
                times[(method, "rllib")].append(rllib[method].seconds_per_update())
    finally:
        for loop in rllib.values():
            loop.stop()
    return times


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--updates", type=int, default=64, help="updates per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        results = {shape: measure_shape(*shape, args.repeats, args.updates) for shape in SHAPES}
    finally:
        ray.shutdown()

    print(
        f"\nbatch {BATCH}, MLPs {HIDDEN}, torch threads {args.threads}, "
        f"{args.repeats} interleaved repeats of {args.updates} updates; medians"
    )
    print("| obs/act | method | bare upd/s | RLlib upd/s | RLlib ÷ bare time per update |")
    print("|---|---|---|---|---|")
    for (obs_dim, act_dim), times in results.items():
        for method in METHODS:
            bare, rllib = times[(method, "bare")], times[(method, "rllib")]
            print(
                f"| {obs_dim}/{act_dim} | {method} | {1 / statistics.median(bare):.1f} | "
                f"{1 / statistics.median(rllib):.1f} | {_median_ratio(rllib, bare):.2f} |"
            )
    print("\n| obs/act | Meta SAC-Lag ÷ SACv2-Lag time per update: bare | RLlib |")
    print("|---|---|---|")
    for (obs_dim, act_dim), times in results.items():
        bare = _median_ratio(times[("meta_sac_lag", "bare")], times[("sacv2_lag", "bare")])
        rllib = _median_ratio(times[("meta_sac_lag", "rllib")], times[("sacv2_lag", "rllib")])
        print(f"| {obs_dim}/{act_dim} | {bare:.2f} | {rllib:.2f} |")
    for (obs_dim, act_dim), times in results.items():
        for key, values in times.items():
            print(obs_dim, act_dim, *key, " ".join(f"{1 / v:.1f}" for v in values))


if __name__ == "__main__":
    main()
