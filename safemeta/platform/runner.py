"""Run a sweep: one ``tune.Tuner`` over algorithms × environments × seeds, tracked in MLflow."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from mlflow.tracking import MlflowClient
from ray import tune

from safemeta.platform.experiment import expand_trials
from safemeta.platform.files import write_json_atomic
from safemeta.platform.jobs import job_output_problems
from safemeta.platform.progress import SweepProgress
from safemeta.platform.schema import Experiment
from safemeta.platform.tracking import (
    MlflowSweepTracker,
    reconcile_orphans,
    resolve_tracking_uri,
)
from safemeta.platform.trial import SafemetaTrial, TrialSpec


@dataclass(frozen=True)
class SweepOutcome:
    """What a finished (or interrupted) sweep left behind."""

    sweep_dir: Path
    tracking_uri: str
    parent_run_id: str
    finished: int
    failed: int
    total: int


def sweep_dir(experiment: Experiment) -> Path:
    """Tune's folder for this sweep."""
    return Path(experiment.storage_path).resolve() / experiment.name


def _trial_name(trial: Any) -> str:
    return TrialSpec.model_validate(trial.config["trial"]).trial_name


class _DropApiStackNotice(logging.Filter):
    """RLlib warns "You are running X on the new API stack!" each time a config is built."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "on the new API stack" not in record.getMessage()


def quiet_rllib_notices() -> None:
    """Drop RLlib's per-config API-stack notice (the new stack is what safemeta uses)."""
    for name in ("ray.rllib.algorithms.algorithm_config", "ray.rllib.algorithms.sac.sac"):
        logging.getLogger(name).addFilter(_DropApiStackNotice())


TRIALS_FILE = "safemeta_trials.json"
"""The sweep's segments: the trial specs it started with, and those each ``--resume`` added."""


@dataclass(frozen=True)
class Segment:
    """One Tune experiment of a sweep: the first at the sweep's folder, each later one (trials a
    ``--resume`` added) in a sub-folder ``added-K`` of it."""

    name: str
    trials: list[TrialSpec]

    def path(self, directory: Path) -> Path:
        return directory if self.name == directory.name else directory / self.name


def load_segments(directory: Path) -> list[Segment]:
    data = json.loads((directory / TRIALS_FILE).read_text())
    return [
        Segment(seg["name"], [TrialSpec.model_validate(t) for t in seg["trials"]])
        for seg in data["segments"]
    ]


def save_segments(directory: Path, segments: list[Segment]) -> None:
    data = {
        "segments": [
            {"name": seg.name, "trials": [t.model_dump() for t in seg.trials]} for seg in segments
        ]
    }
    write_json_atomic(directory / TRIALS_FILE, data)


def resume_problems(started: list[TrialSpec], trials: list[TrialSpec]) -> list[str]:
    """Changes of the file's trials against those the sweep runs, one line per trial: removed
    trials and changed settings (a restored Tune trial keeps the config it started with, so an
    edit would be silently ignored). New trials are not problems: they run as a new segment."""
    before = {t.trial_name: t.model_dump() for t in started}
    now = {t.trial_name: t.model_dump() for t in trials}
    problems = [
        f"resume: {name} is in the sweep but no longer in the file; restore it"
        for name in sorted(set(before) - set(now))
    ]
    for name in sorted(set(now) & set(before)):
        old, new = before[name], now[name]
        for field in sorted(set(old) | set(new)):
            if old.get(field) == new.get(field):
                continue
            if isinstance(old.get(field), dict) and isinstance(new.get(field), dict):
                keys = sorted(
                    k
                    for k in set(old[field]) | set(new[field])
                    if old[field].get(k) != new[field].get(k)
                )
                changes = ", ".join(
                    f"{field}.{k} {old[field].get(k)!r} -> {new[field].get(k)!r}" for k in keys
                )
            else:
                changes = f"{field} {old.get(field)!r} -> {new.get(field)!r}"
            problems.append(
                f"resume: {name}: {changes} differs from the sweep's start; revert it, or "
                "--restart to apply it"
            )
    return problems


def trial_cpu_demand(trials: list[TrialSpec]) -> tuple[float, TrialSpec]:
    """The largest CPU request of one trial (main process + env runners), and that trial. Seeds
    do not change the request: one config per (algorithm, env) is built."""
    from safemeta.platform.trial import build_algorithm_config

    demands = []
    for trial in {(t.label, t.env): t for t in trials}.values():
        config = build_algorithm_config(trial)
        request = config.algo_class.default_resource_request(config)
        demands.append((float(request.required_resources.get("CPU", 0.0)), trial))
    return max(demands, key=lambda d: d[0])


def check_capacity(trials: list[TrialSpec], cpus: float, where: str) -> None:
    """ValueError (one line) if a trial asks for more CPUs than ``where`` has: Tune would wait
    for them forever."""
    demand, trial = trial_cpu_demand(trials)
    if demand > cpus:
        raise ValueError(
            f"resources: trial {trial.trial_name} needs {demand:g} CPUs (cpus_per_trial="
            f"{trial.cpus_per_trial:g}, env_runners={trial.env_runners} × "
            f"{trial.cpus_per_env_runner:g}) but {where} has {cpus:g}; lower "
            "resources.cpus_per_trial / env_runners / cpus_per_env_runner or pass --address of a "
            "larger cluster"
        )


def local_cpus() -> float:
    """CPUs the embedded local Ray would start with."""
    from ray._private.utils import get_num_cpus

    return float(get_num_cpus())


def ensure_ray(address: str | None = None) -> None:
    """Connect to ``address`` (or ``RAY_ADDRESS``), or start the embedded local Ray."""
    if ray.is_initialized():
        return
    # Trials import safemeta (and the file's `imports`) from the driver's working directory.
    cwd = os.getcwd()
    pythonpath = os.pathsep.join(p for p in (cwd, os.environ.get("PYTHONPATH", "")) if p)
    runtime_env = (
        None
        if address or os.environ.get("RAY_ADDRESS")
        else {"env_vars": {"PYTHONPATH": pythonpath}}
    )
    ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)


def _new_tuner(
    experiment: Experiment, trials: list[TrialSpec], path: Path, callbacks: list
) -> tune.Tuner:
    return tune.Tuner(
        SafemetaTrial,
        param_space={"trial": tune.grid_search([t.model_dump() for t in trials])},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=experiment.resources.max_concurrent_trials,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=path.name,
            storage_path=str(path.parent),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=experiment.checkpoints.every_iterations,
                num_to_keep=experiment.checkpoints.keep,
                checkpoint_at_end=True,
            ),
            failure_config=tune.FailureConfig(max_failures=experiment.fault_tolerance.retries),
            callbacks=callbacks,
            verbose=0,
        ),
    )


def run_experiment(
    experiment: Experiment,
    *,
    experiment_file_text: str,
    resume: bool = False,
    restart: bool = False,
    tracking_uri: str | None = None,
    address: str | None = None,
    progress_interval_s: float = 30.0,
) -> SweepOutcome:
    """Run (or resume) the sweep of ``experiment``; returns counts and where results are.

    ``resume`` continues every segment of the sweep and runs trials the file adds as a new
    segment; changed or removed trials are refused (``resume_problems``).

    ``restart`` deletes the Tune folder of an earlier sweep of the same name first (its MLflow runs
    stay; the new sweep gets a new parent run).
    """
    if resume and restart:
        raise ValueError("--resume and --restart exclude each other")
    problems = job_output_problems(
        tracking_uri or experiment.tracking.mlflow_uri, experiment.storage_path
    )
    if problems:
        raise ValueError("; ".join(problems))
    directory = sweep_dir(experiment)
    trials = expand_trials(experiment)
    local = not (address or os.environ.get("RAY_ADDRESS") or ray.is_initialized())
    if local:  # before Ray starts, and before anything is written or deleted
        check_capacity(trials, local_cpus(), "this machine")
    if restart and directory.exists():
        shutil.rmtree(directory)
    if resume and not tune.Tuner.can_restore(str(directory)):
        raise FileNotFoundError(
            f"nothing to resume at {directory}; run without --resume to start the sweep"
        )
    segments = [Segment(directory.name, trials)]
    if resume and (directory / TRIALS_FILE).is_file():
        segments = load_segments(directory)
        started = [t for seg in segments for t in seg.trials]
        problems = resume_problems(started, trials)
        if problems:
            raise ValueError("; ".join(problems))
        known = {t.trial_name for t in started}
        added = [t for t in trials if t.trial_name not in known]
        if added:
            segments.append(Segment(f"added-{len(segments)}", added))
    if not resume and directory.exists() and tune.Tuner.can_restore(str(directory)):
        raise FileExistsError(
            f"{directory} already holds sweep {experiment.name!r}; use --resume to continue it "
            "or --restart to start it afresh"
        )
    uri = resolve_tracking_uri(tracking_uri or experiment.tracking.mlflow_uri)
    reconcile_orphans(MlflowClient(tracking_uri=uri), experiment.name)
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    quiet_rllib_notices()
    ensure_ray(address)
    if not local:
        check_capacity(trials, float(ray.cluster_resources().get("CPU", 0.0)), "the cluster")
    tracker = MlflowSweepTracker(
        tracking_uri=uri,
        experiment_name=experiment.experiment_name,
        sweep=experiment.name,
        sweep_dir=directory,
        experiment_file_text=experiment_file_text,
        log_checkpoints=experiment.tracking.log_checkpoints,
    )
    total = sum(len(seg.trials) for seg in segments)
    progress = SweepProgress(
        experiment.name, experiment.budget.env_steps, total, progress_interval_s
    )
    save_segments(directory, segments)
    callbacks = [tracker, progress]
    for segment in segments:
        path = segment.path(directory)
        if tune.Tuner.can_restore(str(path)):
            tuner = tune.Tuner.restore(
                str(path), trainable=SafemetaTrial, resume_unfinished=True, resume_errored=True
            )
            tuner._local_tuner.get_run_config().callbacks = callbacks  # fresh: URI, terminal
        else:
            tuner = _new_tuner(experiment, segment.trials, path, callbacks)
        tuner.fit()
        tracker.close_interrupted()
        if any(s in ("RUNNING", "KILLED") for s in tracker.trial_statuses()):
            break  # interrupted: the next --resume continues from this segment
    statuses = tracker.trial_statuses()  # what MLflow (and `safemeta compare`) shows
    return SweepOutcome(
        sweep_dir=directory,
        tracking_uri=uri,
        parent_run_id=tracker.parent_run_id,
        finished=statuses.count("FINISHED"),
        failed=statuses.count("FAILED"),
        total=total,
    )
