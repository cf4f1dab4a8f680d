"""`ray job submit` context: where a job's outputs must not go.

A job's entrypoint runs in a copy of the uploaded working dir under the head's temporary session
folder, which is deleted with the head. A tracking store or results folder inside it is lost, so
the runner refuses such paths in a job, with the fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

JOB_CONFIG_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # set by Ray's job supervisor for the entrypoint


def job_working_dir() -> Path | None:
    """The job's working dir (the entrypoint's cwd) when running as a Ray job with an uploaded
    ``working_dir``; None otherwise."""
    raw = os.environ.get(JOB_CONFIG_ENV)
    if not raw:
        return None
    try:
        runtime_env = json.loads(raw).get("runtime_env") or {}
    except (ValueError, AttributeError):
        return None
    return Path.cwd().resolve() if runtime_env.get("working_dir") else None


def _local_path(uri_or_path: str) -> Path | None:
    for prefix in ("sqlite:///", "file://"):
        if uri_or_path.startswith(prefix):
            return Path(uri_or_path[len(prefix) :])
    return None if "://" in uri_or_path else Path(uri_or_path)


def job_output_problems(tracking_uri: str, storage_path: str) -> list[str]:
    """One line per output that would land in the job's temporary working dir."""
    workdir = job_working_dir()
    if workdir is None:
        return []
    problems = []
    for what, value, fix in (
        (
            "tracking URI",
            tracking_uri,
            "pass --tracking-uri http://MLFLOW-SERVER:5000 (or set MLFLOW_TRACKING_URI for "
            "cluster/submit.sh), or a sqlite path on shared storage",
        ),
        (
            "storage_path",
            storage_path,
            "pass --storage-path on shared storage (SAFEMETA_STORAGE_PATH for submit.sh)",
        ),
    ):
        path = _local_path(value)
        if path is None:
            continue
        resolved = (workdir / path).resolve() if not path.is_absolute() else path.resolve()
        if resolved == workdir or workdir in resolved.parents:
            problems.append(
                f"{what} {value} is inside the job's temporary working dir {workdir} (deleted "
                f"with the head); {fix}"
            )
    return problems
