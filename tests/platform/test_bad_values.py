"""Bad values in an experiment file fail through the CLI before Ray starts: exit 2, one line that
names the field, and no MLflow store or results folder left behind."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

BASE = {
    "name": "bad_values",
    "algorithms": [
        {"name": "sacv2_lag", "hyperparameters": {"actor_hiddens": [16], "nu": 1.0}},
        {"name": "trpo_lag", "hyperparameters": {"policy_hiddens": [16]}},
    ],
    "environments": [{"name": "SafetyPointCircle1-v0", "kwargs": {"terminate_on_violation": True}}],
    "seeds": [0],
    "budget": {"env_steps": 1000},
}


def _variant(change: str) -> dict:
    raw = copy.deepcopy(BASE)
    sac, trpo = raw["algorithms"][0]["hyperparameters"], raw["algorithms"][1]["hyperparameters"]
    kwargs = raw["environments"][0]["kwargs"]
    if change == "string_bool":
        kwargs["terminate_on_violation"] = "no"
    elif change == "kwarg_typo":
        kwargs["terminate_on_violaton"] = kwargs.pop("terminate_on_violation")
    elif change == "string_lr":
        trpo["lr"] = "fast"
    elif change == "string_hiddens":
        trpo["policy_hiddens"] = "64x64"
    elif change == "out_of_range":
        sac["nu"] = 0.0
    elif change == "cpus":
        raw["resources"] = {"cpus_per_trial": 64}
    return raw


CASES = {
    "string_bool": "environments[0].kwargs.terminate_on_violation: got the string 'no'; "
    "expected bool",
    "kwarg_typo": "environments[0].kwargs.terminate_on_violaton: not accepted by "
    "SafetyPointCircle1-v0; did you mean terminate_on_violation?",
    "string_lr": "algorithms[1].hyperparameters.lr: got the string 'fast'; expected float",
    "string_hiddens": "algorithms[1].hyperparameters.policy_hiddens: got the string '64x64'; "
    "expected list[int]",
    "out_of_range": "algorithms[0] (sacv2_lag on SafetyPointCircle1-v0): nu=0.0 must be > 0",
    "cpus": "resources: trial sacv2_lag__SafetyPointCircle1-v0__seed0 needs 64 CPUs",
}


def _run(path: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "safemeta.platform.cli", "run", str(path), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.mark.parametrize("change", sorted(CASES))
def test_bad_value_fails_before_ray_with_one_line(tmp_path: Path, change: str) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    path = work / "bad.yaml"
    path.write_text(yaml.safe_dump(_variant(change)))
    done = _run(path, work, {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(home)})
    assert done.returncode == 2, done.stdout + done.stderr
    text = " ".join(done.stderr.split())  # rich wraps long lines
    assert CASES[change] in text
    assert "Started a local Ray instance" not in done.stdout + done.stderr
    assert sorted(p.name for p in work.iterdir()) == ["bad.yaml"]  # no mlruns, no results


def test_job_context_refuses_outputs_inside_the_temporary_working_dir(tmp_path: Path) -> None:
    # What Ray's job supervisor sets for an entrypoint with an uploaded working_dir; the default
    # sqlite store and results folder are relative, i.e. inside that (temporary) dir.
    work = tmp_path / "work"
    work.mkdir()
    path = work / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    job = '{"runtime_env": {"working_dir": "gcs://_ray_pkg_0123.zip"}, "metadata": {}}'
    env = {
        "PYTHONPATH": str(REPO),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RAY_JOB_CONFIG_JSON_ENV_VAR": job,
    }
    done = _run(path, work, env)
    text = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "tracking URI sqlite:///mlruns/mlflow.db is inside the job's temporary working dir" in text
    )
    assert "pass --tracking-uri http://MLFLOW-SERVER:5000" in text
    assert "storage_path results is inside" in text
    assert sorted(p.name for p in work.iterdir()) == ["job.yaml"]
    # Outputs outside the working dir are fine (the run proceeds past this check).
    outside = {
        **BASE,
        "storage_path": str(tmp_path / "results"),
        "resources": {"cpus_per_trial": 64},
    }
    path.write_text(yaml.safe_dump(outside))
    done = _run(path, work, env, "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db")
    assert "resources: trial" in " ".join(done.stderr.split())  # the next check speaks
