"""Real Tune sweeps tracked in MLflow (sqlite): runs, metrics, artifacts, failures, resume."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

from safemeta.platform.experiment import validate_experiment
from safemeta.platform.runner import run_experiment
from safemeta.platform.tracking import TAG_PARENT

REPO = Path(__file__).resolve().parents[2]
PPO_TINY = {"train_batch_size_per_learner": 40, "minibatch_size": 20, "num_epochs": 1}


def experiment_dict(tmp_path: Path, name: str, envs: list[str], **extra) -> dict:
    return {
        "name": name,
        "imports": ["tests.plugins.scripted_envs"],
        "algorithms": [{"name": "ppo", "hyperparameters": PPO_TINY}],
        "environments": [{"name": env} for env in envs],
        "seeds": [0],
        "budget": {"env_steps": 120},
        "checkpoints": {"every_iterations": 1, "keep": 1},
        "tracking": {"mlflow_uri": f"sqlite:///{tmp_path}/mlflow.db"},
        "storage_path": str(tmp_path / "results"),
        **extra,
    }


@contextlib.contextmanager
def background_run(command: list[str], env: dict[str, str], log_path: Path):
    """``command`` (a ``safemeta run``) in its own process group, output to ``log_path``; on exit
    the group — the driver and the local Ray it started — is killed by pid and reaped."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def child_runs(client: MlflowClient, sweep: str) -> dict[str, object]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string=f"tags.`safemeta.sweep` = '{sweep}'")
    return {
        r.data.tags["safemeta.kind"]
        + ":"
        + r.data.tags.get("safemeta.trial_name", r.info.run_name): r
        for r in runs
    }


def test_sweep_tracks_trials_and_isolates_a_failing_one(local_ray, tmp_path):
    raw = experiment_dict(tmp_path, "isolation", ["ScriptedCost-v0", "ScriptedCostFailing-v0"])
    outcome = run_experiment(validate_experiment(raw), experiment_file_text=yaml.safe_dump(raw))
    assert (outcome.finished, outcome.failed, outcome.total) == (1, 1, 2)

    client = MlflowClient(outcome.tracking_uri)
    runs = child_runs(client, "isolation")
    assert sorted(runs) == [
        "sweep:isolation",
        "trial:ppo__ScriptedCost-v0__seed0",
        "trial:ppo__ScriptedCostFailing-v0__seed0",
    ]
    parent = runs["sweep:isolation"]
    good = runs["trial:ppo__ScriptedCost-v0__seed0"]
    bad = runs["trial:ppo__ScriptedCostFailing-v0__seed0"]
    assert good.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert good.info.status == "FINISHED" and bad.info.status == "FAILED"
    assert parent.data.tags["trials_failed"] == "1"
    assert {good.data.tags[k] for k in ("algorithm", "env", "seed")} == {
        "ppo",
        "ScriptedCost-v0",
        "0",
    }
    assert "git_commit" in good.data.tags and "safemeta_commit" in good.data.tags

    assert good.data.params["trial/seed"] == "0"
    assert good.data.params["trial/hyperparameters/minibatch_size"] == "20"
    assert good.data.params["config/minibatch_size"] == "20"
    history = client.get_metric_history(good.info.run_id, "episode_cost")
    assert [(m.step, m.value) for m in history] == [(40, 2.0), (80, 2.0), (120, 2.0)]
    assert {"violation_rate", "episode_return", "env_steps", "wall_time"} <= set(good.data.metrics)
    assert any(k.startswith("learners/default_policy/") for k in good.data.metrics)

    artifacts = {a.path for a in client.list_artifacts(good.info.run_id, "checkpoint")}
    assert "checkpoint/rllib_checkpoint.json" in artifacts
    traceback = Path(client.download_artifacts(bad.info.run_id, "traceback.txt", str(tmp_path)))
    assert "scripted failure" in traceback.read_text()
    assert "experiment.yaml" in {a.path for a in client.list_artifacts(parent.info.run_id)}

    from ray.rllib.algorithms.algorithm import Algorithm

    restored = Algorithm.from_checkpoint(good.data.tags["checkpoint_path"])
    try:
        assert restored.config.seed == 0
    finally:
        restored.stop()


def test_a_second_run_of_the_same_sweep_needs_resume_or_restart(local_ray, tmp_path):
    raw = experiment_dict(tmp_path, "twice", ["ScriptedCost-v0"], budget={"env_steps": 40})
    experiment = validate_experiment(raw)
    run_experiment(experiment, experiment_file_text="")
    try:
        run_experiment(experiment, experiment_file_text="")
    except FileExistsError as error:
        assert "--resume" in str(error) and "--restart" in str(error)
    else:
        raise AssertionError("a second run must not silently mix into the first")
    outcome = run_experiment(experiment, experiment_file_text="", restart=True)
    assert outcome.finished == 1
    client = MlflowClient(outcome.tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string="tags.`safemeta.sweep` = 'twice'")
    assert sorted(r.data.tags["safemeta.kind"] for r in runs) == [
        "sweep",
        "sweep",
        "trial",
        "trial",
    ]


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_resume_continues_an_interrupted_sweep_without_rerunning_finished_trials(tmp_path):
    raw = experiment_dict(
        tmp_path,
        "interrupted",
        ["ScriptedCost-v0", "ScriptedCostSlow-v0"],
        budget={"env_steps": 800},
        resources={"max_concurrent_trials": 1},
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "safemeta.platform.cli", "run", str(path), "--no-compare"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    fast, slow = "trial:ppo__ScriptedCost-v0__seed0", "trial:ppo__ScriptedCostSlow-v0__seed0"

    def slow_trial_is_midway() -> bool:
        try:
            runs = child_runs(client, "interrupted")
        except Exception:  # the store may not exist yet
            return False
        if fast not in runs or slow not in runs or runs[fast].info.status != "FINISHED":
            return False
        steps = client.get_metric_history(runs[slow].info.run_id, "env_steps")
        return len(steps) >= 3

    with background_run(command, env, tmp_path / "first.log") as first:
        wait_for(slow_trial_is_midway, 240, "the slow trial to be midway")
        os.kill(first.pid, signal.SIGINT)  # Tune saves its state and stops
        assert first.wait(timeout=120) is not None
    before = child_runs(client, "interrupted")
    assert before[slow].info.status == "KILLED"  # not left RUNNING by the interrupt
    parent = client.get_run(before[slow].data.tags[TAG_PARENT])
    assert parent.info.status == "KILLED"
    fast_history = len(client.get_metric_history(before[fast].info.run_id, "env_steps"))

    resumed = subprocess.run(
        [*command, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "2/2 trials finished" in resumed.stdout
    after = child_runs(client, "interrupted")
    assert sorted(after) == sorted(before)  # same parent and child runs, none added
    assert after[slow].info.run_id == before[slow].info.run_id
    assert after[slow].info.status == "FINISHED"
    assert after[slow].data.metrics["env_steps"] >= 800
    assert len(client.get_metric_history(after[fast].info.run_id, "env_steps")) == fast_history

    # --resume with an edited file: a changed budget is refused, naming it; nothing runs.
    edited = {**raw, "seeds": [0, 1], "budget": {"env_steps": 1000}}
    path.write_text(yaml.safe_dump(edited))
    refused = subprocess.run(
        [*command, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    text = " ".join(refused.stderr.split())
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "resume: ppo__ScriptedCost-v0__seed0: env_steps 800 -> 1000 differs" in text
    assert sorted(child_runs(client, "interrupted")) == sorted(before)
    # A new seed alone is added: its two trials run as a new segment of the same sweep.
    path.write_text(yaml.safe_dump({**raw, "seeds": [0, 1]}))
    added = subprocess.run(
        [*command, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert added.returncode == 0, added.stdout[-3000:] + added.stderr[-3000:]
    assert "4/4 trials finished" in added.stdout
    grown = child_runs(client, "interrupted")
    new = sorted(set(grown) - set(before))
    assert new == ["trial:ppo__ScriptedCost-v0__seed1", "trial:ppo__ScriptedCostSlow-v0__seed1"]
    assert {grown[n].data.tags[TAG_PARENT] for n in new} == {parent.info.run_id}
    assert all(grown[n].info.status == "FINISHED" for n in new)
    assert grown[slow].info.run_id == before[slow].info.run_id  # the old trials were not re-run
    assert len(client.get_metric_history(grown[fast].info.run_id, "env_steps")) == fast_history


def test_retries_restart_a_failed_trial_from_its_checkpoint_in_the_same_mlflow_run(
    local_ray, tmp_path
):
    """The env raises 50 steps after each (re)start; with a checkpoint every 40 steps, two retries
    carry the trial to its 120-step budget."""
    raw = experiment_dict(
        tmp_path, "retried", ["ScriptedCostFailing-v0"], fault_tolerance={"retries": 2}
    )
    outcome = run_experiment(validate_experiment(raw), experiment_file_text="")
    assert (outcome.finished, outcome.failed) == (1, 0)
    client = MlflowClient(outcome.tracking_uri)
    runs = child_runs(client, "retried")
    assert len(runs) == 2  # the sweep and one trial run, continued across retries
    trial = runs["trial:ppo__ScriptedCostFailing-v0__seed0"]
    assert trial.info.status == "FINISHED"
    assert trial.data.tags["retries"] == "2"
    steps = [m.step for m in client.get_metric_history(trial.info.run_id, "env_steps")]
    assert sorted(set(steps)) == [40, 80, 120]


def test_restarts_log_every_step_exactly_once_with_cumulative_wall_time(local_ray, tmp_path):
    """Checkpoints every 3 iterations of 40 steps; the env raises 190 steps after each (re)start,
    i.e. in iterations 5 and 8, after iterations 4 and 7 reported results that no checkpoint
    covers. The trial restarts from iterations 3 and 6; MLflow must hold each iteration once, the
    values of the lineage that finished, and a wall time that never goes back."""
    raw = experiment_dict(
        tmp_path,
        "exactly_once",
        ["ScriptedCostFailingLate-v0"],
        budget={"env_steps": 360},
        checkpoints={"every_iterations": 3, "keep": 1},
        fault_tolerance={"retries": 3},
    )
    outcome = run_experiment(validate_experiment(raw), experiment_file_text="")
    assert (outcome.finished, outcome.failed) == (1, 0)
    client = MlflowClient(outcome.tracking_uri)
    trial = child_runs(client, "exactly_once")["trial:ppo__ScriptedCostFailingLate-v0__seed0"]
    assert int(trial.data.tags["retries"]) >= 1  # the restarts did happen
    assert_each_iteration_once(client, trial.info.run_id, 9)


def assert_each_iteration_once(client: MlflowClient, run_id: str, iterations: int) -> None:
    """Iterations 1..n each logged once, at distinct steps, with a wall time that only grows."""
    history = client.get_metric_history(run_id, "training_iteration")
    assert sorted(m.value for m in history) == list(range(1, iterations + 1))
    steps = sorted(m.step for m in history)
    assert len(set(steps)) == len(steps)
    wall = sorted(client.get_metric_history(run_id, "wall_time"), key=lambda m: m.step)
    assert [m.step for m in wall] == steps
    assert all(b.value > a.value for a, b in itertools.pairwise(wall))


def test_a_worker_killed_between_checkpoints_retries_and_logs_each_step_once(local_ray, tmp_path):
    """The trial's worker process SIGKILLs itself after 190 steps (in iteration 5, checkpoints
    every 3 iterations of 40 steps): Tune restarts it from iteration 3's checkpoint."""
    marker = tmp_path / "killed"
    raw = experiment_dict(tmp_path, "worker_killed", ["ScriptedCost-v0"])
    raw["environments"] = [
        {
            "name": "ScriptedCost-v0",
            "kwargs": {"kill_after_steps": 190, "kill_marker": str(marker)},
        }
    ]
    raw.update(
        budget={"env_steps": 360},
        checkpoints={"every_iterations": 3, "keep": 1},
        fault_tolerance={"retries": 2},
    )
    outcome = run_experiment(validate_experiment(raw), experiment_file_text="")
    assert marker.exists()  # the worker was killed
    assert (outcome.finished, outcome.failed) == (1, 0)
    client = MlflowClient(outcome.tracking_uri)
    trial = child_runs(client, "worker_killed")["trial:ppo__ScriptedCost-v0__seed0"]
    assert trial.info.status == "FINISHED"
    assert int(trial.data.tags["retries"]) == 1
    assert_each_iteration_once(client, trial.info.run_id, 9)


def test_resume_after_the_driver_is_killed_logs_each_step_once(tmp_path):
    """SIGKILL of `safemeta run` just after a checkpoint's rows reached MLflow, with the trial
    past it; `--resume` marks the orphaned runs, restores and finishes with no row twice."""
    raw = experiment_dict(
        tmp_path,
        "driver_killed",
        ["ScriptedCostSlow-v0"],
        budget={"env_steps": 800},
        checkpoints={"every_iterations": 3, "keep": 1},
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "safemeta.platform.cli", "run", str(path), "--no-compare"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    name = "trial:ppo__ScriptedCostSlow-v0__seed0"

    def committed_iterations() -> int:
        try:
            runs = child_runs(client, "driver_killed")
        except Exception:  # the store may not exist yet
            return 0
        if name not in runs:
            return 0
        history = client.get_metric_history(runs[name].info.run_id, "training_iteration")
        return int(max((m.value for m in history), default=0))

    with background_run(command, env, tmp_path / "first.log") as first:
        wait_for(lambda: committed_iterations() >= 6, 240, "iteration 6's checkpoint")
        time.sleep(1.2)  # ≈ 1.5 iterations past it: their rows exist only in the driver
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    killed_at = committed_iterations()
    assert 6 <= killed_at < 20
    assert child_runs(client, "driver_killed")[name].info.status == "RUNNING"  # orphaned

    resumed = subprocess.run(
        [*command, "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "1/1 trials finished" in resumed.stdout
    runs = child_runs(client, "driver_killed")
    assert sorted(runs) == ["sweep:driver_killed", name]  # same runs, none added
    assert runs[name].info.status == "FINISHED"
    assert_each_iteration_once(client, runs[name].info.run_id, 20)
