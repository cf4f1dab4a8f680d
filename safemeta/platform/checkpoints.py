"""Find a trial's checkpoint (a path or an MLflow run id) and act with its policy outside RLlib.

``CheckpointPolicy`` runs the checkpoint's own env-to-module and module-to-env connector pipelines
around its RLModule, so observation filters and action rescaling/clipping are the ones the policy
was trained with; ``explore=False`` gives the deterministic action.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from safemeta.platform.tracking import resolve_tracking_uri

MODULE_PATH = ("learner_group", "learner", "rl_module", "default_policy")


def resolve_checkpoint(ref: str, tracking_uri: str | None = None) -> tuple[Path, dict[str, str]]:
    """``(checkpoint dir, MLflow tags)`` for a checkpoint path or the MLflow run id of a trial.

    For a run id, the run's ``checkpoint_path`` tag is used if that folder exists here, else its
    ``checkpoint`` artifact is downloaded to a temporary folder.
    """
    path = Path(ref)
    if path.is_dir():
        if not (path / "rllib_checkpoint.json").is_file():
            raise FileNotFoundError(f"{path} is not an RLlib checkpoint (no rllib_checkpoint.json)")
        return path, {}
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(resolve_tracking_uri(tracking_uri or "sqlite:///mlruns/mlflow.db"))
    try:
        run = client.get_run(ref)
    except MlflowException:
        raise FileNotFoundError(
            f"{ref!r} is neither a checkpoint folder nor an MLflow run id in {client.tracking_uri}"
        ) from None
    tags = dict(run.data.tags)
    local = Path(tags.get("checkpoint_path", ""))
    if tags.get("checkpoint_path") and (local / "rllib_checkpoint.json").is_file():
        return local, tags
    target = Path(tempfile.mkdtemp(prefix="safemeta_ckpt_"))
    try:
        downloaded = Path(client.download_artifacts(ref, "checkpoint", str(target)))
    except (MlflowException, OSError):
        raise FileNotFoundError(f"run {ref} has no checkpoint artifact") from None
    return downloaded, tags


def run_env_spec(
    run_id: str, tags: dict[str, str], tracking_uri: str | None = None
) -> tuple[str | None, dict[str, Any]]:
    """``(env name, env kwargs)`` a tracked trial ran with (``(None, {})`` without tags)."""
    if "env" not in tags:
        return None, {}
    from mlflow.tracking import MlflowClient

    client = MlflowClient(resolve_tracking_uri(tracking_uri or "sqlite:///mlruns/mlflow.db"))
    prefix = "trial/env_kwargs/"
    params = client.get_run(run_id).data.params
    kwargs = {k[len(prefix) :]: _param_value(v) for k, v in params.items() if k.startswith(prefix)}
    return tags["env"], kwargs


def _param_value(text: str) -> Any:
    """A logged trial param back as a value (the tracker logs strings unquoted, others as JSON)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class CheckpointPolicy:
    """Observation -> action of a checkpoint's (feed-forward) policy: ``policy(obs)``."""

    def __init__(self, checkpoint: Path, *, explore: bool = False) -> None:
        from ray.rllib.connectors.env_to_module import EnvToModulePipeline
        from ray.rllib.connectors.module_to_env import ModuleToEnvPipeline
        from ray.rllib.core.rl_module.rl_module import RLModule

        self.module = RLModule.from_checkpoint(checkpoint.joinpath(*MODULE_PATH))
        self.env_to_module = EnvToModulePipeline.from_checkpoint(
            checkpoint / "env_runner" / "env_to_module_connector"
        )
        self.module_to_env = ModuleToEnvPipeline.from_checkpoint(
            checkpoint / "env_runner" / "module_to_env_connector"
        )
        self.explore = explore

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        """The action for ``observation`` (a one-step episode through both pipelines)."""
        from ray.rllib.core.columns import Columns
        from ray.rllib.env.single_agent_episode import SingleAgentEpisode

        episodes = [
            SingleAgentEpisode(
                observations=[observation],
                observation_space=self.module.observation_space,
                action_space=self.module.action_space,
            )
        ]
        common = {
            "episodes": episodes,
            "rl_module": self.module,
            "explore": self.explore,
            "shared_data": {},
        }
        batch = self.env_to_module(**common)
        to_env = self.module_to_env(batch=self.module.forward_inference(batch), **common)
        return np.asarray(to_env[Columns.ACTIONS_FOR_ENV][0])
