"""Environment throughput: env steps/s (random actions, resets included) vs the raw physics rate.

For each environment: time ``step()`` with uniform random actions on one core, resetting whenever an
episode ends; then, in the same run, time the bare physics of that environment — ``mj_step`` ×
substeps per env step on the env's own model (``env.unwrapped.physics_reference()``) — and print
the ratio. Best of ``--repeats`` timings each, since the machine is shared.

    python benchmarks/env_throughput.py                       # the default list below
    python benchmarks/env_throughput.py SafetyCarGoal2-v0 --steps 20000

To benchmark another environment, add its registered name to ``ENV_NAMES`` (it must implement
``physics_reference() -> (MjModel, MjData, substeps)``).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import mujoco
import numpy as np

from safemeta.environments import make

ENV_NAMES: list[str] = [
    "SafetyPointGoal1-v0",
    "SafetyPointButton1-v0",
    "SafetyCarCircle2-v0",
    "SafetyHumanoidVelocity-v1",
    "SafetyFetchPushTopple-v0",
    "SafetyEggManipulate-v0",
    "SafetyFrankaCloseDrawer-v0",
]


def env_rate(name: str, steps: int, seed: int) -> tuple[float, int]:
    """Env steps per second with random actions and resets; also the number of resets."""
    env = make(name)
    env.reset(seed=seed)
    actions = np.random.default_rng(seed).uniform(
        env.action_space.low, env.action_space.high, (steps, *env.action_space.shape)
    )
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


def physics_rate(name: str, steps: int, seed: int) -> float:
    """Env steps/s of the bare physics: ``substeps`` × ``mj_step`` per env step, random ctrl."""
    env = make(name)
    env.reset(seed=seed)
    model, data, substeps = env.unwrapped.physics_reference()
    mujoco.mj_forward(model, data)
    low, high = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    controls = np.random.default_rng(seed).uniform(low, high, (steps, model.nu))
    step = mujoco.mj_step
    start = time.perf_counter()
    for ctrl in controls:
        data.ctrl[:] = ctrl
        for _ in range(substeps):
            step(model, data)
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=ENV_NAMES, help="registered env names")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per env (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be >= 1")

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"mujoco {mujoco.__version__}, numpy {np.__version__}; best of {args.repeats} × "
        f"{args.steps} steps"
    )
    print(
        f"| {'env':<26} | {'env steps/s':>11} | {'physics steps/s':>15} | {'ratio':>5} | "
        f"{'resets':>6} |"
    )
    print(f"|{'-' * 28}|{'-' * 13}:|{'-' * 17}:|{'-' * 6}:|{'-' * 7}:|")
    for name in args.envs:
        env_best, physics_best, resets = 0.0, 0.0, 0
        for repeat in range(args.repeats):
            rate, resets = env_rate(name, args.steps, args.seed + repeat)
            env_best = max(env_best, rate)
            physics_best = max(physics_best, physics_rate(name, args.steps, args.seed + repeat))
        print(
            f"| {name:<26} | {env_best:>11,.0f} | {physics_best:>15,.0f} | "
            f"{env_best / physics_best:>5.2f} | {resets:>6} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
