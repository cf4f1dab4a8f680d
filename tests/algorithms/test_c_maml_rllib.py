"""C-MAML as an RLlib Algorithm on a tiny task family: one task per env runner, the outer update's
multiplier steps (Eq. 22, 31) on the iteration's own numbers, θ reaching the runners, and
checkpoints that keep λ, η and the task stream."""

from __future__ import annotations

import pytest
import torch

from safemeta.algorithms.c_maml.config import CMAMLConfig, MAMLTRPOConfig
from safemeta.algorithms.meta.algorithm import META_RESULTS
from tests.plugins.onpolicy_envs import TaskTargetEnv

LEARNER_KEYS = ("lagrange_multiplier", "safety_multiplier", "meta_kl", "initial_cost_value")


def _config(config_class=CMAMLConfig, **training):
    settings = {
        "task_distribution": "test_targets",
        "tasks_per_iteration": 2,
        "inner_steps": 2,
        "inner_rollout_steps": 60,
        "critic_epochs": 2,
        "policy_hiddens": [16],
        "critic_hiddens": [16],
        "meta_lagrangian_init": 0.5,
        "meta_lagrangian_lr": 0.1,
        "safety_multiplier_init": 0.2,
        "safety_multiplier_lr": 0.1,
        **training,
    }
    return (
        config_class()
        .environment(TaskTargetEnv, env_config={"random_lengths": False})
        .env_runners(num_env_runners=2, num_cpus_per_env_runner=0.5)
        .resources(num_cpus_for_main_process=0.5)
        .training(**settings)
        .debugging(seed=3)
    )


def _runner_log_std(algo) -> list[torch.Tensor]:
    return algo.env_runner_group.foreach_env_runner(
        lambda er: torch.as_tensor(er.module.get_state()["log_std"]).clone(),
        local_env_runner=False,
    )


def test_a_meta_iteration_adapts_two_tasks_in_parallel_and_steps_the_multipliers(local_ray):
    algo = _config().build_algo()
    try:
        theta0 = algo.meta_weights()
        lam0, eta0 = float(algo.meta_lagrange.value), float(algo.safety_multiplier.value)
        result = algo.train()
        meta = result[META_RESULTS]
        # Two tasks, K = 2 steps of 60 env steps + one post-adaptation rollout each.
        assert meta["tasks"] == 2.0
        assert result["num_env_steps_sampled_lifetime"] == 2 * 3 * 60
        assert set(LEARNER_KEYS) <= meta.keys() and 0 < meta["meta_kl"] <= 0.01
        # Eq. 22 on the post-adaptation cost, Eq. 31 on V_C at π_θ's initial states (d = 1).
        d = 1.0
        assert meta["lagrange_multiplier_used"] == lam0 and meta["safety_multiplier_used"] == eta0
        assert meta["lagrange_multiplier"] == pytest.approx(
            max(0.0, lam0 + 0.1 * (meta["cost_step_2"] - d)), rel=1e-5
        )
        assert meta["safety_multiplier"] == pytest.approx(
            max(0.0, eta0 + 0.1 * (meta["initial_cost_value"] - d)), rel=1e-5
        )
        # θ moved, and every runner now holds the new θ.
        theta1 = algo.meta_weights()
        assert not torch.equal(theta1["log_std"], theta0["log_std"])
        assert all(torch.equal(w, theta1["log_std"]) for w in _runner_log_std(algo))
        assert meta["inner_sample_s"] > 0 and meta["inner_update_s"] > 0
    finally:
        algo.stop()


def test_checkpoint_keeps_the_multipliers_and_the_task_stream(local_ray, tmp_path):
    algo = _config().build_algo()
    try:
        algo.train()
        algo.save_to_path(str(tmp_path / "ckpt"))
        state = (
            float(algo.meta_lagrange.value),
            float(algo.safety_multiplier.value),
            algo.distribution.sample_tasks(3, split="train", rng=algo.task_rng),
        )
    finally:
        algo.stop()
    restored = _config().build_algo()
    try:
        restored.restore_from_path(str(tmp_path / "ckpt"))
        assert float(restored.meta_lagrange.value) == state[0]
        assert float(restored.safety_multiplier.value) == state[1]
        tasks = restored.distribution.sample_tasks(3, split="train", rng=restored.task_rng)
        assert tasks == state[2]
        assert restored.meta_iteration == 1
    finally:
        restored.stop()


def test_maml_trpo_has_no_multipliers_and_the_ablation_switches_eta_off(local_ray):
    algo = _config(MAMLTRPOConfig).build_algo()
    try:
        meta = algo.train()[META_RESULTS]
        assert meta["lagrange_multiplier"] == 0.0 and meta["safety_multiplier"] == 0.0
        assert meta["safety_gradient_norm"] == 0.0
    finally:
        algo.stop()
    with pytest.raises(ValueError, match="task_distribution is not set"):
        CMAMLConfig().training(inner="trpo").validate()
    with pytest.raises(ValueError, match="inner='sac'; use one of trpo_lag, cpo, trpo"):
        _config(inner="sac").validate()
