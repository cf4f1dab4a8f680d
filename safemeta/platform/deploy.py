"""``safemeta deploy``: a checkpoint's policy on the arm actor for N episodes; Fig. 4 metrics.

The checkpoint is a folder or the MLflow run id of a trial (its ``checkpoint_path`` tag or
``checkpoint/`` artifact; the trial's env name and kwargs come along). The policy acts
deterministically (``CheckpointPolicy``, with the checkpoint's own connectors) on
``SafetyPourCoffee-v0`` with ``backend="actor"``: the named hardware actor is reused if it is
running, else started here with the chosen backend (``twin`` or ``kortex``) and stopped at the end.
Each episode's return, cost, success, end-effector acceleration and jerk (mean/max) and shield
stops are logged to an MLflow run tagged ``safemeta.kind=deploy``, with their means as summary
metrics. Arm credentials are never parameters: the kortex backend reads them on the arm node, and
backend options that could carry them are refused before anything runs. The options are logged
(``backend/*``) only when this command starts the actor; a running actor keeps its own backend, so
options given with one are an error rather than silently ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

DEFAULT_ENV = "SafetyPourCoffee-v0"
DEFAULT_EXPERIMENT = "safemeta-deploy"
EPISODE_METRICS = ("ee_acc_mean", "ee_acc_max", "ee_jerk_mean", "ee_jerk_max")
TWIN_ONLY_KWARGS = ("latency", "sensor_noise")  # in-process twin options, meaningless via the actor


@dataclass
class DeployResult:
    """Per-episode records, their summary, and the MLflow run that holds them."""

    run_id: str
    episodes: list[dict[str, float]] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)


def tracked_env_spec(client: Any, run_id: str, tags: dict[str, str]) -> tuple[str | None, dict]:
    """``(env name, env kwargs)`` of a tracked trial run.

    The tracker logs string values as they are and everything else as JSON (``trial_params``), so
    a value that is not valid JSON is the string itself.
    """
    if "env" not in tags:
        return None, {}
    prefix = "trial/env_kwargs/"
    kwargs = {}
    for key, value in client.get_run(run_id).data.params.items():
        if key.startswith(prefix):
            try:
                kwargs[key[len(prefix) :]] = json.loads(value)
            except ValueError:
                kwargs[key[len(prefix) :]] = value
    return tags["env"], kwargs


def summarize(episodes: list[dict[str, float]]) -> dict[str, float]:
    """Means over episodes; ``success_rate`` and ``violation_rate`` (share with any cost)."""
    if not episodes:
        return {}
    keys = episodes[0].keys()
    summary = {f"mean_{k}": sum(e[k] for e in episodes) / len(episodes) for k in keys}
    summary["success_rate"] = summary.pop("mean_success")
    summary["violation_rate"] = sum(e["episode_cost"] > 0 for e in episodes) / len(episodes)
    return summary


def run_episode(env: Any, policy: Any, seed: int) -> dict[str, float]:
    """One deterministic episode; the Fig. 4 metrics of its last step."""
    obs, _ = env.reset(seed=seed)
    episode_return = episode_cost = 0.0
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        episode_return += reward
        episode_cost += info["cost"]
        steps += 1
        if terminated or truncated:
            break
    return {
        "episode_return": episode_return,
        "episode_cost": episode_cost,
        "episode_length": float(steps),
        "success": float(info["is_success"]),
        "shield_stop": float(bool(info.get("shield_stop"))),
        **{k: float(info[k]) for k in EPISODE_METRICS},
    }


def deploy(
    checkpoint: str,
    *,
    episodes: int = 5,
    backend: str = "twin",
    backend_options: dict[str, Any] | None = None,
    env_overrides: dict[str, Any] | None = None,
    realtime: bool = True,
    control_hz: int | None = None,
    seed: int = 0,
    actor_name: str = "kinova_gen3",
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    address: str | None = None,
) -> DeployResult:
    """Run ``episodes`` episodes of ``checkpoint`` on the arm actor and log them to MLflow."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    import ray
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    from safemeta.environments.hardware.actor import (
        check_backend_options,
        start_arm_actor,
        stop_arm_actor,
    )
    from safemeta.environments.registry import make
    from safemeta.platform.checkpoints import CheckpointPolicy, resolve_checkpoint
    from safemeta.platform.runner import ensure_ray
    from safemeta.platform.tracking import TAG_KIND, git_commit, resolve_tracking_uri

    backend_options = check_backend_options(backend_options)
    uri = resolve_tracking_uri(
        tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlruns/mlflow.db"
    )
    client = MlflowClient(uri)
    path, tags = resolve_checkpoint(checkpoint, uri)
    env_name, env_kwargs = tracked_env_spec(client, checkpoint, tags) if tags else (None, {})
    env_name = env_name or DEFAULT_ENV
    if env_name != DEFAULT_ENV:
        raise ValueError(
            f"deploy runs {DEFAULT_ENV} on the arm; the checkpoint was trained on {env_name}"
        )
    env_kwargs = {k: v for k, v in env_kwargs.items() if k not in TWIN_ONLY_KWARGS}
    env_kwargs.update(env_overrides or {})
    if control_hz is not None:
        env_kwargs["control_hz"] = control_hz
    env_kwargs.update(backend="actor", actor_name=actor_name)
    policy = CheckpointPolicy(path)

    ensure_ray(address)
    try:
        ray.get_actor(actor_name)
    except ValueError:  # not running: start it with the chosen backend
        handle = start_arm_actor(
            backend,
            backend_options=backend_options,
            control_hz=int(env_kwargs.get("control_hz", 20)),
            realtime=realtime,
            name=actor_name,
        )
        started = True
    else:
        if backend_options:
            raise ValueError(
                f"arm actor {actor_name!r} is already running with its own backend; backend "
                f"options {sorted(backend_options)} would be ignored: stop it, or drop them"
            )
        handle, started = None, False
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run = client.create_run(
        experiment_id,
        run_name=f"deploy-{backend}-{Path(str(path)).name}",
        tags={
            TAG_KIND: "deploy",
            "checkpoint": checkpoint,
            "source_run_id": checkpoint if tags else "",
            "backend": backend if started else "running actor",
            "env": env_name,
            "git_commit": git_commit(),
        },
    )
    run_id = run.info.run_id
    params = {
        "episodes": episodes,
        "seed": seed,
        "realtime": realtime,
        "actor_name": actor_name,
        **{f"env/{k}": v for k, v in sorted(env_kwargs.items())},
        **{f"backend/{k}": v for k, v in sorted(backend_options.items()) if started},
    }
    client.log_batch(run_id, params=[Param(k, str(v)[:500]) for k, v in params.items()])
    result = DeployResult(run_id)
    env = None
    try:
        env = make(env_name, **env_kwargs)
        for episode in range(episodes):
            record = run_episode(env, policy, seed + episode)
            result.episodes.append(record)
            client.log_batch(run_id, metrics=[Metric(k, v, 0, episode) for k, v in record.items()])
        result.summary = summarize(result.episodes)
        client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in result.summary.items()])
        client.set_terminated(run_id, status="FINISHED")
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    finally:
        if env is not None:
            env.close()
        if started:
            stop_arm_actor(handle)
    return result


def deploy_command(
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint folder or MLflow run id.")],
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes to run.")] = 5,
    backend: Annotated[
        str,
        typer.Option("--backend", help="Arm backend if the actor must be started: twin|kortex."),
    ] = "twin",
    host: Annotated[str | None, typer.Option("--host", help="kortex: the arm's address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="kortex: the arm's port.")] = None,
    setting: Annotated[
        str | None, typer.Option("--setting", help="Override the Table III setting.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Override the episode length.")
    ] = None,
    lockstep: Annotated[
        bool, typer.Option("--lockstep", help="Twin only: step as fast as possible.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode.")] = 0,
    actor_name: Annotated[str, typer.Option("--actor", help="Arm actor name.")] = "kinova_gen3",
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment.")
    ] = DEFAULT_EXPERIMENT,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI.")
    ] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address.")] = None,
) -> None:
    """Run a checkpoint on the arm actor (twin or real Gen3) and log the Fig. 4 metrics."""
    from rich.console import Console

    console, errors = Console(), Console(stderr=True)
    if lockstep and backend != "twin":
        errors.print("[red]--lockstep is for the twin only; a real arm runs in real time[/]")
        raise typer.Exit(2)
    options = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    overrides = {k: v for k, v in (("setting", setting), ("max_episode_steps", max_steps)) if v}
    try:
        result = deploy(
            checkpoint,
            episodes=episodes,
            backend=backend,
            backend_options=options,
            env_overrides=overrides,
            realtime=not lockstep,
            seed=seed,
            actor_name=actor_name,
            tracking_uri=tracking_uri,
            experiment=experiment,
            address=address,
        )
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as error:
        errors.print(f"[red]{error}[/]", markup=False)
        raise typer.Exit(2) from None
    s = result.summary
    console.print(
        f"deploy {result.run_id}: {episodes} episodes, success {s['success_rate']:.0%}, "
        f"violations {s['violation_rate']:.0%}, return {s['mean_episode_return']:.3g}, "
        f"EE acc {s['mean_ee_acc_mean']:.3g} m/s² (max {s['mean_ee_acc_max']:.3g}), "
        f"jerk {s['mean_ee_jerk_mean']:.3g} m/s³ (max {s['mean_ee_jerk_max']:.3g})"
    )
