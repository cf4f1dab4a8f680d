"""Pour Coffee throughput: env steps/s (random actions, resets included) vs the bare PyBullet rate.

``benchmarks/env_throughput.py`` compares against MuJoCo's ``mj_step``; PyBullet has no such
reference there, so this script does the same for ``SafetyPourCoffee-v0`` (twin backend): time
``step()`` with uniform random actions on one core, resetting whenever an episode ends; then, in
the same run, time ``p.stepSimulation()`` × substeps per env step on the env's own PyBullet world
(random joint velocity targets, no IK, no feedback, no costs) and print the ratio. Best of
``--repeats``.

    python benchmarks/pour_coffee_throughput.py --steps 5000
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pybullet as p

from safemeta.environments import make
from safemeta.environments.pour_coffee.kinematics import HOME, JOINT_VELOCITY_LIMITS

ENV = "SafetyPourCoffee-v0"


def env_rate(steps: int, seed: int, **kwargs) -> tuple[float, int]:
    """Env steps per second with random actions and resets; also the number of resets."""
    env = make(ENV, **kwargs)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, 4)).astype(np.float32)
    resets = 0
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
            resets += 1
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed, resets


def physics_rate(steps: int, seed: int) -> float:
    """Env steps/s of the bare physics: ``substeps`` × ``stepSimulation`` per env step.

    Random joint velocity targets (±20 % of the limits), back to Home every episode length, so the
    arm stays in the env's region of the workspace instead of drifting into contact-heavy states.
    """
    env = make(ENV)
    env.reset(seed=seed)
    twin, substeps = env.unwrapped.bullet_reference()
    targets = np.random.default_rng(seed).uniform(-1, 1, (steps, 7)) * JOINT_VELOCITY_LIMITS * 0.2
    step, client, episode = p.stepSimulation, twin.client, env.unwrapped.max_episode_steps
    start = time.perf_counter()
    for i, target in enumerate(targets):
        if i % episode == 0:
            twin.reset(HOME)
        twin.set_joint_velocities(target)
        for _ in range(substeps):
            step(physicsClientId=client)
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5_000, help="env steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be >= 1")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, pybullet {p.getAPIVersion()}, numpy {np.__version__}; "
        f"best of {args.repeats} × {args.steps} steps"
    )
    print(f"| {'variant':<44} | {'env steps/s':>11} | {'physics steps/s':>15} | {'ratio':>5} | "
          f"{'resets':>6} |")  # fmt: skip
    print(f"|{'-' * 46}|{'-' * 12}:|{'-' * 16}:|{'-' * 6}:|{'-' * 7}:|")
    variants = {
        f"{ENV} (20 Hz, 12 substeps)": {},
        f"{ENV} terminate_on_violation": {"terminate_on_violation": True},
    }
    for label, kwargs in variants.items():
        env_best, physics_best, resets = 0.0, 0.0, 0
        for repeat in range(args.repeats):  # interleaved, so both see the same machine load
            rate, resets = env_rate(args.steps, args.seed + repeat, **kwargs)
            env_best = max(env_best, rate)
            physics_best = max(physics_best, physics_rate(args.steps, args.seed + repeat))
        print(f"| {label:<44} | {env_best:>11,.0f} | {physics_best:>15,.0f} | "
              f"{env_best / physics_best:>5.2f} | {resets:>6} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
