"""Per-task machinery: task i and weights w_i on env runner i, K local updates there; tasks of
the real navigation suite reach their runners; runners get their own tasks back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import ray
import torch
from ray import tune

from safemeta.algorithms.meta.sampling import sample_episodes
from safemeta.algorithms.meta.task_runners import (
    LocalAdaptation,
    TaskContext,
    TaskResult,
    run_tasks,
    sub_env_tasks,
)
from safemeta.algorithms.onpolicy.config import TRPOLagConfig
from safemeta.algorithms.onpolicy.defaults import CriticSettings
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate, surrogate_gradient
from safemeta.algorithms.onpolicy.targets import Discounting
from safemeta.algorithms.onpolicy.updates import TrustRegionSettings
from safemeta.environments.navigation.distributions import meta_cpo_point_circle
from tests.plugins.onpolicy_envs import TargetTask, TaskTargetEnv


@pytest.fixture(scope="module", autouse=True)
def ray_two_cpus() -> Iterator[None]:
    """A local Ray with 2 CPUs (2 runners × 0.5 + driver 0.5), shut down here if started here."""
    if ray.is_initialized():  # e.g. the session's `local_ray`, which shuts it down itself
        yield
        return
    pythonpath = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
    )
    try:
        yield
    finally:
        ray.shutdown()


def _algorithm(num_env_runners: int, envs_per_runner: int, random_lengths: bool = False):
    config = (
        TRPOLagConfig()
        .environment(TaskTargetEnv, env_config={"random_lengths": random_lengths})
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=envs_per_runner,
            num_cpus_per_env_runner=0.5,
        )
        .resources(num_cpus_for_main_process=0.5)
        .training(train_batch_size_per_learner=200, normalize_observations=False)
        .debugging(seed=0)
    )
    return config.build_algo()


def _weights_with_bias(algo, bias: float) -> dict[str, torch.Tensor]:
    """The learner's module state with the mean's output bias set and a tiny log σ."""
    module = algo.learner_group._learner.module["default_policy"]
    state = {k: torch.as_tensor(v).clone() for k, v in module.get_state().items()}
    last = max(k for k in state if k.startswith("pi.") and k.endswith(".bias"))
    state[last] = torch.full_like(state[last], bias)
    state["log_std"] = torch.full_like(state["log_std"], -5.0)
    return state


def _gradient(module, episodes, task):
    return surrogate_gradient(module, episodes, Discounting(), lam=0.0)


PROGRAM = LocalAdaptation(
    update=OnPolicyLocalUpdate(
        variant="trpo_lag",
        settings=TrustRegionSettings(max_kl=0.05),
        critic=CriticSettings(epochs=1),
    ),
    num_steps=2,
    num_episodes=4,
    gradient=_gradient,
)


def _check_results(results: list[TaskResult], tasks, biases, weights) -> None:
    assert [r.index for r in results] == [0, 1]
    for result, task, bias, w in zip(results, tasks, biases, weights, strict=True):
        assert result.task == task
        # Every episode of every step (and the post-adaptation ones) ran on task i.
        all_episodes = [ep for step in result.episodes for ep in step] + result.post_episodes
        assert len(result.episodes) == 2 and all(len(step) == 4 for step in result.episodes)
        assert all(info["target"] == task.target for ep in all_episodes for info in ep.get_infos())
        # The first rollout used w_i: actions ≈ its output bias (σ = e^-5, tiny weights).
        first_actions = np.concatenate([ep.get_actions() for ep in result.episodes[0]])
        assert abs(first_actions.mean() - bias) < 0.05
        # K local steps moved the policy; the gradient covers all policy parameters.
        moved = max(float((result.adapted_weights[k] - w[k]).abs().max()) for k in w)
        assert moved > 1e-4
        n_policy = sum(v.numel() for k, v in w.items() if k.startswith("pi.") or k == "log_std")
        assert result.gradient.shape == (n_policy,) and torch.isfinite(result.gradient).all()
        assert result.metrics[0]["cost_limit"] == task.cost_limit


def test_two_remote_runners_run_two_distinct_tasks_in_parallel() -> None:
    algo = _algorithm(num_env_runners=2, envs_per_runner=2)
    try:
        tasks = [TargetTask(0.6, cost_limit=2.0), TargetTask(-0.6, cost_limit=3.0)]
        biases = [0.4, -0.4]
        weights = [_weights_with_bias(algo, b) for b in biases]
        before = algo.env_runner_group.foreach_env_runner(
            lambda er: torch.as_tensor(er.module.get_state()["log_std"]).clone(),
            local_env_runner=False,
        )
        results = run_tasks(algo.env_runner_group, tasks, weights, PROGRAM)
        _check_results(results, tasks, biases, weights)
        assert sorted(r.runner_index for r in results) == [1, 2]  # one task per remote runner
        # The runners' own weights are restored (no adapted weights leak into training).
        after = algo.env_runner_group.foreach_env_runner(
            lambda er: torch.as_tensor(er.module.get_state()["log_std"]).clone(),
            local_env_runner=False,
        )
        assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    finally:
        algo.stop()


def test_zero_remote_runners_run_tasks_sequentially_in_the_driver() -> None:
    algo = _algorithm(num_env_runners=0, envs_per_runner=1)
    try:
        tasks = [TargetTask(0.3), TargetTask(-0.3)]
        biases = [0.2, -0.2]
        weights = [_weights_with_bias(algo, b) for b in biases]
        runner = algo.env_runner
        default = sub_env_tasks(runner.env)
        results = run_tasks(algo.env_runner_group, tasks, weights, PROGRAM)
        _check_results(results, tasks, biases, weights)
        assert {r.runner_index for r in results} == {0}
        # This runner is the one that trains: it gets its own task back, and its next sample
        # starts fresh episodes on it instead of continuing the last task's.
        assert default == [TargetTask(0.0)] and sub_env_tasks(runner.env) == default
        chunks = runner.sample(num_timesteps=6)
        assert all(ep.t_started == 0 for ep in chunks)
        assert all(info["target"] == 0.0 for ep in chunks for info in ep.get_infos())
    finally:
        algo.stop()


def test_episode_sampling_has_no_count_bias_with_vectorised_envs() -> None:
    # Lengths 2 or 20 (p = 1/2): true mean 11. RLlib's num_episodes keeps the first finishers.
    algo = _algorithm(num_env_runners=0, envs_per_runner=4, random_lengths=True)
    try:
        runner = algo.env_runner
        # 48 draws of N = 4 episodes on E = 4 sub-envs (the bias is largest when N ~ E). The
        # lengths' generator depends on how many envs the process made before, so the bounds are
        # set in standard errors of a mean of 192 episodes (≈ 0.65), not for one draw: measured
        # in four process states, ours 10.1–11.8, RLlib's first finishers 6.8–8.5.
        ours = [ep for i in range(48) for ep in sample_episodes(runner, 4, seed=i)]
        assert len(ours) == 192 and all(ep.is_done and ep.t_started == 0 for ep in ours)
        ours_mean = np.mean([len(ep) for ep in ours])
        biased = [ep for _ in range(48) for ep in runner.sample(num_episodes=4, force_reset=True)]
        biased_mean = np.mean([len(ep) for ep in biased])
        assert abs(ours_mean - 11.0) < 2.6, ours_mean  # ± 4 standard errors
        assert biased_mean < 11.0 - 2 * 0.65, biased_mean
    finally:
        algo.stop()


# -- the real navigation suite -------------------------------------------------------------------

NAV_ENV = "safemeta-test-meta-cpo-point-circle"
DISTRIBUTION = meta_cpo_point_circle()


def _make_nav_env(env_config: Any) -> Any:
    return DISTRIBUTION.make_env(**dict(env_config))


@dataclass(frozen=True)
class ReportTask:
    """Task program: fresh-reset rollouts, then what every sub-env says and saw."""

    num_timesteps: int

    def __call__(self, ctx: TaskContext) -> dict[str, Any]:
        chunks = ctx.sample(num_timesteps=self.num_timesteps)
        return {
            "runner_index": ctx.runner_index,
            "num_envs": ctx.runner.num_envs,
            "tasks": sub_env_tasks(ctx.runner.env),  # after the resets: the tasks in use
            "first_obs": [np.asarray(ep.get_observations(0)) for ep in chunks if ep.t_started == 0],
        }


def _reset_observation(task: Any) -> np.ndarray:
    """The first observation of ``task`` in a local env (its layout is fixed by layout_seed)."""
    env = DISTRIBUTION.make_env()
    env.set_task(task)
    return env.reset(seed=123)[0]


def test_navigation_tasks_reach_two_remote_runners_through_the_vector_wrappers() -> None:
    tasks = DISTRIBUTION.sample_tasks(2, split="train", rng=np.random.default_rng(7))
    assert tasks[0].layout_seed != tasks[1].layout_seed
    assert tasks[0].circle_radius != tasks[1].circle_radius
    expected = [_reset_observation(t) for t in tasks]
    assert not np.allclose(expected[0], expected[1])  # the layouts can be told apart
    tune.register_env(NAV_ENV, _make_nav_env)
    algo = (
        TRPOLagConfig()
        .environment(NAV_ENV)
        .env_runners(num_env_runners=2, num_envs_per_env_runner=2, num_cpus_per_env_runner=0.5)
        .resources(num_cpus_for_main_process=0.5)
        .training(train_batch_size_per_learner=200)
        .debugging(seed=0)
        .build_algo()
    )
    group = algo.env_runner_group
    try:
        defaults = group.foreach_env_runner(
            lambda er: sub_env_tasks(er.env), local_env_runner=False
        )
        assert all(d == [defaults[0][0]] * 2 and d[0] not in tasks for d in defaults)
        weights = algo.learner_group._learner.module["default_policy"].get_state()
        results = run_tasks(group, tasks, weights, ReportTask(num_timesteps=40))

        assert sorted(r["runner_index"] for r in results) == [1, 2]  # one task per runner
        for i, result in enumerate(results):
            # Both sub-envs behind RLlib's DictInfoToList(SyncVectorEnv) switched to task i...
            assert result["num_envs"] == 2 and result["tasks"] == [tasks[i], tasks[i]]
            # ...and their episodes started from task i's layout, not the other task's.
            assert len(result["first_obs"]) == 2
            for obs in result["first_obs"]:
                np.testing.assert_allclose(obs, expected[i], atol=1e-9)
                assert not np.allclose(obs, expected[1 - i])

        # Afterwards every runner has its own task back and starts fresh episodes on it.
        after = group.foreach_env_runner(lambda er: sub_env_tasks(er.env), local_env_runner=False)
        assert after == defaults
        next_chunks = group.foreach_env_runner(
            lambda er: [
                (ep.t_started, np.asarray(ep.get_observations(0)))
                for ep in er.sample(num_timesteps=8)
            ],
            local_env_runner=False,
        )
        for chunks in next_chunks:
            assert len(chunks) == 2 and all(t_started == 0 for t_started, _ in chunks)
            assert not any(np.allclose(obs, e) for _, obs in chunks for e in expected)
    finally:
        algo.stop()
