"""The family inside RLlib: each method runs, configs validate, presets match Table I, and a
checkpoint restores ν, ε, α, optimizer states and all three buffers so that training continues
with identical values."""

from __future__ import annotations

import pytest
import torch
from ray import tune
from ray.rllib.algorithms.algorithm import Algorithm

from safemeta.algorithms.registry import get_algorithm_entry
from safemeta.algorithms.sac_lagrangian.table1 import TABLE_I
from safemeta.environments import make

METHODS = ("meta_sac_lag", "meta_sac_lag_nl", "sacv2_lag", "rcpo_sacv2", "rcpo_metasac")
SMALL = {
    "actor_hiddens": [32, 32],
    "critic_hiddens": [32, 32],
    "train_batch_size_per_learner": 32,
    "num_steps_sampled_before_learning_starts": 64,
    "initial_state_prefill": 10,
    "epsilon_lr": 1e-2,
    "alpha_lr": 1e-2,
}


def _pendulum(env_config):
    return make("SafetyPendulum-v0", **env_config)


def _config(name: str, **overrides):
    tune.register_env("SafetyPendulum-v0", _pendulum)
    config = get_algorithm_entry(name).build_config({**SMALL, **overrides})
    config.environment("SafetyPendulum-v0", env_config={"terminate_on_violation": True})
    config.env_runners(num_env_runners=0)
    config.debugging(seed=7)
    config.reporting(min_sample_timesteps_per_iteration=128)
    return config


@pytest.mark.parametrize("name", METHODS)
def test_each_method_trains_and_logs_its_metrics(local_ray, name):
    algo = _config(name).build_algo()
    try:
        for _ in range(2):
            result = algo.train()
    finally:
        algo.stop()
    learner = result["learners"]["default_policy"]
    for key in ("nu", "epsilon", "alpha", "critic_loss", "safety_critic_loss", "mean_q_r"):
        assert key in learner, key
    assert learner["num_gradient_updates_lifetime"] == result["num_env_steps_sampled_lifetime"] - 64
    meta_epsilon = name.startswith("meta_sac_lag")
    meta_alpha = name in ("meta_sac_lag", "meta_sac_lag_nl", "rcpo_metasac")
    assert (learner["epsilon"] != 1.0) == meta_epsilon  # SMALL keeps the default ε = 1
    assert learner["alpha"] <= 1.0 or not meta_alpha


def test_nu_compares_epsilon_with_the_recent_episodes_violation_rate(local_ray):
    # Terminating SafetyPendulum: an episode's cost is 1 if it ended in a violation, else 0.
    # One sampling round per iteration, so the iteration's value is that round's J_c.
    config = _config("sacv2_lag", epsilon=0.5, cost_window_episodes=5)
    algo = config.reporting(min_sample_timesteps_per_iteration=1).build_algo()
    try:
        for _ in range(100):
            learner = algo.train()["learners"]["default_policy"]
            recent = [cost for cost, _ in algo.cost_tracker.get_state()["recent"]]
            if len(recent) == 5 and "constraint_value" in learner:
                break
    finally:
        algo.stop()
    assert len(recent) == 5
    assert learner["constraint_value"] == pytest.approx(sum(cost > 0 for cost in recent) / 5)
    assert learner["constraint_value"] != pytest.approx(learner["mean_q_c"])


def _stored(algo) -> dict[str, torch.Tensor]:
    replay = algo.learner_group._learner.replay
    return {
        f"{field}/{key}": values[: getattr(replay, field).size].clone()
        for field in ("main", "safety")
        for key, values in getattr(replay, field).data.items()
    }


def test_warmup_actions_are_stored_in_the_module_box_and_reproduce_from_the_seed(local_ray):
    """SafetyPendulum's actions are in [-2, 2]: RLlib's random warm-up steps sample that box,
    policy steps store the module's [-1, 1] action; D and D_s must hold the latter scale."""
    runs = []
    for _ in range(2):
        algo = _config("sacv2_lag").build_algo()
        try:
            algo.train()
            runs.append(_stored(algo))
        finally:
            algo.stop()
    first, second = runs
    actions = torch.cat([first["main/actions"], first["safety/actions"]])
    assert len(actions) >= 64
    assert actions.abs().max() <= 1.0
    assert actions.abs().max() > 0.9  # uniform warm-up actions fill the box
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_checkpoint_restores_scalars_optimizers_buffers_and_continues_identically(
    local_ray, tmp_path
):
    algo = _config("meta_sac_lag", nu=5.0, epsilon=0.8).build_algo()
    try:
        algo.train()
        algo.train()
        path = algo.save_to_path(tmp_path / "ckpt")
        restored = Algorithm.from_checkpoint(path)
        try:
            a, b = algo.learner_group._learner, restored.learner_group._learner
            assert a.core.epsilon.value.item() != 0.8  # ε moved: the test is not vacuous
            for name in ("nu", "epsilon", "log_alpha"):
                assert getattr(a.core, name).value.item() == getattr(b.core, name).value.item()
            for field in ("main", "safety", "initial"):
                buffer_a, buffer_b = getattr(a.replay, field), getattr(b.replay, field)
                assert buffer_a.size == buffer_b.size > 0 or field == "safety"
                for key, values in buffer_a.data.items():
                    assert torch.equal(values[: buffer_a.size], buffer_b.data[key][: buffer_b.size])
            actor_a, actor_b = a.core.optimizers["actor"], b.core.optimizers["actor"]
            assert isinstance(actor_b, torch.optim.RMSprop)
            for p_a, p_b in zip(a.core.actor_params, b.core.actor_params, strict=True):
                assert torch.equal(
                    actor_a.state[p_a]["square_avg"], actor_b.state[p_b]["square_avg"]
                )
            assert a.core.updates_done == b.core.updates_done
            assert algo.cost_tracker.get_state() == restored.cost_tracker.get_state()
            # continue: the same updates on the same data give identical values
            a.run_updates(5)
            b.run_updates(5)
            for name in ("nu", "epsilon", "log_alpha"):
                assert getattr(a.core, name).value.item() == getattr(b.core, name).value.item()
            state_a = a.module["default_policy"].state_dict()
            state_b = b.module["default_policy"].state_dict()
            assert state_a.keys() == state_b.keys()
            for key in state_a:
                assert torch.equal(state_a[key], state_b[key]), key
        finally:
            restored.stop()
    finally:
        algo.stop()


def test_validation_names_the_bad_value_and_the_fix():
    config = get_algorithm_entry("meta_sac_lag").build_config({"actor_optimizer": "adam"})
    with pytest.raises(ValueError, match=r"actor_optimizer='adam'.*set actor_optimizer='rmsprop'"):
        config.validate()
    config = get_algorithm_entry("rcpo_sacv2").build_config({"epsilon_update": "meta"})
    with pytest.raises(ValueError, match="use epsilon_update='fixed'"):
        config.validate()
    config = get_algorithm_entry("sacv2_lag").build_config({"epsilon": 2.6})
    with pytest.raises(ValueError, match=r"epsilon=2.6 must be in \[0, 1.5\]"):
        config.validate()
    config = get_algorithm_entry("sacv2_lag").build_config({"nu": 0.0})
    with pytest.raises(ValueError, match=r"nu=0.0 must be > 0"):
        config.validate()


def test_table1_presets_use_training_kwargs():
    for name in METHODS:
        entry = get_algorithm_entry(name)
        table1 = entry.presets()["table1"]
        assert set(table1) == set(TABLE_I)
        for values in table1.values():
            assert set(values) <= entry.hyperparameter_names()
    car = "SafetyCarCircle2-v0"
    assert get_algorithm_entry("sacv2_lag").presets()["table1"][car]["nu"] == 100.0
    assert get_algorithm_entry("rcpo_sacv2").presets()["table1"][car]["nu"] == 1.0
    assert get_algorithm_entry("meta_sac_lag").presets()["table1"][car]["epsilon"] == 1.0
    assert get_algorithm_entry("sacv2_lag").presets()["table1"][car]["epsilon"] == 0.5


def test_settings_equal_to_minus_one_reach_the_learner(local_ray):
    """RLlib drops config values equal to -1 when it builds the Algorithm; the family keeps them
    (here SACv2's target entropy, whose default on Point-Circle's 2-D actions is −2)."""
    tune.register_env("SafetyPointCircle1-v0", lambda cfg: make("SafetyPointCircle1-v0", **cfg))
    config = get_algorithm_entry("sacv2_lag").build_config({**SMALL, "target_entropy": -1.0})
    config.environment("SafetyPointCircle1-v0").env_runners(num_env_runners=0)
    algo = config.build_algo()
    try:
        assert algo.config.target_entropy == -1.0
        assert algo.learner_group._learner.core.target_entropy == -1.0
    finally:
        algo.stop()
