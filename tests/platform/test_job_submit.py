"""`cluster/submit.sh` against a real Ray head on loopback, stopped by its own process ids."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.ray_heads import BIN, free_ports, head_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A Ray head (`ray start --head --block`) in its own temp dir; yields its dashboard URL."""
    gcs, dashboard, agent, agent_grpc, runtime_agent, metrics, client = free_ports(7)
    temp_dir = Path("/tmp") / f"sm_ray_{os.getpid()}_{gcs}"  # short: Ray's socket paths are capped
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    options = [
        f"--port={gcs}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_agent}",
        f"--metrics-export-port={metrics}",
        f"--ray-client-server-port={client}",
        "--num-cpus=2",
        "--include-dashboard=true",
    ]
    log = tmp_path / "head.log"
    url = f"http://127.0.0.1:{dashboard}"
    with head_process(options, env=env, temp_dir=temp_dir, log=log) as head:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/version", timeout=2)
                break
            except urllib.error.HTTPError:  # it answers (token auth may refuse this probe)
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-3000:]) from None
                time.sleep(1)
        yield url, env


def test_submit_runs_a_sweep_as_a_job_and_records_it_in_mlflow(ray_head, tmp_path):
    url, env = ray_head
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "tiny.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "job-tiny",
                "algorithms": [
                    {
                        "name": "ppo",
                        "hyperparameters": {
                            "train_batch_size_per_learner": 200,
                            "minibatch_size": 100,
                            "num_epochs": 1,
                        },
                    }
                ],
                "environments": [{"name": "SafetyPendulum-v0"}],
                "seeds": [0],
                "budget": {"env_steps": 400},
                "storage_path": str(tmp_path / "results"),
            }
        )
    )
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    submit = subprocess.run(
        [str(REPO / "cluster" / "submit.sh"), "tiny.yaml", url],
        cwd=job_dir,
        env={**env, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = submit.stdout + submit.stderr
    assert submit.returncode == 0, output[-4000:]
    job_id = re.search(r"Job '(raysubmit_\w+)' succeeded", output).group(1)
    query = "import sys; from ray.job_submission import JobSubmissionClient as C; "
    query += "print(C(sys.argv[1]).get_job_status(sys.argv[2]).value)"
    status = subprocess.run(
        [sys.executable, "-c", query, url, job_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.stdout.strip() == "SUCCEEDED", status.stderr[-2000:]
    assert "1/1 trials finished" in output
    client = MlflowClient(uri)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="tags.`safemeta.sweep` = 'job-tiny'",
    )
    assert sorted(r.data.tags["safemeta.kind"] for r in runs) == ["sweep", "trial"]
    trial = next(r for r in runs if r.data.tags["safemeta.kind"] == "trial")
    assert trial.info.status == "FINISHED"
    assert trial.data.metrics["env_steps"] == 400
    # Resubmitting the same file needs --restart (or --resume); submit.sh passes it on.
    again = subprocess.run(
        [str(REPO / "cluster" / "submit.sh"), "--restart", "tiny.yaml", url],
        cwd=job_dir,
        env={**env, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert "1/1 trials finished" in again.stdout + again.stderr
