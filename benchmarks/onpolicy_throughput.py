"""On-policy iteration throughput: env steps/s of a full iteration (sampling + update) of the
on-policy family, and the share of the iteration spent sampling vs updating.

Each configuration builds the registered algorithm on one env, runs ``--warmup`` iterations, then
times ``--iterations`` more: the wall time of ``train()``, and the sampling and update times from
the family's unsmoothed ``result["onpolicy"]`` timers (RLlib's ``timers`` are smoothed averages).
One torch thread; the machine may be shared, so the best of ``--repeats`` runs is reported.

    python benchmarks/onpolicy_throughput.py                              # defaults below
    python benchmarks/onpolicy_throughput.py --algorithms cpo --envs-per-runner 1 4
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import ray
import torch
from ray import tune

from safemeta.algorithms.registry import get_algorithm_entry
from safemeta.environments import make


def measure(
    algorithm: str,
    env: str,
    *,
    batch: int,
    env_runners: int,
    envs_per_runner: int,
    warmup: int,
    iterations: int,
) -> dict[str, float]:
    """Mean seconds per iteration (total, sampling, update) and env steps/s over ``iterations``."""
    config = get_algorithm_entry(algorithm).build_config({"train_batch_size_per_learner": batch})
    config.environment(env).env_runners(
        num_env_runners=env_runners, num_envs_per_env_runner=envs_per_runner
    ).debugging(seed=0)
    algo = config.build_algo()
    try:
        for _ in range(warmup):
            algo.train()
        totals = {"iteration": 0.0, "sampling": 0.0, "update": 0.0, "steps": 0.0}
        for _ in range(iterations):
            before = algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"), default=0)
            start = time.perf_counter()
            result = algo.train()
            totals["iteration"] += time.perf_counter() - start
            totals["sampling"] += result["onpolicy"]["sampling_s"]
            totals["update"] += result["onpolicy"]["update_s"]
            totals["steps"] += result["env_runners"]["num_env_steps_sampled_lifetime"] - before
    finally:
        algo.stop()
    n = float(iterations)
    return {
        "s_per_iteration": totals["iteration"] / n,
        "sampling_s": totals["sampling"] / n,
        "update_s": totals["update"] / n,
        "steps_per_s": totals["steps"] / totals["iteration"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=["trpo_lag", "cpo", "ppo_lag"])
    parser.add_argument("--env", default="SafetyPointGoal1-v0")
    parser.add_argument("--batch", type=int, default=4000)
    parser.add_argument("--env-runners", type=int, nargs="+", default=[0])
    parser.add_argument("--envs-per-runner", type=int, nargs="+", default=[4])
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(1)
    tune.register_env(args.env, lambda cfg: make(args.env, **cfg))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, ray {ray.__version__}; env {args.env}, "
        f"batch {args.batch} steps/iteration, {args.iterations} timed iterations"
    )
    print(
        "| algorithm | env runners | envs/runner | env steps/s | s/iteration | sampling | update |"
    )
    print("|---|---|---|---|---|---|---|")
    try:
        for algorithm in args.algorithms:
            for runners in args.env_runners:
                for envs in args.envs_per_runner:
                    runs = [
                        measure(
                            algorithm,
                            args.env,
                            batch=args.batch,
                            env_runners=runners,
                            envs_per_runner=envs,
                            warmup=args.warmup,
                            iterations=args.iterations,
                        )
                        for _ in range(args.repeats)
                    ]
                    best = max(runs, key=lambda r: r["steps_per_s"])
                    t = best["s_per_iteration"]
                    print(
                        f"| {algorithm} | {runners} | {envs} | {best['steps_per_s']:,.0f} | "
                        f"{t:.2f} | {best['sampling_s']:.2f} s ({best['sampling_s'] / t:.0%}) | "
                        f"{best['update_s']:.2f} s ({best['update_s'] / t:.0%}) |",
                        flush=True,
                    )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
