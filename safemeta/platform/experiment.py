"""Load an experiment file, check it against the registries, and expand it into trials."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from safemeta.algorithms.registry import ANY_ENV, get_algorithm_entry, registered_algorithms
from safemeta.environments.registry import get_env_entry, registered_envs
from safemeta.environments.task_distributions import (
    make_task_distribution,
    task_distribution_names,
)
from safemeta.platform.schema import Experiment, format_location
from safemeta.platform.trial import TrialSpec, build_algorithm_config
from safemeta.platform.values import parameter_annotations, training_annotations, typed_problems

_UNION_TAGS = {"list[int]", "SeedRange"}


class ExperimentError(ValueError):
    """An experiment file with problems; ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(problems))


def load_experiment(path: str | Path) -> Experiment:
    """Read, validate and registry-check an experiment file; ``ExperimentError`` lists problems."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(str(path), [f"(file): {path} does not exist"])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ExperimentError(str(path), [f"(file): not valid YAML: {error}"]) from error
    return validate_experiment(raw, source=str(path))


def validate_experiment(raw: Any, source: str = "<experiment>") -> Experiment:
    """Validate parsed YAML; schema problems first, then registry problems."""
    if not isinstance(raw, Mapping):
        raise ExperimentError(
            source, ["(file): expected a mapping of fields (name, algorithms, …)"]
        )
    try:
        experiment = Experiment.model_validate(raw)
    except ValidationError as error:
        raise ExperimentError(source, schema_problems(error, raw)) from None
    problems = registry_problems(experiment)
    if problems:
        raise ExperimentError(source, problems)
    problems = config_problems(experiment)
    if problems:
        raise ExperimentError(source, problems)
    return experiment


def config_problems(experiment: Experiment) -> list[str]:
    """Build and validate each (algorithm, environment) config as its trials will (RLlib's and
    our ranges and combinations); no Ray cluster is started."""
    from safemeta.algorithms.onpolicy.config import OnPolicyConfig

    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for trial in expand_trials(experiment):
        if (trial.label, trial.env) in seen:
            continue
        seen.add((trial.label, trial.env))
        index = next(
            i for i, a in enumerate(experiment.algorithms) if a.display_name == trial.label
        )
        try:
            config = build_algorithm_config(trial)
            config.validate()
        except (ValueError, TypeError) as error:
            message = str(error).splitlines()[0]
            problems.append(f"algorithms[{index}] ({trial.label} on {trial.env}): {message}")
            continue
        if trial.meta_test is not None and not isinstance(config, OnPolicyConfig):
            problems.append(
                f"algorithms[{index}] ({trial.label}): meta.test fine-tunes with an on-policy "
                f"algorithm ({trial.meta_test['inner']}); {trial.algorithm}'s policy is not one"
            )
    return problems


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: Any = Experiment
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return model


def schema_problems(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """One line per pydantic error: field, problem, bad value, what is allowed."""
    seeds_is_mapping = isinstance(raw.get("seeds"), Mapping)
    lines: list[str] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        tags = [p for p in loc if p in _UNION_TAGS]
        if tags and (tags[0] == "SeedRange") != seeds_is_mapping:
            continue  # the other branch of `seeds: list[int] | {count, start}`
        loc = tuple(p for p in loc if p not in _UNION_TAGS)
        where = format_location(loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent else "see the docs"
            lines.append(f"{where}: unknown field; allowed fields: {allowed}")
        elif kind == "missing":
            lines.append(f"{where}: required field is missing")
        else:
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {message} (got {item.get('input')!r})")
    return lines or [str(error)]


def registry_problems(experiment: Experiment) -> list[str]:
    """Names, presets, hyperparameters and env kwargs that the registries do not know."""
    problems: list[str] = []
    env_names = registered_envs()
    for i, env in enumerate(experiment.environments):
        where = f"environments[{i}]"
        if env.name not in env_names:
            problems.append(f"{where}.name: {_unknown(env.name, env_names, 'environment')}")
            continue
        entry = get_env_entry(env.name)
        annotations, open_ended = parameter_annotations(entry.creator())
        for name in sorted(set(env.kwargs) - set(annotations)) if not open_ended else []:
            close = difflib.get_close_matches(name, annotations, n=1)
            fix = (
                f"did you mean {close[0]}?"
                if close
                else f"allowed: {', '.join(sorted(annotations)) or '(none)'}"
            )
            problems.append(f"{where}.kwargs.{name}: not accepted by {env.name}; {fix}")
        problems += typed_problems(env.kwargs, annotations, f"{where}.kwargs")
    problems += meta_problems(experiment)
    algorithm_names = registered_algorithms()
    for i, algo in enumerate(experiment.algorithms):
        where = f"algorithms[{i}]"
        if algo.name not in algorithm_names:
            problems.append(f"{where}.name: {_unknown(algo.name, algorithm_names, 'algorithm')}")
            continue
        entry = get_algorithm_entry(algo.name)
        allowed = entry.hyperparameter_names()
        unknown = sorted(set(algo.hyperparameters) - allowed)
        if unknown:
            problems.append(
                f"{where}.hyperparameters: {', '.join(unknown)} not accepted by {algo.name}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        problems += typed_problems(
            algo.hyperparameters,
            training_annotations(entry.config_cls()),
            f"{where}.hyperparameters",
        )
        if algo.preset is not None:
            presets = entry.presets()
            if algo.preset not in presets:
                choices = ", ".join(sorted(presets)) or "(this algorithm has none)"
                problems.append(
                    f"{where}.preset: unknown preset {algo.preset!r}; allowed: {choices}"
                )
                continue
            preset = presets[algo.preset]
            for env in experiment.environments:
                if env.name in env_names and env.name not in preset and ANY_ENV not in preset:
                    problems.append(
                        f"{where}.preset: {algo.preset!r} has no values for {env.name}; "
                        f"it covers: {', '.join(sorted(preset))}"
                    )
    return problems


def meta_problems(experiment: Experiment) -> list[str]:
    """Task distributions that are not registered (or reject their kwargs)."""
    if experiment.meta is None:
        return []
    sources = [("meta.train", experiment.meta.train)]
    if experiment.meta.test is not None and experiment.meta.test.source is not None:
        sources.append(("meta.test.source", experiment.meta.test.source))
    problems = []
    names = task_distribution_names()
    for where, source in sources:
        if source.distribution not in names:
            problems.append(
                f"{where}.distribution: unknown task distribution {source.distribution!r}; "
                f"registered: {', '.join(names)}"
            )
            continue
        try:
            make_task_distribution(source.distribution, **source.kwargs)
        except (TypeError, ValueError) as error:
            problems.append(f"{where}.kwargs: {error}")
    return problems


def _unknown(name: str, known: Mapping[str, Any], kind: str) -> str:
    return f"unknown {kind} {name!r}; registered: {', '.join(sorted(known))}"


def resolved_hyperparameters(experiment: Experiment, algorithm_index: int, env: str) -> dict:
    """Preset values for ``env`` (or ``"*"``) overridden by the file's hyperparameters."""
    algo = experiment.algorithms[algorithm_index]
    values: dict[str, Any] = {}
    if algo.preset is not None:
        preset = get_algorithm_entry(algo.name).presets()[algo.preset]
        values.update(preset.get(ANY_ENV, {}))
        values.update(preset.get(env, {}))
    values.update(algo.hyperparameters)
    return values


def trial_environments(experiment: Experiment) -> list[tuple[str, dict[str, Any]]]:
    """``(env name, kwargs)`` of the trials: the listed environments, or on a meta-RL sweep the
    environment of ``meta.train``'s task distribution."""
    if experiment.meta is None:
        return [(env.name, dict(env.kwargs)) for env in experiment.environments]
    source = experiment.meta.train
    distribution = make_task_distribution(source.distribution, **source.kwargs)
    return [(distribution.env_name, dict(distribution.env_kwargs))]


def expand_trials(experiment: Experiment) -> list[TrialSpec]:
    """Algorithms × environments × seeds, in that nesting order."""
    trials = []
    meta = experiment.meta
    meta_train = meta.train.model_dump() if meta is not None else None
    meta_test = meta.test.model_dump() if meta is not None and meta.test is not None else None
    for i, algo in enumerate(experiment.algorithms):
        for env_name, env_kwargs in trial_environments(experiment):
            for seed in experiment.seed_list:
                budget = experiment.budget.env_steps if algo.env_steps is None else algo.env_steps
                trials.append(
                    TrialSpec(
                        sweep=experiment.name,
                        trial_name=f"{algo.display_name}__{env_name}__seed{seed}",
                        algorithm=algo.name,
                        label=algo.display_name,
                        env=env_name,
                        env_kwargs=env_kwargs,
                        seed=seed,
                        hyperparameters=resolved_hyperparameters(experiment, i, env_name),
                        env_steps=budget,
                        imports=list(experiment.imports),
                        env_runners=experiment.resources.env_runners,
                        cpus_per_env_runner=experiment.resources.cpus_per_env_runner,
                        envs_per_env_runner=experiment.resources.envs_per_env_runner,
                        cpus_per_trial=experiment.resources.cpus_per_trial,
                        evaluation_episodes=experiment.evaluation.episodes,
                        evaluation_every_iterations=experiment.evaluation.every_iterations,
                        evaluation_deterministic=experiment.evaluation.deterministic,
                        violation_window=experiment.metrics.violation_window,
                        meta_train=meta_train,
                        meta_test=meta_test
                        if meta_test is None or algo.meta_test_inner is None
                        else {**meta_test, "inner": algo.meta_test_inner},
                    )
                )
    return trials
