"""Run one task per env runner: task i and weights w_i on runner i, a task program there (sample,
K local updates, gradients), results back to the driver; sequentially with 0 remote runners.

Traps handled (see ``rllib_2_60.md``):
- ``set_task`` goes through RLlib's vector wrappers with ``er.env.unwrapped.call("set_task", …)``
  (``safemeta.environments.tasks.set_task``) and takes effect at the next reset: every sample in a
  task program starts from fresh resets.
- Weights are written with ``er.module.set_state(w_i)``, which bypasses ``_weights_seq_no``; the
  runner's previous module state is restored after the program, so a later ``sync_weights`` or
  sampling never sees another task's adapted weights.
- The runner's previous tasks (one per sub-env) are restored too, and its envs are reset: task i
  would otherwise stay set (different on every runner; on the local runner with 0 remote runners,
  the one that trains) and the next ``sample()`` would continue task i's ongoing episodes.
- With remote runners the local runner has no env; programs run on remote runners only.
- ``TaskContext.sample(num_episodes=…)`` is free of the episode-count bias of vectorised envs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from safemeta.algorithms.meta.sampling import sample_episodes
from safemeta.environments.tasks import set_task


@dataclass
class TaskContext:
    """What a task program sees on its env runner."""

    runner: Any
    task: Any
    index: int
    seed: int = 0

    @property
    def runner_index(self) -> int:
        """The env runner's ``worker_index`` (0 = the local runner)."""
        return int(getattr(self.runner, "worker_index", 0))

    @property
    def module(self) -> Any:
        """The runner's RLModule, holding w_i (adapt it in place)."""
        return self.runner.module

    def get_weights(self) -> dict[str, Any]:
        """A detached copy of the module's current state."""
        return {k: torch.as_tensor(v).detach().clone() for k, v in self.module.get_state().items()}

    def set_weights(self, weights: dict[str, Any]) -> None:
        self.module.set_state(weights)

    def sample(self, *, num_episodes: int | None = None, num_timesteps: int | None = None):
        """Fresh-reset rollouts of the current module on this task: ``num_episodes`` whole
        episodes (unbiased), or ``num_timesteps`` steps (cut chunks are kept, bootstrap them)."""
        if (num_episodes is None) == (num_timesteps is None):
            raise ValueError("pass exactly one of num_episodes or num_timesteps")
        if num_episodes is not None:
            return sample_episodes(self.runner, num_episodes, seed=self.seed)
        return self.runner.sample(num_timesteps=num_timesteps, force_reset=True, explore=True)


TaskProgram = Callable[[TaskContext], Any]


@dataclass
class TaskResult:
    """What one task's adaptation returns to the driver."""

    index: int
    task: Any
    episodes: list[list[Any]]
    """Episodes used by each of the K local steps (``episodes[k]`` were sampled with φ^k)."""
    post_episodes: list[Any] | None
    """Episodes of the adapted policy φ^K (for the meta-objective), if requested."""
    adapted_weights: dict[str, Any]
    gradient: Any = None
    metrics: list[dict[str, float]] = field(default_factory=list)
    runner_index: int = 0
    """Which env runner ran the task (its ``worker_index``; 0 = local)."""


@dataclass
class LocalAdaptation:
    """The standard task program: K × (sample, ``update``), then optional post-adaptation rollouts
    and ``gradient(module, episodes, task)`` on them.

    ``update(module, state, episodes, task, step) -> (state', metrics)`` is a function of an
    explicit state (``onpolicy.local.InnerState``: weights and λ_p) that starts as
    ``update.initial_state(w_i, lagrange_multiplier)``; the runner's module is loaded with each
    state's weights before it samples. Each step's metrics gain its ``sample_s`` and
    ``update_s`` (wall seconds on the runner). Pass either ``num_episodes`` or ``num_timesteps`` per
    rollout. Instances are pickled to the runners.
    """

    update: Any
    num_steps: int = 1
    num_episodes: int | None = None
    num_timesteps: int | None = None
    post_adaptation: bool = True
    gradient: Callable[[Any, list[Any], Any], Any] | None = None
    lagrange_multiplier: float | None = None
    """λ_p's initial value (e.g. the meta λ); None: the update's own initial value."""

    def _sample(self, ctx: TaskContext) -> list[Any]:
        return ctx.sample(num_episodes=self.num_episodes, num_timesteps=self.num_timesteps)

    def __call__(self, ctx: TaskContext) -> TaskResult:
        state = self.update.initial_state(ctx.get_weights(), self.lagrange_multiplier)
        episodes, metrics = [], []
        for step in range(self.num_steps):
            ctx.set_weights(state.weights)
            start = time.perf_counter()
            batch = self._sample(ctx)
            sampled = time.perf_counter()
            episodes.append(batch)
            state, step_metrics = self.update(ctx.module, state, batch, ctx.task, step)
            timing = {"sample_s": sampled - start, "update_s": time.perf_counter() - sampled}
            metrics.append({**step_metrics, **timing})
        ctx.set_weights(state.weights)
        post = self._sample(ctx) if self.post_adaptation else None
        gradient = None
        if self.gradient is not None:
            gradient = self.gradient(
                ctx.module, post if post is not None else episodes[-1], ctx.task
            )
        return TaskResult(
            ctx.index,
            ctx.task,
            episodes,
            post,
            ctx.get_weights(),
            gradient,
            metrics,
            ctx.runner_index,
        )


def sub_env_tasks(env: Any) -> list[Any]:
    """The task of every sub-env of an EnvRunner's env (``get_task`` through the wrappers)."""
    target = getattr(env, "unwrapped", env)
    if hasattr(target, "call") and not hasattr(target, "get_task"):
        return list(target.call("get_task"))
    if hasattr(target, "get_task"):
        return [target.get_task()]
    raise TypeError(f"{type(target).__name__} has no get_task; it does not support tasks")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # e.g. array-valued ==
        return False


def restore_sub_env_tasks(env: Any, tasks: Sequence[Any]) -> None:
    """Give each sub-env back its task from :func:`sub_env_tasks` (from its next reset on)."""
    target = getattr(env, "unwrapped", env)
    sub_envs = getattr(target, "envs", None)
    if sub_envs is not None and len(sub_envs) == len(tasks):
        for sub_env, task in zip(sub_envs, tasks, strict=True):
            set_task(sub_env, task)
    elif all(_same(t, tasks[0]) for t in tasks):
        set_task(env, tasks[0])
    else:
        raise TypeError(f"cannot give {len(tasks)} different tasks back to {type(target).__name__}")


def _run_on_runner(
    runner: Any, program: TaskProgram, task: Any, weights: dict[str, Any], index: int, seed: int
) -> tuple[int, Any]:
    previous = {
        k: torch.as_tensor(v).detach().clone() for k, v in runner.module.get_state().items()
    }
    previous_tasks = sub_env_tasks(runner.env)
    set_task(runner.env, task)
    runner.module.set_state(weights)
    try:
        return index, program(TaskContext(runner, task, index, seed))
    finally:
        runner.module.set_state(previous)
        restore_sub_env_tasks(runner.env, previous_tasks)
        # Drop task i's ongoing episodes: the next sample() starts on the restored tasks.
        runner.sample(num_timesteps=0, force_reset=True)


def run_tasks(
    env_runner_group: Any,
    tasks: Sequence[Any],
    weights: Sequence[dict[str, Any]] | dict[str, Any],
    program: TaskProgram,
    *,
    seed: int = 0,
) -> list[Any]:
    """``program`` on task i with weights w_i, for every i; results in task order.

    With R remote env runners, tasks run in waves of R in parallel (task i on runner i mod R);
    with none, sequentially on the local runner. ``weights`` is one state dict per task or one
    shared by all (e.g. the meta-parameters θ).
    """
    weights = list(weights) if isinstance(weights, Sequence) else [weights] * len(tasks)
    if len(weights) != len(tasks):
        raise ValueError(f"got {len(weights)} weight sets for {len(tasks)} tasks")
    remote_ids = list(env_runner_group.healthy_env_runner_ids())
    results: dict[int, Any] = {}
    if not remote_ids:
        runner = env_runner_group.local_env_runner
        for i, (task, w) in enumerate(zip(tasks, weights, strict=True)):
            results[i] = _run_on_runner(runner, program, task, w, i, seed + i)[1]
        return [results[i] for i in range(len(tasks))]
    for start in range(0, len(tasks), len(remote_ids)):
        wave = list(range(start, min(start + len(remote_ids), len(tasks))))
        funcs = [
            (lambda er, i=i: _run_on_runner(er, program, tasks[i], weights[i], i, seed + i))
            for i in wave
        ]
        outputs = env_runner_group.foreach_env_runner(
            funcs, local_env_runner=False, remote_worker_ids=remote_ids[: len(wave)]
        )
        if len(outputs) != len(wave):
            raise RuntimeError(f"{len(wave) - len(outputs)} env runner(s) failed on tasks {wave}")
        results.update(dict(outputs))
    return [results[i] for i in range(len(tasks))]


def broadcast_weights(env_runner_group: Any, weights: dict[str, Any]) -> None:
    """Write ``weights`` into every runner's module regardless of ``_weights_seq_no`` (e.g. new
    meta-parameters computed outside ``Learner.update``)."""
    env_runner_group.foreach_env_runner(
        lambda er: er.module.set_state(weights) if er.module is not None else None,
        local_env_runner=True,
    )
