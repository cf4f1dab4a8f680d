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
from safemeta.environments.task_distributions import make_task_distribution
from safemeta.environments.tasks import TaskSampler
from safemeta.platform.cost_metrics import (
    EPISODES_KEY,
    META_TEST,
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
    cpus_per_env_runner: float = 1
    envs_per_env_runner: int = 1
    cpus_per_trial: float = 1
    evaluation_episodes: int = 5
    evaluation_every_iterations: int = 0
    evaluation_deterministic: bool = True
    violation_window: int = 100
    meta_train: dict[str, Any] | None = None
    """``schema.TaskSource`` of the meta-training tasks (None: not a meta-RL sweep)."""
    meta_test: dict[str, Any] | None = None
    """``schema.MetaTest``, run once the budget is reached."""


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


def _create_env(
    env_config: dict[str, Any],
    *,
    name: str,
    imports: list[str],
    task_source: dict[str, Any] | None = None,
    seed: int = 0,
) -> Any:
    import_plugins(imports)
    env = make(name, **dict(env_config))
    if task_source is None:
        return env
    # A plain algorithm on a meta-RL sweep: a new train task at every reset, a stream per
    # (trial seed, env runner, sub-env).
    stream = [seed, getattr(env_config, "worker_index", 0), getattr(env_config, "vector_index", 0)]
    distribution = make_task_distribution(task_source["distribution"], **task_source["kwargs"])
    return TaskSampler(env, distribution, task_source["split"], seed=stream)


def build_algorithm_config(spec: TrialSpec) -> Any:
    """The RLlib ``AlgorithmConfig`` of a trial (the env is registered with Tune under its name)."""
    import_plugins(spec.imports)
    config = get_algorithm_entry(spec.algorithm).build_config(spec.hyperparameters)
    sampled = None
    if spec.meta_train is not None:
        if is_meta_algorithm(config):
            config.training(
                task_distribution=spec.meta_train["distribution"],
                task_distribution_kwargs=dict(spec.meta_train["kwargs"]),
            )
        else:
            sampled = spec.meta_train
    creator = partial(
        _create_env, name=spec.env, imports=spec.imports, task_source=sampled, seed=spec.seed
    )
    env_id = spec.env if sampled is None else f"{spec.env}@{spec.meta_train['distribution']}"
    tune.register_env(env_id, creator)
    config.environment(env=env_id, env_config=dict(spec.env_kwargs))
    config.env_runners(
        num_env_runners=spec.env_runners,
        num_envs_per_env_runner=spec.envs_per_env_runner,
        num_cpus_per_env_runner=spec.cpus_per_env_runner if spec.env_runners else 1,
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


def is_meta_algorithm(config: Any) -> bool:
    """Whether ``config`` meta-trains on a task distribution itself (e.g. C-MAML)."""
    return hasattr(config, "task_distribution")


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
        if self.spec.env_steps == 0:  # no training (e.g. a random initialisation)
            result: dict[str, Any] = {}
        else:
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
        if result["done"] and self.spec.meta_test is not None:
            result[META_TEST] = run_meta_test(self.algorithm, self.spec).as_dict()
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


def run_meta_test(algorithm: Any, spec: TrialSpec) -> Any:
    """Fine-tune the trial's final policy on the meta-test tasks (``meta.protocol``)."""
    import torch
    from ray.rllib.core import DEFAULT_MODULE_ID

    from safemeta.algorithms.meta.protocol import FineTuneProgram, meta_test, with_cost_limit
    from safemeta.algorithms.meta_cpo.config import MetaCPOConfig
    from safemeta.algorithms.meta_cpo.local_update import LocalCPOUpdate
    from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate

    settings, train = dict(spec.meta_test or {}), dict(spec.meta_train or {})
    source = settings["source"] or {**train, "split": "test"}
    distribution = make_task_distribution(source["distribution"], **source["kwargs"])
    tasks = distribution.sample_tasks(
        settings["tasks"], split=source["split"], seed=settings["seed"]
    )
    tasks = [with_cost_limit(task, settings["cost_limit"]) for task in tasks]
    inner = get_algorithm_entry(settings["inner"]).build_config(settings["inner_hyperparameters"])
    if isinstance(inner, MetaCPOConfig):  # Meta-CPO's / Meta-TRPO's own local step
        update = LocalCPOUpdate.from_config(inner, seed=spec.seed)
    else:
        update = OnPolicyLocalUpdate.from_config(inner, settings["inner"], seed=spec.seed)
    module = algorithm.learner_group._learner.module[DEFAULT_MODULE_ID]
    weights = {k: torch.as_tensor(v).detach().clone() for k, v in module.get_state().items()}
    program = FineTuneProgram(
        update,
        settings["adaptation_steps"],
        num_timesteps=settings["rollout_steps"],
        num_episodes=settings["rollout_episodes"],
    )
    return meta_test(algorithm.env_runner_group, weights, tasks, program, seed=settings["seed"])
