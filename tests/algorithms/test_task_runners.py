"""Per-task machinery: task i and weights w_i on env runner i, K local updates there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from safemeta.algorithms.meta.sampling import sample_episodes
from safemeta.algorithms.meta.task_runners import LocalAdaptation, TaskResult, run_tasks
from safemeta.algorithms.onpolicy.config import TRPOLagConfig
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate, surrogate_gradient
from safemeta.algorithms.onpolicy.targets import Discounting
from safemeta.algorithms.onpolicy.updates import TrustRegionSettings
from tests.plugins.onpolicy_envs import TargetTask, TaskTargetEnv

pytestmark = pytest.mark.usefixtures("local_ray")


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
        variant="trpo_lag", settings=TrustRegionSettings(max_kl=0.05), critic_epochs=1
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
        results = run_tasks(algo.env_runner_group, tasks, weights, PROGRAM)
        _check_results(results, tasks, biases, weights)
        assert {r.runner_index for r in results} == {0}
    finally:
        algo.stop()


def test_episode_sampling_has_no_count_bias_with_vectorised_envs() -> None:
    # Lengths 2 or 20 (p = 1/2): true mean 11. RLlib's num_episodes keeps the first finishers.
    algo = _algorithm(num_env_runners=0, envs_per_runner=4, random_lengths=True)
    try:
        runner = algo.env_runner
        # 12 draws of N = 4 episodes on E = 4 sub-envs (the bias is largest when N ~ E).
        ours = [ep for i in range(12) for ep in sample_episodes(runner, 4, seed=i)]
        assert len(ours) == 48 and all(ep.is_done and ep.t_started == 0 for ep in ours)
        ours_mean = np.mean([len(ep) for ep in ours])
        biased = [ep for _ in range(12) for ep in runner.sample(num_episodes=4, force_reset=True)]
        biased_mean = np.mean([len(ep) for ep in biased])
        assert abs(ours_mean - 11.0) < 3.5, ours_mean  # ± 2.7 standard errors
        assert biased_mean < 7.0, biased_mean
    finally:
        algo.stop()
