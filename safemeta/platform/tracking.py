"""MLflow tracking of a sweep: one parent run per sweep, one child run per trial.

The tracker is a Tune callback, so it runs in the driver only (one writer to a sqlite store). Child
runs are found again by their ``safemeta.trial_id`` tag, so retries and ``--resume`` continue the
same MLflow run instead of opening a new one.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from ray import tune

from safemeta.platform.cost_metrics import (
    META_TEST,
    META_TEST_COST,
    META_TEST_COST_LIMIT,
    META_TEST_RETURN,
)
from safemeta.platform.files import write_json_atomic
from safemeta.platform.trial import ENV_STEPS, WINDOW_FILE, TrialSpec, build_algorithm_config

TAG_SWEEP = "safemeta.sweep"
TAG_KIND = "safemeta.kind"
TAG_TRIAL_ID = "safemeta.trial_id"
TAG_PARENT = "mlflow.parentRunId"
TAG_RUN_NAME = "mlflow.runName"
TAG_TRIAL_NAME = "safemeta.trial_name"
TAG_DRIVER = "safemeta.driver"
"""``host:pid`` of the driver that runs (or last ran) a sweep: lets a later command tell an
orphaned RUNNING run (driver killed) from a live one."""
SWEEP_STATE_FILE = "safemeta_sweep.json"
MAX_PARAM_LENGTH = 6000
LOGGED_RESULT_SECTIONS = (
    "learners",
    "meta",
)  # besides result["safemeta"], algorithm-reported values
SKIPPED_METRIC_PARTS = ("timer", "throughput", "connector")  # RLlib's internals, not results


def resolve_tracking_uri(uri: str, base: Path | None = None) -> str:
    """Make a relative ``sqlite:///`` path absolute (against ``base`` or the cwd); make its dir."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path = ((base or Path.cwd()) / uri[len(prefix) :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    if uri.startswith(prefix):
        Path(uri[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
    return uri


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""Terminal colour/control sequences (Tune's error.txt carries them): stripped from tracebacks."""


def checkpoint_iteration(checkpoint: Any) -> float:
    """The training iteration a trial checkpoint was taken at (``SafemetaTrial`` writes it);
    infinity if it cannot be read (then every pending row is committed)."""
    try:
        with checkpoint.filesystem.open_input_stream(f"{checkpoint.path}/{WINDOW_FILE}") as f:
            return float(json.loads(f.read())["training_iteration"])
    except (OSError, KeyError, ValueError, AttributeError):
        return float("inf")


def driver_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def driver_gone(tag: str | None) -> bool:
    """True if the tagged driver ran on this host and its process no longer exists (a driver on
    another host cannot be checked from here: False)."""
    host, _, pid = (tag or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # PermissionError: alive under another user
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


def reconcile_orphans(client: MlflowClient, sweep: str) -> int:
    """Mark the RUNNING parent and trial runs of ``sweep`` whose driver is gone as KILLED (a
    SIGKILLed driver cannot close them). Returns how many runs changed."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return 0
    parents = client.search_runs(
        experiments,
        filter_string=f"tags.`{TAG_SWEEP}` = '{sweep}' and tags.`{TAG_KIND}` = 'sweep' "
        "and attributes.status = 'RUNNING'",
    )
    changed = 0
    for parent in parents:
        if not driver_gone(parent.data.tags.get(TAG_DRIVER)):
            continue
        children = client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.`{TAG_PARENT}` = '{parent.info.run_id}' "
            "and attributes.status = 'RUNNING'",
        )
        for run in [*children, parent]:
            client.set_tag(run.info.run_id, "killed_because", "its driver process is gone")
            client.set_terminated(run.info.run_id, status="KILLED")
            changed += 1
    return changed


def run_display_name(spec: TrialSpec) -> str:
    """MLflow run name: what tells trials of one sweep apart comes first, since the UI's run
    column truncates (``seed2 cpo SafetyPointGoal1-v0``)."""
    return f"seed{spec.seed} {spec.label} {spec.env}"


def git_commit(cwd: Path | None = None) -> str:
    """The checked-out commit (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested mappings -> ``("a/b/c", value)`` pairs."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, name + "/")
        else:
            yield name, value


def numeric_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """Canonical ``result["safemeta"]`` metrics under their names, plus numeric learner values."""
    metrics = {k: float(v) for k, v in result.get("safemeta", {}).items()}
    for section in LOGGED_RESULT_SECTIONS:
        for key, value in flatten(result.get(section, {}), section + "/"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if any(part in key for part in SKIPPED_METRIC_PARTS):
                continue
            if math.isfinite(value):
                metrics[key] = float(value)
    return metrics


def meta_test_metrics(curve: Mapping[str, Any] | None, timestamp: int) -> list[Metric]:
    """The meta-test's adaptation curve as ``meta_test/return`` and ``meta_test/cost`` with the
    adaptation step as MLflow step (and the cost limit and task count at step 0)."""
    if not curve:
        return []
    metrics = []
    for name, key in ((META_TEST_RETURN, "episode_return"), (META_TEST_COST, "episode_cost")):
        for k, value in enumerate(curve[key]):
            if math.isfinite(value):
                metrics.append(Metric(name, float(value), timestamp, k))
    metrics.append(Metric(META_TEST_COST_LIMIT, float(curve["cost_limit"]), timestamp, 0))
    metrics.append(Metric(f"{META_TEST}/tasks", float(curve["tasks"]), timestamp, 0))
    return metrics


def trial_params(spec: TrialSpec) -> dict[str, str]:
    """Flattened trial spec and full RLlib config, as MLflow params."""
    params: dict[str, str] = {}
    for key, value in flatten(spec.model_dump()):
        params[f"trial/{key}"] = json.dumps(value) if not isinstance(value, str) else value
    try:
        config = build_algorithm_config(spec).to_dict()
    except Exception as error:  # the trial itself will report it; params stay partial
        params["config/error"] = repr(error)
    else:
        for key, value in flatten(config, "config/"):
            if callable(value) or isinstance(value, type):
                value = getattr(value, "__qualname__", repr(value))
            params[key] = str(value)
    return {k[:250]: v[:MAX_PARAM_LENGTH] for k, v in params.items()}


class MlflowSweepTracker(tune.Callback):
    """Records a sweep in MLflow: params, per-iteration metrics, tags, checkpoints, failures."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        sweep: str,
        sweep_dir: Path,
        experiment_file_text: str,
        log_checkpoints: str = "final",
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.sweep = sweep
        self.sweep_dir = Path(sweep_dir)
        self.experiment_file_text = experiment_file_text
        self.log_checkpoints = log_checkpoints
        self.commit = git_commit()
        self.safemeta_commit = git_commit(Path(__file__).resolve().parent)
        self._client: MlflowClient | None = None
        self._experiment_id = ""
        self.parent_run_id = ""
        self._runs: dict[str, str] = {}
        self._checkpoints: dict[str, str] = {}
        self._pending: dict[str, list[tuple[int, list[Metric]]]] = {}
        self.failed_trials = 0

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks with the sweep state
        return {**self.__dict__, "_client": None, "_runs": {}, "_checkpoints": {}, "_pending": {}}

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def setup(self, **info: Any) -> None:
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        self._experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else self.client.create_experiment(self.experiment_name)
        )
        state_file = self.sweep_dir / SWEEP_STATE_FILE
        if state_file.exists():
            self.parent_run_id = json.loads(state_file.read_text())["parent_run_id"]
            self.client.update_run(self.parent_run_id, status="RUNNING")
            self.client.set_tag(self.parent_run_id, TAG_DRIVER, driver_id())
            return
        parent = self.client.create_run(
            self._experiment_id,
            run_name=self.sweep,
            tags={
                TAG_SWEEP: self.sweep,
                TAG_KIND: "sweep",
                TAG_DRIVER: driver_id(),
                "git_commit": self.commit,
                "safemeta_commit": self.safemeta_commit,
            },
        )
        self.parent_run_id = parent.info.run_id
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "experiment.yaml"
            path.write_text(self.experiment_file_text)
            self.client.log_artifact(self.parent_run_id, str(path))
        write_json_atomic(
            state_file,
            {"parent_run_id": self.parent_run_id, "experiment_id": self._experiment_id},
        )

    def _run_for(self, trial: Any) -> str:
        if trial.trial_id in self._runs:
            return self._runs[trial.trial_id]
        found = self.client.search_runs(
            [self._experiment_id],
            filter_string=f"tags.`{TAG_TRIAL_ID}` = '{trial.trial_id}' "
            f"and tags.`{TAG_PARENT}` = '{self.parent_run_id}'",
        )
        if found:
            run_id = found[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
        else:
            spec = TrialSpec.model_validate(trial.config["trial"])
            tags = {
                TAG_PARENT: self.parent_run_id,
                TAG_SWEEP: self.sweep,
                TAG_KIND: "trial",
                TAG_TRIAL_ID: trial.trial_id,
                TAG_RUN_NAME: run_display_name(spec),
                TAG_TRIAL_NAME: spec.trial_name,
                "algorithm": spec.label,
                "algorithm_name": spec.algorithm,
                "env": spec.env,
                "seed": str(spec.seed),
                "git_commit": self.commit,
                "safemeta_commit": self.safemeta_commit,
            }
            run_id = self.client.create_run(
                self._experiment_id, run_name=run_display_name(spec), tags=tags
            ).info.run_id
            params = [Param(k, v) for k, v in trial_params(spec).items()]
            for start in range(0, len(params), 100):
                self.client.log_batch(run_id, params=params[start : start + 100])
        self._runs[trial.trial_id] = run_id
        return run_id

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._run_for(trial)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        """Metrics wait here until a checkpoint covers them (see ``_commit``)."""
        self._run_for(trial)
        step = int(result.get("safemeta", {}).get(ENV_STEPS, result.get("training_iteration", 0)))
        timestamp = int(result.get("timestamp", 0) * 1000)
        metrics = [Metric(k, v, timestamp, step) for k, v in numeric_metrics(result).items()]
        metrics.append(Metric("training_iteration", result["training_iteration"], timestamp, step))
        metrics += meta_test_metrics(result.get(META_TEST), timestamp)
        self._pending.setdefault(trial.trial_id, []).append(
            (int(result["training_iteration"]), metrics)
        )

    def _commit(self, trial: Any, up_to_iteration: float = float("inf")) -> None:
        """Log the pending rows of iterations ≤ ``up_to_iteration`` to the trial's run.

        Exactly once: a row reaches MLflow only when a checkpoint (or the trial's end) covers its
        iteration. Rows past the last checkpoint are dropped when the trial restarts from that
        checkpoint (retry, or ``--resume`` after the driver died) and are logged when re-run.
        """
        run_id = self._run_for(trial)
        pending = self._pending.get(trial.trial_id, [])
        ready = [m for it, ms in pending if it <= up_to_iteration for m in ms]
        self._pending[trial.trial_id] = [(it, ms) for it, ms in pending if it > up_to_iteration]
        for start in range(0, len(ready), 1000):
            self.client.log_batch(run_id, metrics=ready[start : start + 1000])

    def on_checkpoint(
        self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any
    ) -> None:
        self._commit(trial, checkpoint_iteration(checkpoint))
        self._checkpoints[trial.trial_id] = checkpoint.path
        if self.log_checkpoints == "all":
            name = Path(checkpoint.path).name
            self.client.log_artifacts(self._run_for(trial), checkpoint.path, f"checkpoints/{name}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._commit(trial)
        run_id = self._run_for(trial)
        self._clear_earlier_error(run_id)
        path = self._checkpoints.get(trial.trial_id)
        if path is None and trial.checkpoint is not None:
            path = trial.checkpoint.path
        if self.log_checkpoints in ("final", "all") and path is not None:
            self.client.log_artifacts(run_id, path, "checkpoint")
            self.client.set_tag(run_id, "checkpoint_path", path)
        self.client.set_terminated(run_id, status="FINISHED")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._pending.pop(trial.trial_id, None)  # past the checkpoint it restarts from
        run_id = self._run_for(trial)
        self.client.log_batch(run_id, tags=[RunTag("retries", str(trial.num_failures))])

    def _clear_earlier_error(self, run_id: str) -> None:
        """A run that finished after a failed attempt (retry, ``--resume``) keeps its earlier
        error only as ``earlier_error``."""
        tags = self.client.get_run(run_id).data.tags
        if "error" in tags:
            self.client.set_tag(run_id, "earlier_error", tags["error"])
            self.client.delete_tag(run_id, "error")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # Rows past the last checkpoint stay unlogged: `--resume` re-runs them from there.
        self._pending.pop(trial.trial_id, None)
        run_id = self._run_for(trial)
        self.failed_trials += 1
        error_file = Path(trial.local_path or "") / "error.txt"
        text = error_file.read_text() if error_file.is_file() else "no traceback was saved by Tune"
        text = ANSI_ESCAPE.sub("", text)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "traceback.txt"
            path.write_text(text)
            self.client.log_artifact(run_id, str(path))
        self.client.set_tag(run_id, "error", text.strip().splitlines()[-1][:500] if text else "")
        self.client.set_terminated(run_id, status="FAILED")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        errored = sum(1 for trial in trials if trial.status == "ERROR")
        finished = sum(1 for trial in trials if trial.status == "TERMINATED")
        self.client.log_batch(
            self.parent_run_id,
            tags=[RunTag("trials_finished", str(finished)), RunTag("trials_failed", str(errored))],
        )
        unfinished = finished + errored < len(trials)
        status = "KILLED" if unfinished else "FAILED" if errored == len(trials) else "FINISHED"
        self.client.set_terminated(self.parent_run_id, status=status)

    def trial_statuses(self) -> list[str]:
        """MLflow status of each trial run of this sweep's parent."""
        runs = self.client.search_runs(
            [self._experiment_id],
            filter_string=f"tags.`{TAG_PARENT}` = '{self.parent_run_id}'",
        )
        return [r.info.status for r in runs]

    def close_interrupted(self) -> None:
        """After an interrupt (Ctrl-C): trial runs still RUNNING, and the parent, become KILLED.

        An interrupted ``Tuner.fit`` returns without completing its running trials, so their runs
        would stay RUNNING (``--resume`` sets them RUNNING again and finishes them); the parent's
        status from ``on_experiment_end`` cannot tell. After a normal end this changes nothing.
        """
        interrupted = [
            run_id
            for run_id in self._runs.values()
            if self.client.get_run(run_id).info.status == "RUNNING"
        ]
        for run_id in interrupted:
            self.client.set_terminated(run_id, status="KILLED")
        if interrupted:
            self.client.set_terminated(self.parent_run_id, status="KILLED")
