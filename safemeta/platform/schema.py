"""Experiment files: the pydantic v2 models that validate them.

An experiment file is YAML. It states only what differs from the defaults below::

    name: demo
    algorithms:
      - name: meta_sac_lag            # a registered algorithm
        preset: table1                # optional named preset of that algorithm
        hyperparameters: {actor_lr: 3e-4}
    environments:
      - name: SafetyPointCircle1-v0   # a registered environment
        kwargs: {terminate_on_violation: true}
    seeds: [0, 1]                     # or {count: 5, start: 0}
    budget: {env_steps: 20000}
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FineTuneAlgorithm = Literal["trpo_lag", "cpo", "trpo", "meta_cpo", "meta_trpo"]
"""Algorithms whose local update can fine-tune at meta-test (meta_cpo / meta_trpo: their
Euclidean CPO / TRPO step)."""


class AlgorithmSpec(_Strict):
    """One algorithm of the comparison."""

    name: str = Field(description="Registered algorithm name (see `safemeta list`).")
    label: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="Display name in tables and MLflow; defaults to the name. Unique per file.",
    )
    preset: str | None = Field(default=None, description="Named preset of this algorithm.")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the config's training() method."
    )
    env_steps: int | None = Field(
        default=None,
        ge=0,
        description="This algorithm's budget (default: budget.env_steps); 0 = no training, e.g. "
        "a random initialisation for the meta-test.",
    )
    meta_test_inner: FineTuneAlgorithm | None = Field(
        default=None,
        description="Fine-tune this initialisation with another algorithm than meta.test.inner "
        "(e.g. a random init trained per test task by TRPO).",
    )

    @property
    def display_name(self) -> str:
        return self.label or self.name


class EnvironmentSpec(_Strict):
    """One environment of the comparison."""

    name: str = Field(description="Registered environment name (see `safemeta list`).")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Passed to the env creator.")


class SeedRange(_Strict):
    """``count`` consecutive seeds starting at ``start``."""

    count: int = Field(ge=1, le=1000)
    start: int = Field(default=0, ge=0)


class Budget(_Strict):
    """When a trial stops."""

    env_steps: int = Field(gt=0, description="Environment steps sampled for training, per trial.")


class Evaluation(_Strict):
    """Periodic evaluation episodes (0 iterations = off)."""

    episodes: int = Field(default=5, ge=1)
    every_iterations: int = Field(default=0, ge=0)
    deterministic: bool = True


class Resources(_Strict):
    """What each trial uses and how many run at once."""

    env_runners: int = Field(default=0, ge=0, description="Remote env runners; 0 = in the trial.")
    envs_per_env_runner: int = Field(default=1, ge=1)
    cpus_per_env_runner: float = Field(
        default=1, gt=0, description="CPUs each remote env runner reserves (e.g. 0.5 on 2 cores)."
    )
    cpus_per_trial: float = Field(default=1, gt=0, description="CPUs of the trial's main process.")
    max_concurrent_trials: int = Field(default=2, ge=1)


class Tracking(_Strict):
    """Where runs are recorded."""

    mlflow_uri: str = Field(
        default="sqlite:///mlruns/mlflow.db",
        description="MLflow tracking URI; relative sqlite paths are resolved against the cwd.",
    )
    experiment: str | None = Field(default=None, description="MLflow experiment; default: name.")
    log_checkpoints: Literal["final", "all", "none"] = "final"


class Metrics(_Strict):
    """How safety metrics are computed."""

    violation_window: int = Field(
        default=100, ge=1, description="Episodes in the windowed violation rate."
    )


class Checkpoints(_Strict):
    """Periodic and final checkpoints."""

    every_iterations: int = Field(default=10, ge=0, description="0 = only the final one.")
    keep: int = Field(default=2, ge=1)


class FaultTolerance(_Strict):
    """What happens when a trial raises."""

    retries: int = Field(default=0, ge=0, description="Restarts from the last checkpoint.")


class TaskSource(_Strict):
    """A registered task distribution and one of its splits."""

    distribution: str = Field(description="Registered task distribution (e.g. c_maml_env2).")
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Its factory's arguments (e.g. hide_goal_lidar: true)."
    )
    split: Literal["train", "test"] = "train"


class MetaTest(_Strict):
    """Fine-tune each trial's final policy on unseen tasks and log the adaptation curve."""

    tasks: int = Field(default=10, ge=1, description="Test tasks (the same for every trial).")
    adaptation_steps: int = Field(default=5, ge=0, description="Fine-tuning steps K.")
    rollout_steps: int | None = Field(
        default=2000,
        ge=2,
        description="Env steps per rollout (null: rollout_episodes); only finished episodes "
        "count, so use at least one episode's length.",
    )
    rollout_episodes: int | None = Field(default=None, ge=1)
    inner: FineTuneAlgorithm = Field(
        default="trpo_lag", description="The fine-tuning algorithm (registered name)."
    )
    inner_hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the fine-tuning config."
    )
    cost_limit: float | None = Field(
        default=None, ge=0, description="Test-time cost limit d (null: the tasks' own)."
    )
    source: TaskSource | None = Field(
        default=None, description="Test tasks; default: the meta-train distribution's test split."
    )
    seed: int = Field(default=10_000, ge=0, description="Seed of the test-task draw.")

    @model_validator(mode="after")
    def _one_rollout_size(self) -> MetaTest:
        if (self.rollout_steps is None) == (self.rollout_episodes is None):
            raise ValueError("give exactly one of rollout_steps and rollout_episodes")
        return self


class Meta(_Strict):
    """Meta-RL: the task distribution trials train on, and the meta-test protocol."""

    train: TaskSource = Field(description="Meta-training tasks (and the env of every trial).")
    test: MetaTest | None = None


class Experiment(_Strict):
    """A whole experiment file."""

    name: str = Field(pattern=NAME_PATTERN, description="Sweep name (MLflow parent run, dirs).")
    description: str = ""
    imports: list[str] = Field(
        default_factory=list,
        description="Modules imported first (in the driver and every trial) to register your own "
        "environments or algorithms.",
    )
    algorithms: list[AlgorithmSpec] = Field(min_length=1)
    environments: list[EnvironmentSpec] = Field(
        default_factory=list, description="Required unless `meta` names a task distribution."
    )
    meta: Meta | None = Field(default=None, description="Meta-RL train tasks and meta-test.")
    seeds: list[int] | SeedRange = Field(description="A list of seeds or {count, start}.")
    budget: Budget
    evaluation: Evaluation = Evaluation()
    resources: Resources = Resources()
    tracking: Tracking = Tracking()
    metrics: Metrics = Metrics()
    checkpoints: Checkpoints = Checkpoints()
    fault_tolerance: FaultTolerance = FaultTolerance()
    storage_path: str = Field(default="results", description="Tune's result folder (per sweep).")

    @field_validator("seeds")
    @classmethod
    def _seeds_unique(cls, seeds: list[int] | SeedRange) -> list[int] | SeedRange:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("at least one seed is needed")
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds must be unique, got {seeds}")
            if min(seeds) < 0:
                raise ValueError(f"seeds must be >= 0, got {seeds}")
        return seeds

    @field_validator("imports")
    @classmethod
    def _imports_importable(cls, modules: list[str]) -> list[str]:
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError as error:
                raise ValueError(
                    f"cannot import {module!r} ({error}); put it on PYTHONPATH or remove it"
                ) from error
        return modules

    @model_validator(mode="after")
    def _labels_unique(self) -> Experiment:
        labels = [a.display_name for a in self.algorithms]
        duplicates = sorted({x for x in labels if labels.count(x) > 1})
        if duplicates:
            raise ValueError(
                f"algorithms: {', '.join(duplicates)} appear more than once; give each a "
                "distinct `label` to compare variants of one algorithm"
            )
        envs = [e.name for e in self.environments]
        if len(set(envs)) != len(envs):
            raise ValueError("environments: each environment may appear only once")
        if self.meta is None and not envs:
            raise ValueError("environments: list at least one (or name tasks under meta.train)")
        if self.meta is not None and envs:
            raise ValueError(
                "environments: leave it out with meta: every trial runs meta.train's environment"
            )
        return self

    @property
    def seed_list(self) -> list[int]:
        if isinstance(self.seeds, SeedRange):
            return list(range(self.seeds.start, self.seeds.start + self.seeds.count))
        return list(self.seeds)

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or self.name


def format_location(loc: tuple[str | int, ...]) -> str:
    """``("algorithms", 1, "name")`` -> ``"algorithms[1].name"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(file)"
