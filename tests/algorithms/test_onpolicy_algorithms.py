"""Each registered on-policy algorithm runs an iteration and logs its learner metrics; configs
validate; the Lagrange multiplier and the observation normaliser survive a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from safemeta.algorithms.registry import get_algorithm_entry
from tests.plugins.onpolicy_envs import RiskyRewardEnv

pytestmark = pytest.mark.usefixtures("local_ray")

EXPECTED_METRICS = {
    "trpo": {"kl", "line_search_accepted", "surrogate_improvement", "episode_cost_estimate"},
    "trpo_lag": {"kl", "lagrange_multiplier", "line_search_accepted"},
    "cpo": {"kl", "cpo_case", "cpo_nu", "cost_surrogate_change", "line_search_accepted"},
    "ppo_lag": {"kl", "lagrange_multiplier", "policy_loss"},
}


def _build(name: str, **hyperparameters):
    config = get_algorithm_entry(name).build_config(
        {"train_batch_size_per_learner": 200, "cost_limit": 1.0, **hyperparameters}
    )
    return config.environment(RiskyRewardEnv).debugging(seed=0).build_algo()


@pytest.mark.parametrize("name", sorted(EXPECTED_METRICS))
def test_registered_algorithm_runs_and_logs_learner_metrics(name: str) -> None:
    algo = _build(name)
    try:
        learner = algo.train()["learners"]["default_policy"]
        assert EXPECTED_METRICS[name] <= set(learner), sorted(learner)
        assert np.isfinite(learner["value_loss"]) and learner["cost_limit"] == 1.0
        if name != "ppo_lag":
            assert learner["kl"] <= 0.01 + 1e-9  # the accepted step stays in the trust region
    finally:
        algo.stop()


@pytest.mark.parametrize(
    ("name", "hyperparameters", "message"),
    [
        ("trpo", {"max_kl": 0.0}, "max_kl=0.0"),
        ("cpo", {"cost_limit": -1.0}, "cost_limit=-1.0"),
        ("trpo_lag", {"lagrangian_optimizer": "lbfgs"}, "use 'adam', 'rmsprop' or 'sgd'"),
        ("ppo_lag", {"clip_param": 1.5}, "clip_param=1.5"),
        ("trpo", {"policy_hiddens": [64, 0]}, "layer sizes must be positive"),
    ],
)
def test_validate_names_the_bad_value(name: str, hyperparameters: dict, message: str) -> None:
    config = get_algorithm_entry(name).build_config(hyperparameters)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_checkpoint_keeps_lagrange_multiplier_and_normaliser(tmp_path) -> None:
    algo = _build("trpo_lag", lagrangian_init=0.5)
    try:
        algo.train()
        algo.train()
        learner = algo.learner_group._learner
        lam = float(learner.lagrange.value)
        normaliser = learner.module["default_policy"].obs_normalizer
        mean, count = normaliser.mean.clone(), float(normaliser.count)
        assert lam != 0.5 and count == 400.0
        algo.save_to_path(str(tmp_path))
    finally:
        algo.stop()
    restored = _build("trpo_lag", lagrangian_init=0.0)
    try:
        restored.restore_from_path(str(tmp_path))
        learner = restored.learner_group._learner
        assert float(learner.lagrange.value) == pytest.approx(lam)
        normaliser = learner.module["default_policy"].obs_normalizer
        assert torch.allclose(normaliser.mean, mean) and float(normaliser.count) == count
        # The runners act with the restored normaliser too.
        runner_count = restored.env_runner.module.obs_normalizer.count
        assert float(runner_count) == count
    finally:
        restored.stop()


def test_settings_equal_to_minus_one_reach_the_algorithm() -> None:
    # RLlib drops config attributes equal to -1 (its DEPRECATED_VALUE) when building the
    # Algorithm; the family keeps its own.
    algo = _build("cpo", init_log_std=-1.0)
    try:
        assert algo.config.init_log_std == -1.0
        for module in (
            algo.learner_group._learner.module["default_policy"],
            algo.env_runner.module,
        ):
            assert torch.equal(module.log_std.detach(), torch.tensor([-1.0]))
    finally:
        algo.stop()
    config = get_algorithm_entry("cpo").build_config({"cost_limit": -1.0})
    rebuilt = type(config).from_state(config.get_state())  # what Algorithm.__init__ does
    with pytest.raises(ValueError, match=r"cost_limit=-1\.0"):
        rebuilt.validate()
