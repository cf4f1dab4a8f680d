"""C-MAML meta-iteration wall time with 1 and 2 remote env runners (one task per runner), the
share of sampling vs inner updates vs the outer update, and meta-test wall time per
initialisation — all measured in the same run on the same task family.

    python benchmarks/meta_iteration.py                        # C-MAML Env 1, small budgets
    python benchmarks/meta_iteration.py --rollout-steps 2000 --tasks 10 --inner-steps 3

Each configuration builds a fresh ``CMAML`` Algorithm, runs one warm-up meta-iteration (actor
start-up, first compiles) and then times ``--iterations`` more; the ratio 2-runner / 1-runner is the
parallel speed-up of the inner loops (target ≤ 0.6 on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import ray
from ray import tune

from safemeta.algorithms.c_maml.config import CMAMLConfig
from safemeta.algorithms.meta.algorithm import META_RESULTS
from safemeta.algorithms.meta.protocol import FineTuneProgram, meta_test
from safemeta.algorithms.onpolicy.config import TRPOLagConfig
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate
from safemeta.environments.task_distributions import make_task_distribution
from safemeta.platform.trial import _create_env


def build(args: argparse.Namespace, runners: int):
    distribution = make_task_distribution(args.distribution, hide_goal_lidar=True)
    tune.register_env(
        "bench-meta-env", lambda cfg: _create_env(cfg, name=distribution.env_name, imports=[])
    )
    config = (
        CMAMLConfig()
        .environment("bench-meta-env", env_config=dict(distribution.env_kwargs))
        .env_runners(num_env_runners=runners, num_cpus_per_env_runner=1 if runners else 0)
        .resources(num_cpus_for_main_process=0 if runners else 1)
        .training(
            task_distribution=args.distribution,
            task_distribution_kwargs={"hide_goal_lidar": True},
            tasks_per_iteration=args.tasks,
            inner_steps=args.inner_steps,
            inner_rollout_steps=args.rollout_steps,
            critic_epochs=args.critic_epochs,
        )
        .debugging(seed=0)
    )
    return config.build_algo(), distribution


def time_iterations(
    algo, iterations: int, parts: tuple[str, ...] = ("inner_sample_s", "inner_update_s")
) -> dict[str, float]:
    """Median wall seconds of ``iterations`` meta-iterations after a warm-up one, and the mean of
    each logged ``parts`` key and of ``outer_update_s``."""
    algo.train()  # warm-up
    walls, shares = [], dict.fromkeys([*parts, "outer_update_s"], 0.0)
    for _ in range(iterations):
        start = time.perf_counter()
        meta = algo.train()[META_RESULTS]
        walls.append(time.perf_counter() - start)
        for key in shares:
            shares[key] += meta[key]
    return {"wall_s": float(np.median(walls)), **{k: v / iterations for k, v in shares.items()}}


def time_meta_test(algo, distribution, args: argparse.Namespace) -> float:
    tasks = distribution.sample_tasks(args.tasks, split="test", seed=1)
    update = OnPolicyLocalUpdate.from_config(TRPOLagConfig(), "trpo_lag")
    program = FineTuneProgram(update, args.inner_steps, num_timesteps=args.rollout_steps)
    start = time.perf_counter()
    meta_test(algo.env_runner_group, algo.meta_weights(), tasks, program)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distribution", default="c_maml_env1")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--inner-steps", type=int, default=2)
    parser.add_argument("--rollout-steps", type=int, default=1000)
    parser.add_argument("--critic-epochs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {vars(args)}")
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        results = {}
        for runners in (1, 2):
            algo, distribution = build(args, runners)
            try:
                results[runners] = time_iterations(algo, args.iterations)
                results[runners]["meta_test_s"] = time_meta_test(algo, distribution, args)
            finally:
                algo.stop()
        steps = args.tasks * (args.inner_steps + 1) * args.rollout_steps
        for runners, r in results.items():
            total = r["inner_sample_s"] + r["inner_update_s"]
            print(
                f"{runners} runner(s): meta-iteration {r['wall_s']:.1f} s "
                f"({steps / r['wall_s']:.0f} env steps/s); on the runners "
                f"sampling {r['inner_sample_s'] / total:.0%}, inner updates "
                f"{r['inner_update_s'] / total:.0%}; outer update {r['outer_update_s']:.2f} s; "
                f"meta-test of one initialisation {r['meta_test_s']:.1f} s"
            )
        print(f"ratio 2 / 1 runners: {results[2]['wall_s'] / results[1]['wall_s']:.2f}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
