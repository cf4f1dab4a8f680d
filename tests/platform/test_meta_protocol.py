"""The meta-train / meta-test protocol end to end: one experiment file trains C-MAML, MAML-TRPO,
TRPO-Lag pretrained on the union of the train tasks and an untrained (random) initialisation;
each is fine-tuned on the same test tasks; MLflow holds the curves; compare draws them."""

from __future__ import annotations

import yaml
from mlflow.tracking import MlflowClient

from safemeta.platform.compare import compare_sweep, find_sweep, load_trials
from safemeta.platform.cost_metrics import META_TEST_COST, META_TEST_COST_LIMIT, META_TEST_RETURN
from safemeta.platform.experiment import expand_trials, validate_experiment
from safemeta.platform.runner import run_experiment
from safemeta.platform.trial import build_algorithm_config
from tests.platform.test_sweeps import child_runs

TINY = {"policy_hiddens": [8], "critic_hiddens": [8], "critic_epochs": 1}
INNER_STEPS = 1
META = {
    **TINY,
    "tasks_per_iteration": 2,
    "inner_steps": INNER_STEPS,
    "inner_rollout_steps": 40,
}


def meta_experiment(tmp_path) -> dict:
    return {
        "name": "meta-protocol",
        "imports": ["tests.plugins.onpolicy_envs"],
        "algorithms": [
            {
                "name": "c_maml",
                "hyperparameters": {
                    **META,
                    "meta_lagrangian_init": 2.0,
                    "safety_multiplier_init": 1.0,
                },
            },
            {"name": "maml_trpo", "hyperparameters": META},
            {"name": "trpo_lag", "hyperparameters": {**TINY, "train_batch_size_per_learner": 80}},
            {"name": "trpo_lag", "label": "random_init", "env_steps": 0, "hyperparameters": TINY},
        ],
        "meta": {
            "train": {"distribution": "test_targets"},
            "test": {
                "tasks": 2,
                "adaptation_steps": 2,
                "rollout_steps": 30,
                "inner_hyperparameters": {"critic_epochs": 1},
                "cost_limit": 0.5,
            },
        },
        "seeds": [0],
        "budget": {"env_steps": 160},
        "resources": {"env_runners": 1, "max_concurrent_trials": 1},
        "checkpoints": {"every_iterations": 1, "keep": 1},
        "tracking": {"mlflow_uri": f"sqlite:///{tmp_path}/mlflow.db"},
        "storage_path": str(tmp_path / "results"),
    }


def test_experiment_file_expands_meta_trials(tmp_path) -> None:
    raw = meta_experiment(tmp_path)
    raw["resources"] = {**raw["resources"], "cpus_per_env_runner": 0.5}
    experiment = validate_experiment(raw)
    trials = {t.label: t for t in expand_trials(experiment)}
    config = build_algorithm_config(trials["c_maml"])
    assert (config.num_env_runners, config.num_cpus_per_env_runner) == (1, 0.5)
    assert config.task_distribution == "test_targets"  # meta.train reached the meta-algorithm
    assert sorted(trials) == ["c_maml", "maml_trpo", "random_init", "trpo_lag"]
    assert {t.env for t in trials.values()} == {"TestTargets-v0"}  # the distribution's env
    assert trials["random_init"].env_steps == 0 and trials["c_maml"].env_steps == 160
    assert trials["c_maml"].meta_train == {
        "distribution": "test_targets",
        "kwargs": {},
        "split": "train",
    }
    bad = meta_experiment(tmp_path)
    bad["meta"]["train"]["distribution"] = "nowhere"
    bad["environments"] = [{"name": "TestTargets-v0"}]
    problems = _problems(bad)
    assert any("leave it out with meta" in p for p in problems), problems
    del bad["environments"]
    problems = _problems(bad)
    assert any(
        "meta.train.distribution: unknown task distribution 'nowhere'" in p for p in problems
    )


def _problems(raw: dict) -> list[str]:
    from safemeta.platform.experiment import ExperimentError

    try:
        validate_experiment(raw)
    except ExperimentError as error:
        return error.problems
    return []


def test_every_initialisation_is_meta_tested_and_compared(local_ray, tmp_path) -> None:
    raw = meta_experiment(tmp_path)
    outcome = run_experiment(validate_experiment(raw), experiment_file_text=yaml.safe_dump(raw))
    assert (outcome.finished, outcome.failed) == (4, 0)
    client = MlflowClient(outcome.tracking_uri)
    runs = child_runs(client, "meta-protocol")
    for label in ("c_maml", "maml_trpo", "trpo_lag", "random_init"):
        run = runs[f"trial:{label}__TestTargets-v0__seed0"]
        returns = client.get_metric_history(run.info.run_id, META_TEST_RETURN)
        costs = client.get_metric_history(run.info.run_id, META_TEST_COST)
        # Steps 0..K = 2 of the adaptation curve, once each; the test-time d of the file.
        assert sorted(m.step for m in returns) == [0, 1, 2], label
        assert sorted(m.step for m in costs) == [0, 1, 2], label
        assert all(m.value <= 0.0 for m in returns)  # reward −(a − target)²
        assert run.data.metrics[META_TEST_COST_LIMIT] == 0.5
    c_maml = runs["trial:c_maml__TestTargets-v0__seed0"].data.metrics
    maml = runs["trial:maml_trpo__TestTargets-v0__seed0"].data.metrics
    assert "meta/lagrange_multiplier" in c_maml and "meta/cost_step_1" in c_maml
    # λ and η reach the outer step: C-MAML's meta policy differs from MAML-TRPO's.
    assert c_maml["meta/safety_gradient_norm"] > 0 and maml["meta/safety_gradient_norm"] == 0
    assert c_maml[META_TEST_RETURN] != maml[META_TEST_RETURN]
    report = compare_sweep("meta-protocol", outcome.tracking_uri, tmp_path / "report")
    assert {"adaptation.png", "meta_training_TestTargets-v0.png"} <= {p.name for p in report.files}
    curves = {t.algorithm: t for t in load_trials(client, *find_sweep(client, "meta-protocol"))}
    # Meta-training curves: the last inner step's cost per meta-iteration, only for meta-trials.
    assert curves["c_maml"].final("cost_adapted") == c_maml[f"meta/cost_step_{INNER_STEPS}"]
    assert curves["maml_trpo"].has("return_before") and not curves["trpo_lag"].has("return_before")
    header = report.markdown.splitlines()[2]
    assert "meta-test return @0" in header and "meta-test cost @2" in header
    rows = {r.algorithm: r for r in report.rows}
    assert rows["random_init"].estimates[f"{META_TEST_RETURN}/step_0"].n == 1
    assert rows["c_maml"].estimates["safety_multiplier"].n == 1  # the final η column
