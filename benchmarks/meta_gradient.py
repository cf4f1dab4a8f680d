"""Meta-CPO's meta-gradient (Eq. 11) for one task: exact (back-propagation through K closed-form
CPO steps) vs first-order vs the authors' diagonal approximation (one backward pass per parameter
and step), side by side on the same instance, for (24, 12), (64, 64) and (256, 256) policies.

    python benchmarks/meta_gradient.py
    python benchmarks/meta_gradient.py --full-diagonal-up-to 0     # extrapolate every diagonal

Instance: Car-Circle-Hazard's observation (56) and action (2) sizes, K = 3 local steps on
batches of 3,000 samples (the authors' batch), float32 as safemeta trains. First-order: the K
steps replayed without a graph (each step's g, a, x* — what the adaptation computes anyway) and
the post-adaptation gradients; exact: the same steps with ``create_graph`` and two
vector-Jacobian products (dF/dθ, dG/dθ) back through them. Times are medians of
``--repeats`` runs; memory is the peak resident-set growth of one run (Linux: VmHWM after
resetting it); FLOPs are the matrix-product FLOPs torch dispatches (``FlopCounterMode``), a
count the machine's load does not move. The diagonal runs in full up to
``--full-diagonal-up-to`` parameters (and its error against the exact gradient is reported);
above that its time is extrapolated from ``--diagonal-rows`` timed rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from safemeta.algorithms.meta_cpo.fisher_metric import FisherMetric
from safemeta.algorithms.meta_cpo.functional_policy import flat_policy_logp
from safemeta.algorithms.meta_cpo.meta_gradient import (
    TaskBatch,
    TaskReplay,
    adapt,
    diagonal_meta_gradients,
    local_cpo_step,
    surrogates,
    task_meta_gradients,
)
from safemeta.algorithms.onpolicy.module import OnPolicyModule
from safemeta.algorithms.onpolicy.trust_region import flat_params

OBS, ACT, N, K, DELTA = 56, 2, 3000, 3, 0.01
KL = FisherMetric(damping=0.1, iterations=15)  # the family's cg_damping / cg_iterations
SCALES = [1.0, 0.8, 1.0]


def instance(hiddens: tuple[int, int], seed: int = 0):
    """A policy, θ and a replay: K batches sampled along the adaptation, the post-adaptation one."""
    torch.manual_seed(seed)
    module = OnPolicyModule(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (OBS,), np.float32),
        action_space=gym.spaces.Box(-1.0, 1.0, (ACT,), np.float32),
        model_config={"policy_hiddens": hiddens, "normalize_observations": False},
    )
    logp = flat_policy_logp(module)
    theta = flat_params(module.policy_parameters())
    gen = torch.Generator().manual_seed(seed)

    def batch(phi: torch.Tensor) -> TaskBatch:
        obs = torch.randn(N, OBS, generator=gen)
        actions = torch.randn(N, ACT, generator=gen) * 0.6
        advantages = torch.randn(N, generator=gen)
        costs = 0.5 * advantages + torch.randn(N, generator=gen)
        with torch.no_grad():
            behaviour = logp(phi, obs, actions)
        return TaskBatch(obs, actions, behaviour, advantages, costs - costs.mean(), 0.002)

    batches, phi = [], theta
    for scale in SCALES:
        b = batch(phi)
        local = local_cpo_step(logp, phi.clone().requires_grad_(True), b, DELTA, create_graph=False)
        batches.append(b)
        phi = (phi + scale * local.step).detach()
    return logp, theta, TaskReplay(batches, SCALES, batch(phi), DELTA)


def _peak_rss_growth(run: Callable[[], object]) -> tuple[object, float]:
    """``run()`` and the growth of the peak resident set during it, in MB (NaN off Linux)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return run(), float("nan")

    def field(name: str) -> float:
        line = next(x for x in status.read_text().splitlines() if x.startswith(name))
        return float(line.split()[1]) / 1024.0

    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = field("VmRSS:")
    out = run()
    return out, field("VmHWM:") - before


def timed(run: Callable[[], object], repeats: int) -> tuple[object, float, float]:
    out, memory = _peak_rss_growth(run)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times), memory


def matmul_flops(run: Callable[[], object]) -> int:
    """The matrix-product FLOPs of one ``run()``."""
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def diagonal_seconds_per_row(logp, theta, replay: TaskReplay, rows: int) -> float:
    """Wall time of one diagonal row (one backward pass through one step), from ``rows`` rows."""
    phi = theta.clone().requires_grad_(True)
    local = local_cpo_step(logp, phi, replay.batches[0], DELTA, create_graph=True)
    following = phi + local.step
    start = time.perf_counter()
    for j in range(rows):
        torch.autograd.grad(following[j], phi, retain_graph=True)
    return (time.perf_counter() - start) / rows


def exact_reward_gradient(logp, theta, replay: TaskReplay) -> torch.Tensor:
    """dF/dθ alone (one vector-Jacobian product through the K steps: Meta-TRPO's need)."""
    start = theta.detach().requires_grad_(True)
    phi = adapt(logp, start, replay, first_order=False)
    return torch.autograd.grad(surrogates(logp, phi, replay.post_batch)[0], start)[0]


def relative_error(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float((x - ref).norm() / ref.norm())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full-diagonal-up-to", type=int, default=2_000)
    parser.add_argument("--diagonal-rows", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread")
    print(f"# K = {K} steps, N = {N} samples per batch, obs {OBS}, act {ACT}, float32")
    header = (
        "| policy | parameters | first-order | exact | exact / first-order | exact, dF/dθ only | "
        "matmul FLOPs exact / first-order (dF/dθ only) | exact memory | "
        "first-order memory | diagonal | diagonal / exact | diagonal error (dF/dθ) | "
        "first-order error |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for hiddens in ((24, 12), (64, 64), (256, 256)):
        print(measure(hiddens, args), flush=True)
    print(
        f"\n# KL trust region (local_trust_region: kl, CG {KL.iterations} iterations, damping "
        f"{KL.damping}): the same instances"
    )
    header = (
        "| policy | first-order (KL) | exact (KL) | exact / first-order "
        "| exact (KL) / exact (ball) |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for hiddens in ((24, 12), (64, 64), (256, 256)):
        print(measure_kl(hiddens, args), flush=True)


def measure_kl(hiddens: tuple[int, int], args: argparse.Namespace) -> str:
    """One row of the KL table: first-order and exact meta-gradients through K KL steps."""
    logp, theta, replay = instance(hiddens)
    kl = dataclasses.replace(replay, fisher=KL)
    _, t_first, _ = timed(
        lambda: task_meta_gradients(logp, theta, kl, first_order=True), args.repeats
    )
    _, t_exact, _ = timed(lambda: task_meta_gradients(logp, theta, kl), args.repeats)
    _, t_ball, _ = timed(lambda: task_meta_gradients(logp, theta, replay), args.repeats)
    return (
        f"| {hiddens[0]}×{hiddens[1]} | {t_first * 1e3:.0f} ms | {t_exact * 1e3:.0f} ms "
        f"| {t_exact / t_first:.2f} | {t_exact / t_ball:.1f}× |"
    )


def measure(hiddens: tuple[int, int], args: argparse.Namespace) -> str:
    """One table row: the three meta-gradients of one instance."""
    logp, theta, replay = instance(hiddens)
    n = theta.numel()

    def run_first() -> object:
        return task_meta_gradients(logp, theta, replay, first_order=True)

    def run_exact() -> object:
        return task_meta_gradients(logp, theta, replay)

    def run_reward() -> object:
        return exact_reward_gradient(logp, theta, replay)

    first, t_first, m_first = timed(run_first, args.repeats)
    exact, t_exact, m_exact = timed(run_exact, args.repeats)
    _, t_reward, _ = timed(run_reward, args.repeats)
    f_first, f_exact, f_reward = (matmul_flops(run) for run in (run_first, run_exact, run_reward))
    if n <= args.full_diagonal_up_to:
        start = time.perf_counter()
        diagonal = diagonal_meta_gradients(logp, theta, replay)
        t_diag = time.perf_counter() - start
        diag_error = f"{relative_error(diagonal.reward, exact.reward):.3f}"
        diag_time = f"{t_diag:.1f} s"
    else:
        t_diag = diagonal_seconds_per_row(logp, theta, replay, args.diagonal_rows) * n * K
        diag_error = "not run"
        diag_time = f"≈ {t_diag:.0f} s (extrapolated)"
    return (
        f"| {hiddens[0]}×{hiddens[1]} | {n:,} | {t_first * 1e3:.0f} ms "
        f"| {t_exact * 1e3:.0f} ms | {t_exact / t_first:.2f} | {t_reward * 1e3:.0f} ms "
        f"({t_reward / t_first:.2f}×) | {f_exact / f_first:.2f} ({f_reward / f_first:.2f}) "
        f"| {m_exact:.0f} MB "
        f"| {m_first:.0f} MB | {diag_time} | {t_diag / t_exact:.0f}× | {diag_error} "
        f"| {relative_error(first.reward, exact.reward):.3f} |"
    )


if __name__ == "__main__":
    main()
