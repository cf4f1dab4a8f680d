"""`safemeta deploy`: a PPO checkpoint of SafetyPourCoffee-v0 on the arm actor, logged to MLflow.

With ``--backend kortex`` it runs on the ``arm_node`` cluster (``arm_node.py``): the actor is placed
by the ``kinova_gen3`` resource and drives the stand-in kortex arm with the node's credentials.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from safemeta.environments.hardware.actor import start_arm_actor, stop_arm_actor
from safemeta.platform.cli import app
from safemeta.platform.deploy import EPISODE_METRICS, deploy
from tests.hardware.arm_node import ARM_HOST, ARM_PASSWORD, ARM_PORT, ARM_USERNAME, run_driver
from tests.tiny_trials import tiny_ppo_checkpoint, tiny_ppo_spec

PASSWORD = "never-log-me-0815"


@pytest.fixture(scope="module")
def pour_checkpoint(local_ray, tmp_path_factory) -> Path:
    """RLlib's PPO after one tiny iteration on SafetyPourCoffee-v0 (short episodes)."""
    path = tmp_path_factory.mktemp("pour_checkpoint")
    spec = tiny_ppo_spec("SafetyPourCoffee-v0", 100, env_kwargs={"max_episode_steps": 20})
    return tiny_ppo_checkpoint(path, spec)


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory) -> str:
    """One sqlite store for the module (creating one costs seconds of schema migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def actor_name() -> str:
    return f"deploy-test-{uuid.uuid4().hex[:8]}"


def test_deploy_a_checkpoint_folder_logs_fig4_metrics(pour_checkpoint, tracking_uri, monkeypatch):
    monkeypatch.setenv("KINOVA_PASSWORD", PASSWORD)
    uri = tracking_uri
    result = deploy(
        str(pour_checkpoint),
        episodes=2,
        realtime=False,
        env_overrides={"max_episode_steps": 10},
        actor_name=actor_name(),
        tracking_uri=uri,
    )
    assert len(result.episodes) == 2
    for record in result.episodes:
        assert record["episode_length"] == 10 or record["shield_stop"] == 1.0
        assert all(record[k] > 0 for k in EPISODE_METRICS)
    client = MlflowClient(uri)
    run = client.get_run(result.run_id)
    assert run.data.tags["safemeta.kind"] == "deploy" and run.info.status == "FINISHED"
    for key in ("success_rate", "violation_rate", "mean_ee_acc_mean", "mean_ee_jerk_max"):
        assert key in run.data.metrics
    assert [m.step for m in client.get_metric_history(result.run_id, "ee_jerk_mean")] == [0, 1]
    assert run.data.params["env/backend"] == "actor"
    logged = " ".join([*run.data.params.values(), *run.data.tags.values()])
    assert PASSWORD not in logged
    # Deterministic policy, deterministic twin: the same seed gives the same episodes.
    again = deploy(
        str(pour_checkpoint),
        episodes=2,
        realtime=False,
        env_overrides={"max_episode_steps": 10},
        actor_name=actor_name(),
        tracking_uri=uri,
    )
    assert again.episodes == result.episodes


def test_deploy_from_an_mlflow_run_on_a_running_actor(pour_checkpoint, tracking_uri, local_ray):
    import ray

    uri = tracking_uri
    client = MlflowClient(uri)
    experiment = client.create_experiment("sweep")
    trial_run = client.create_run(
        experiment,
        tags={
            "safemeta.kind": "trial",
            "env": "SafetyPourCoffee-v0",
            "checkpoint_path": str(pour_checkpoint),
        },
    ).info.run_id
    client.log_param(
        trial_run, "trial/env_kwargs/setting", "sim2"
    )  # strings as the tracker logs them
    client.log_param(trial_run, "trial/env_kwargs/max_episode_steps", "6")
    name = actor_name()
    handle = start_arm_actor("twin", name=name, realtime=False)
    try:
        result = deploy(trial_run, episodes=1, actor_name=name, tracking_uri=uri)
        run = client.get_run(result.run_id)
        assert run.data.params["env/setting"] == "sim2"
        assert run.data.tags["source_run_id"] == trial_run
        assert run.data.tags["backend"] == "running actor"
        assert result.episodes[0]["episode_length"] <= 6
        assert ray.get(handle.status.remote())["ticks"] > 0  # the running actor did the work
    finally:
        stop_arm_actor(handle)


def test_deploy_command_line(pour_checkpoint, tracking_uri, tmp_path):
    uri = tracking_uri
    common = ["deploy", str(pour_checkpoint), "--tracking-uri", uri, "--actor", actor_name()]
    result = CliRunner().invoke(app, [*common, "-n", "1", "--lockstep", "--max-steps", "5"])
    assert result.exit_code == 0, result.output
    assert "1 episodes, success" in result.output and "jerk" in result.output
    refused = CliRunner().invoke(app, [*common, "--backend", "kortex", "--lockstep"])
    assert refused.exit_code == 2
    missing = CliRunner().invoke(app, ["deploy", str(tmp_path / "nope"), "--tracking-uri", uri])
    assert missing.exit_code == 2


def test_deploy_refuses_credentials_in_backend_options_even_with_a_running_actor(
    pour_checkpoint, tracking_uri, local_ray
):
    name = actor_name()
    handle = start_arm_actor("twin", name=name, realtime=False)
    client = MlflowClient(tracking_uri)
    before = len(client.search_runs([e.experiment_id for e in client.search_experiments()]))
    try:
        for options in ({"password": PASSWORD}, {"api_token": PASSWORD}, {"Username": "x"}):
            with pytest.raises(ValueError, match="must not carry"):
                deploy(str(pour_checkpoint), episodes=1, actor_name=name,
                       backend_options=options, tracking_uri=tracking_uri)  # fmt: skip
        # Options a running actor would ignore are refused too, not logged as backend/* params.
        with pytest.raises(ValueError, match="already running with its own backend"):
            deploy(str(pour_checkpoint), episodes=1, actor_name=name,
                   backend_options={"latency": 0.01}, tracking_uri=tracking_uri)  # fmt: skip
    finally:
        stop_arm_actor(handle)
    after = len(client.search_runs([e.experiment_id for e in client.search_experiments()]))
    assert after == before  # refused before any MLflow run was created


def test_deploy_on_the_kortex_backend_never_logs_the_credentials(
    pour_checkpoint, arm_node, tmp_path
):
    database = tmp_path / "mlflow.db"
    uri = f"sqlite:///{database}"
    done = run_driver(
        arm_node,
        str(Path(sys.executable).with_name("safemeta")),
        "deploy", str(pour_checkpoint), "--backend", "kortex", "--host", ARM_HOST,
        "--port", str(ARM_PORT), "--address", arm_node.address, "--tracking-uri", uri,
        "--actor", actor_name(), "-n", "2", "--max-steps", "8",
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "2 episodes, success" in done.stdout
    # The run really went through the kortex backend on the arm node...
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("safemeta-deploy")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["backend"] == "kortex" and run.info.status == "FINISHED"
    assert run.data.params["backend/host"] == ARM_HOST
    assert run.data.params["backend/port"] == str(ARM_PORT)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "ee_jerk_mean")] == [0, 1]
    # ... and its actor wrote to the node's worker logs (so the scan below covers it).
    logs = {p: p.read_bytes() for p in arm_node.logs_dir.rglob("*") if p.is_file()}
    assert any(b"ArmActor(backend='kortex'" in text for text in logs.values())
    # Neither the account nor the password is anywhere: MLflow store, command output, Ray logs.
    connection = sqlite3.connect(database)
    try:
        rows = [
            repr(row)
            for table in ("params", "tags", "runs", "experiments")
            for row in connection.execute(f"SELECT * FROM {table}")
        ]
    finally:
        connection.close()
    assert len(rows) > 10
    store = b"".join(p.read_bytes() for p in tmp_path.glob("mlflow.db*"))  # with any -wal file
    for secret in (ARM_PASSWORD, ARM_USERNAME):
        assert secret.encode() not in store
        assert not [row for row in rows if secret in row]
        assert secret not in output
        assert not [p.name for p, text in logs.items() if secret.encode() in text]
