"""Meta-CPO and Meta-TRPO as RLlib Algorithms on a tiny task family: M = 2 tasks adapted in
parallel, the meta step inside its ball and on every runner, checkpoints that keep the task
stream."""

from __future__ import annotations

import math

import pytest
import torch

from safemeta.algorithms.meta.algorithm import META_RESULTS
from safemeta.algorithms.meta_cpo.config import MetaCPOConfig, MetaTRPOConfig
from safemeta.algorithms.onpolicy.trust_region import flat_params
from tests.plugins.onpolicy_envs import TaskTargetEnv

META_DELTA = 0.005


def _config(config_class=MetaCPOConfig, runners: int = 2):
    return (
        config_class()
        .environment(TaskTargetEnv, env_config={"random_lengths": False})
        .env_runners(num_env_runners=runners, num_cpus_per_env_runner=0.5)
        .resources(num_cpus_for_main_process=0.5)
        .training(
            task_distribution="test_targets",
            tasks_per_iteration=2,
            inner_steps=2,
            inner_rollout_steps=60,
            critic_epochs=1,
            policy_hiddens=[8],
            critic_hiddens=[8],
            meta_delta=META_DELTA,
        )
        .debugging(seed=3)
    )


def _theta(algo) -> torch.Tensor:
    return flat_params(algo.meta_module.policy_parameters())


def test_meta_iteration_steps_theta_within_its_ball_and_checkpoints_keep_the_stream(
    local_ray, tmp_path
) -> None:
    algo = _config().build_algo()
    try:
        theta0 = _theta(algo)
        result = algo.train()
        meta = result[META_RESULTS]
        # Two tasks, K = 2 local steps of 60 env steps + one post-adaptation rollout each.
        assert meta["tasks"] == 2.0
        assert result["num_env_steps_sampled_lifetime"] == 2 * 3 * 60
        step = _theta(algo) - theta0
        assert float(step.norm()) == pytest.approx(meta["meta_step_norm"], rel=1e-5)
        assert 0 < meta["meta_step_norm"] <= math.sqrt(2 * META_DELTA) * (1 + 1e-6)
        assert meta["meta_case"] in (0.0, 1.0, 2.0, 3.0)
        assert 0 < meta["inner_line_search_scale"] <= 1.0
        runner_seconds = [meta[f"{part}_s"] for part in ("inner_sample", "inner_update")]
        assert all(s > 0 for s in [*runner_seconds, meta["meta_gradient_s"]])
        assert sum(runner_seconds) + meta["meta_gradient_s"] <= 2 * meta["adaptation_s"]
        runner_log_std = algo.env_runner_group.foreach_env_runner(
            lambda er: torch.as_tensor(er.module.get_state()["log_std"]).clone(),
            local_env_runner=False,
        )
        assert all(torch.equal(w, algo.meta_weights()["log_std"]) for w in runner_log_std)
        algo.save_to_path(str(tmp_path / "ckpt"))
        theta1 = _theta(algo)
        upcoming = algo.sample_train_tasks()
    finally:
        algo.stop()
    restored = _config().build_algo()
    try:
        restored.restore_from_path(str(tmp_path / "ckpt"))
        assert restored.meta_iteration == 1
        torch.testing.assert_close(_theta(restored), theta1, rtol=0, atol=0)
        assert restored.sample_train_tasks() == upcoming
    finally:
        restored.stop()


def test_meta_trpo_takes_unconstrained_steps_also_without_remote_runners(local_ray) -> None:
    algo = _config(MetaTRPOConfig, runners=0).build_algo()  # tasks in turn on the local runner
    try:
        meta = algo.train()[META_RESULTS]
        assert meta["tasks"] == 2.0
        assert meta["meta_case"] == -1.0  # no CPO case: the unconstrained program
        assert meta["meta_step_norm"] == pytest.approx(
            meta["meta_line_search_scale"] * math.sqrt(2 * META_DELTA), rel=1e-5
        )
    finally:
        algo.stop()
    with pytest.raises(ValueError, match="normalize_observations=True"):
        _config().training(normalize_observations=True).validate()
    with pytest.raises(ValueError, match="meta_delta=0"):
        _config().training(meta_delta=0.0).validate()
    with pytest.raises(ValueError, match=r"local_trust_region='fisher'.*'euclidean' or 'kl'"):
        _config().training(local_trust_region="fisher").validate()
    with pytest.raises(ValueError, match=r"meta_trust_region='ball'.*'euclidean' or 'kl'"):
        _config().training(meta_trust_region="ball").validate()


def test_meta_cpo_local_steps_in_the_kl_trust_region(local_ray) -> None:
    algo = _config(runners=0).training(local_trust_region="kl", max_kl=0.01).build_algo()
    try:
        meta = algo.train()[META_RESULTS]
    finally:
        algo.stop()
    # Each local step is solved on the damped quadratic model of the KL: the mean true KL of
    # the accepted steps is at most δ up to third-order terms.
    assert 0 < meta["inner_kl"] <= 1.05 * 0.01
    assert 0 < meta["meta_step_norm"] <= math.sqrt(2 * META_DELTA) * (1 + 1e-6)


@pytest.mark.parametrize("config_class", [MetaTRPOConfig, MetaCPOConfig])
def test_meta_step_in_the_kl_trust_region(local_ray, config_class) -> None:
    algo = _config(config_class, runners=0).training(meta_trust_region="kl").build_algo()
    try:
        meta = algo.train()[META_RESULTS]
        damping = algo.config.cg_damping
    finally:
        algo.stop()
    # Every branch of the program puts Δ on the boundary ½Δᵀ(H + βI)Δ = δ_θ (H: π_θ's Fisher
    # matrix on the pre-adaptation states), so the measured mean KL of the step scaled by the line
    # search c is c²(δ_θ − ½β‖Δ‖²) up to third-order terms, and the line search keeps it ≤ δ_θ.
    # (A Euclidean ball of the same δ_θ moves this policy by KL ≈ 5–9 δ_θ.)
    scale = meta["meta_line_search_scale"]
    assert scale > 0
    full_step = meta["meta_step_norm"] / scale
    model_kl = scale**2 * (META_DELTA - 0.5 * damping * full_step**2)
    assert meta["meta_kl"] == pytest.approx(model_kl, rel=0.2)
    assert meta["meta_kl"] <= META_DELTA
