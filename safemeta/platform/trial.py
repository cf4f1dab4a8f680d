"""One trial of a sweep: its spec, its RLlib config, and the Tune trainable that runs it.

``SafemetaTrial`` is a thin Tune ``Trainable`` around the registered RLlib ``Algorithm``: it lets
one ``tune.Tuner`` run trials of different algorithm classes side by side (and resume them
together), while checkpoints stay plain RLlib checkpoints that ``Algorithm.from_checkpoint`` loads.
"""

from __future__ import annotations

import importlib
import json
import random
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from ray import tune

from safemeta.algorithms.registry import get_algorithm_entry
from safemeta.environments.registry import make
from safemeta.platform.cost_metrics import (
    EPISODES_KEY,
    EpisodeWindow,
    record_episode,
    summarize,
)
from safemeta.platform.files import write_json_atomic

# Canonical per-iteration metrics, reported under result["safemeta"] by every trial.
ENV_STEPS = "env_steps"
WALL_TIME = "wall_time"
"""Seconds of training of this trial's checkpoint lineage, cumulative across restores."""
EPISODES_TOTAL = "episodes_total"
EVAL_PREFIX = "eval_"
WINDOW_FILE = "safemeta_episode_window.json"


class TrialSpec(BaseModel):
    """Everything one trial needs; plain data, so it travels in Tune's param space."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sweep: str
    trial_name: str
    algorithm: str
    label: str
    env: str
    env_kwargs: dict[str, Any]
    seed: int
    hyperparameters: dict[str, Any]
    env_steps: int
    imports: list[str] = []
    env_runners: int = 0
    envs_per_env_runner: int = 1
    cpus_per_trial: float = 1
    evaluation_episodes: int = 5
    evaluation_every_iterations: int = 0
    evaluation_deterministic: bool = True
    violation_window: int = 100


def import_plugins(modules: list[str]) -> None:
    """Import the experiment's ``imports`` (modules that register envs or algorithms)."""
    for module in modules:
        importlib.import_module(module)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch in this process."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _create_env(env_config: dict[str, Any], *, name: str, imports: list[str]) -> Any:
    import_plugins(imports)
    return make(name, **dict(env_config))


def build_algorithm_config(spec: TrialSpec) -> Any:
    """The RLlib ``AlgorithmConfig`` of a trial (the env is registered with Tune under its name)."""
    import_plugins(spec.imports)
    tune.register_env(spec.env, partial(_create_env, name=spec.env, imports=spec.imports))
    config = get_algorithm_entry(spec.algorithm).build_config(spec.hyperparameters)
    config.environment(env=spec.env, env_config=dict(spec.env_kwargs))
    config.env_runners(
        num_env_runners=spec.env_runners, num_envs_per_env_runner=spec.envs_per_env_runner
    )
    config.resources(num_cpus_for_main_process=spec.cpus_per_trial)
    config.debugging(seed=spec.seed)
    existing = config.callbacks_on_episode_end
    existing = (
        [] if existing is None else list(existing) if isinstance(existing, list) else [existing]
    )
    config.callbacks(on_episode_end=[*existing, record_episode])
    if spec.evaluation_every_iterations:
        config.evaluation(
            evaluation_interval=spec.evaluation_every_iterations,
            evaluation_duration=spec.evaluation_episodes,
            evaluation_duration_unit="episodes",
            evaluation_config={"explore": not spec.evaluation_deterministic},
        )
    return config


def pop_episode_records(result: dict[str, Any], *path: str) -> list[Any]:
    """Remove and return the episode records logged under ``result[path...][EPISODES_KEY]``."""
    node = result
    for key in path:
        node = node.get(key, {})
    records = node.pop(EPISODES_KEY, None) if isinstance(node, dict) else None
    if records is None or (isinstance(records, float) and np.isnan(records)):
        return []
    records = list(records)
    if records and not isinstance(records[0], tuple | list):
        records = [records]  # RLlib unwraps a series of one item
    return records


class SafemetaTrial(tune.Trainable):
    """Tune trainable that builds and trains the registered RLlib Algorithm of a ``TrialSpec``."""

    @classmethod
    def default_resource_request(cls, config: dict[str, Any]) -> Any:
        spec = TrialSpec.model_validate(config["trial"])
        algo_config = build_algorithm_config(spec)
        return algo_config.algo_class.default_resource_request(algo_config)

    def setup(self, config: dict[str, Any]) -> None:
        import torch

        self.spec = TrialSpec.model_validate(config["trial"])
        seed_everything(self.spec.seed)
        torch.set_num_threads(max(1, int(self.spec.cpus_per_trial)))
        self.algorithm = build_algorithm_config(self.spec).build_algo()
        self.window = EpisodeWindow(self.spec.violation_window)
        self.episodes_total = 0
        self.wall_time_before = 0.0  # of earlier lineage segments (restored from checkpoints)
        self.started = time.perf_counter()

    def step(self) -> dict[str, Any]:
        result = self.algorithm.train()
        records = pop_episode_records(result, "env_runners")
        self.window.extend(records)
        self.episodes_total += len(records)
        metrics = {
            ENV_STEPS: float(result.get("num_env_steps_sampled_lifetime", 0)),
            WALL_TIME: self.wall_time(),
            EPISODES_TOTAL: float(self.episodes_total),
            **self.window.summary(),
        }
        evaluation = pop_episode_records(result, "evaluation", "env_runners")
        every = self.spec.evaluation_every_iterations
        # RLlib repeats the last evaluation in later results: count it only when it ran.
        if every and result.get("training_iteration", 0) % every == 0:
            metrics.update({EVAL_PREFIX + k: v for k, v in summarize(evaluation).items()})
        result["safemeta"] = metrics
        result["done"] = metrics[ENV_STEPS] >= self.spec.env_steps
        return result

    def wall_time(self) -> float:
        """Training seconds of this checkpoint lineage (earlier segments + this process)."""
        return self.wall_time_before + time.perf_counter() - self.started

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        self.algorithm.save_to_path(checkpoint_dir)
        state = {
            "window": self.window.get_state(),
            "episodes_total": self.episodes_total,
            "training_iteration": self.iteration,
            "wall_time": self.wall_time(),
        }
        write_json_atomic(Path(checkpoint_dir) / WINDOW_FILE, state)

    def load_checkpoint(self, checkpoint: str) -> None:
        self.algorithm.restore_from_path(checkpoint)
        state = json.loads((Path(checkpoint) / WINDOW_FILE).read_text())
        self.window = EpisodeWindow.from_state(state["window"])
        self.episodes_total = state["episodes_total"]
        # wall_time continues from the checkpoint (cumulative over restores).
        self.wall_time_before, self.started = state.get("wall_time", 0.0), time.perf_counter()

    def cleanup(self) -> None:
        self.algorithm.stop()
