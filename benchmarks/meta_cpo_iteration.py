"""Meta-CPO meta-iteration wall time with the exact meta-gradient (Eq. 11 through the K local
steps) vs first-order, for a (24, 12) and a 64×64 policy, measured in the same run on
Car-Circle-Hazard: what the exact gradient costs a user, beside sampling and the local steps.

    python benchmarks/meta_cpo_iteration.py
    python benchmarks/meta_cpo_iteration.py --tasks 5 --rollout-steps 3000 --inner-steps 3

Each configuration builds a fresh ``MetaCPO`` with 2 remote env runners (one task each), runs one
warm-up meta-iteration and times the median of ``--iterations`` more. Runner seconds are summed
over the tasks (``meta/inner_sample_s``, ``inner_update_s``, ``meta_gradient_s``).
"""

from __future__ import annotations

import argparse
import os
import platform

import ray
from meta_iteration import time_iterations
from ray import tune

from safemeta.algorithms.meta_cpo.config import MetaCPOConfig
from safemeta.environments.task_distributions import make_task_distribution
from safemeta.platform.trial import _create_env

RUNNER_PARTS = ("inner_sample_s", "inner_update_s", "meta_gradient_s")


def build(args: argparse.Namespace, hiddens: tuple[int, int], first_order: bool):
    distribution = make_task_distribution(args.distribution)
    tune.register_env(
        "bench-meta-cpo-env", lambda cfg: _create_env(cfg, name=distribution.env_name, imports=[])
    )
    config = (
        MetaCPOConfig()
        .environment("bench-meta-cpo-env", env_config=dict(distribution.env_kwargs))
        .env_runners(num_env_runners=2, num_cpus_per_env_runner=1)
        .resources(num_cpus_for_main_process=0)
        .training(
            task_distribution=args.distribution,
            tasks_per_iteration=args.tasks,
            inner_steps=args.inner_steps,
            inner_rollout_steps=args.rollout_steps,
            policy_hiddens=list(hiddens),
            first_order=first_order,
        )
        .debugging(seed=0)
    )
    return config.build_algo()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distribution", default="meta_cpo_car_circle_hazard")
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--inner-steps", type=int, default=3)
    parser.add_argument("--rollout-steps", type=int, default=3000)
    parser.add_argument("--iterations", type=int, default=2)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {vars(args)}")
    print(
        "| policy | meta-gradient | meta-iteration | runner s: sampling / local steps "
        "| meta-gradient per task | its share of runner time |"
    )
    print("|---|---|---|---|---|---|")
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        for hiddens in ((24, 12), (64, 64)):
            walls = {}
            for first_order in (True, False):
                algo = build(args, hiddens, first_order)
                try:
                    r = time_iterations(algo, args.iterations, RUNNER_PARTS)
                finally:
                    algo.stop()
                walls[first_order] = r["wall_s"]
                parts = [r[key] for key in RUNNER_PARTS]
                print(
                    f"| {hiddens[0]}×{hiddens[1]} | {'first-order' if first_order else 'exact'} "
                    f"| {r['wall_s']:.2f} s | {parts[0]:.2f} / {parts[1]:.2f} "
                    f"| {parts[2] / args.tasks * 1e3:.0f} ms | {parts[2] / sum(parts):.2%} |",
                    flush=True,
                )
            print(
                f"# {hiddens}: meta-iteration exact / first-order {walls[False] / walls[True]:.3f}"
            )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
