"""Experiment files: validation messages, presets, grid expansion, the CLI's exit status."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tests.plugins.preset_algorithms
import tests.plugins.scripted_envs  # noqa: F401  (registers ScriptedCost-v0)
from safemeta.platform.experiment import (
    ExperimentError,
    expand_trials,
    load_experiment,
    validate_experiment,
)

REPO = Path(__file__).resolve().parents[2]

GOOD = {
    "name": "unit",
    "imports": ["tests.plugins.scripted_envs", "tests.plugins.preset_algorithms"],
    "algorithms": [
        {"name": "ppo", "hyperparameters": {"lr": 1e-3}},
        {
            "name": "ppo_with_presets",
            "label": "tuned",
            "preset": "per_env",
            "hyperparameters": {"gamma": 0.95},
        },
    ],
    "environments": [
        {"name": "ScriptedCost-v0", "kwargs": {"episode_length": 5}},
        {"name": "SafetyPendulum-v0"},
    ],
    "seeds": {"count": 3, "start": 7},
    "budget": {"env_steps": 1000},
}


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ExperimentError) as caught:
        validate_experiment(raw)
    return caught.value.problems


def with_change(path: tuple, value) -> dict:
    raw = copy.deepcopy(GOOD)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return raw


def test_good_file_expands_to_algorithms_x_envs_x_seeds_in_order():
    trials = expand_trials(validate_experiment(GOOD))
    assert len(trials) == 2 * 2 * 3
    assert [t.trial_name for t in trials[:4]] == [
        "ppo__ScriptedCost-v0__seed7",
        "ppo__ScriptedCost-v0__seed8",
        "ppo__ScriptedCost-v0__seed9",
        "ppo__SafetyPendulum-v0__seed7",
    ]
    assert {t.seed for t in trials} == {7, 8, 9}
    assert trials[0].env_kwargs == {"episode_length": 5}
    assert trials[0].hyperparameters == {"lr": 1e-3}


def test_preset_values_are_per_env_and_file_values_override_them():
    trials = {(t.label, t.env): t for t in expand_trials(validate_experiment(GOOD))}
    assert trials[("tuned", "ScriptedCost-v0")].hyperparameters == {"lr": 3e-4, "gamma": 0.95}
    assert trials[("tuned", "SafetyPendulum-v0")].hyperparameters == {"lr": 5e-4, "gamma": 0.95}


def test_seed_list_and_defaults():
    experiment = validate_experiment(with_change(("seeds",), [3, 1]))
    assert experiment.seed_list == [3, 1]
    assert experiment.resources.env_runners == 0
    assert experiment.tracking.mlflow_uri == "sqlite:///mlruns/mlflow.db"
    assert experiment.experiment_name == "unit"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("budget", "env_steps"), -5, "budget.env_steps: Input should be greater than 0 (got -5)"),
        (("seeds",), [1, 1], "seeds: seeds must be unique, got [1, 1]"),
        (("seeds",), {"count": 0}, "seeds.count: Input should be greater than or equal to 1"),
        (("seeds",), [0, "x"], "seeds[1]: Input should be a valid integer"),
        (
            ("resources",),
            {"gpus": 1},
            "resources.gpus: unknown field; allowed fields: env_runners, envs_per_env_runner",
        ),
        (("name",), "has space", "name: String should match pattern"),
        (("algorithms",), [], "algorithms: List should have at least 1 item"),
        (
            ("tracking",),
            {"log_checkpoints": "some"},
            "tracking.log_checkpoints: Input should be 'final', 'all' or 'none' (got 'some')",
        ),
    ],
)
def test_schema_problem_names_field_value_and_allowed(path, value, expected):
    problems = problems_of(with_change(path, value))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_imports_problem_says_how_to_fix():
    (problem,) = problems_of(with_change(("imports",), ["no_such_module_xyz"]))
    assert problem.startswith("imports: cannot import 'no_such_module_xyz'")
    assert "PYTHONPATH" in problem


def test_missing_fields_are_each_reported():
    raw = {k: v for k, v in GOOD.items() if k not in ("budget", "seeds")}
    assert sorted(problems_of(raw)) == [
        "budget: required field is missing",
        "seeds: required field is missing",
    ]


def test_unknown_names_list_the_registered_ones():
    raw = with_change(("algorithms", 0, "name"), "meta_sack")
    raw["environments"][1]["name"] = "SafetyPendulum-v9"
    problems = problems_of(raw)
    assert len(problems) == 2
    env_problem, algo_problem = problems
    assert env_problem.startswith("environments[1].name: unknown environment 'SafetyPendulum-v9'")
    assert "SafetyPendulum-v0" in env_problem and "ScriptedCost-v0" in env_problem
    assert algo_problem.startswith("algorithms[0].name: unknown algorithm 'meta_sack'")
    assert "ppo" in algo_problem and "sac" in algo_problem


def test_unknown_hyperparameter_and_env_kwarg_list_what_is_allowed():
    raw = with_change(("algorithms", 0, "hyperparameters"), {"learning_rate": 1})
    raw["environments"][0]["kwargs"] = {"length": 3}
    env_problem, algo_problem = problems_of(raw)
    assert env_problem.startswith("environments[0].kwargs.length: not accepted by ScriptedCost-v0")
    assert env_problem.endswith("did you mean episode_length?")
    assert algo_problem.startswith("algorithms[0].hyperparameters: learning_rate not accepted")
    assert "lr" in algo_problem.split("allowed:")[1]


def test_preset_problems():
    unknown = problems_of(with_change(("algorithms", 1, "preset"), "huge"))
    assert unknown == ["algorithms[1].preset: unknown preset 'huge'; allowed: per_env, small"]
    raw = with_change(("algorithms", 1, "preset"), "per_env")
    raw["environments"].append({"name": "ScriptedCostFailing-v0"})
    assert problems_of(raw) == [
        "algorithms[1].preset: 'per_env' has no values for ScriptedCostFailing-v0; "
        "it covers: SafetyPendulum-v0, ScriptedCost-v0"
    ]
    no_presets = problems_of(with_change(("algorithms", 0, "preset"), "x"))
    assert no_presets == [
        "algorithms[0].preset: unknown preset 'x'; allowed: (this algorithm has none)"
    ]


def test_duplicate_algorithm_needs_a_label():
    raw = with_change(("algorithms", 1), {"name": "ppo"})
    (problem,) = problems_of(raw)
    assert "ppo appear more than once" in problem and "label" in problem


def test_load_reports_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ExperimentError) as caught:
        load_experiment(tmp_path / "nope.yaml")
    assert "does not exist" in caught.value.problems[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ExperimentError) as caught:
        load_experiment(bad)
    assert caught.value.problems[0].startswith("(file): not valid YAML")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "safemeta.platform.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_bad_file_exits_2_with_one_line_per_problem(tmp_path):
    raw = with_change(("algorithms", 0, "name"), "nope")
    raw["budget"] = {"env_steps": 0}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = run_cli("run", str(path))
    assert done.returncode == 2
    lines = [line.strip() for line in done.stderr.splitlines()]
    assert lines[0].endswith("1 problem(s)")  # schema problems stop before registry checks
    assert lines[1] == "budget.env_steps: Input should be greater than 0 (got 0)"


def test_cli_dry_run_prints_the_grid_without_running(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    done = run_cli("run", "--dry-run", str(path))
    assert done.returncode == 0, done.stderr
    assert "unit: 12 trials, 1,000 env steps each" in done.stdout
    assert "tuned__SafetyPendulum-v0__seed9" in done.stdout
    assert not (REPO / "results" / "unit").exists()


def test_cli_list_prints_both_registries():
    done = run_cli("list")
    assert done.returncode == 0, done.stderr
    assert "Algorithms" in done.stdout and "Environments" in done.stdout
    assert "SafetyPendulum-v0" in done.stdout and "ppo" in done.stdout


def test_an_initialisation_can_be_fine_tuned_by_another_algorithm_than_the_sweeps():
    raw = {
        "name": "fine-tune-override",
        "imports": ["tests.plugins.onpolicy_envs"],
        "algorithms": [
            {"name": "meta_cpo"},
            {"name": "trpo", "label": "trpo_per_task", "env_steps": 0, "meta_test_inner": "trpo"},
        ],
        "meta": {"train": {"distribution": "test_targets"}, "test": {"inner": "meta_cpo"}},
        "seeds": [0],
        "budget": {"env_steps": 100},
    }
    inner = {t.label: t.meta_test["inner"] for t in expand_trials(validate_experiment(raw))}
    assert inner == {"meta_cpo": "meta_cpo", "trpo_per_task": "trpo"}
    raw["algorithms"][1]["meta_test_inner"] = "sac"
    assert any("meta_test_inner" in p and "meta_trpo" in p for p in problems_of(raw))
