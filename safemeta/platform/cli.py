"""The ``safemeta`` command: ``run``, ``list``, ``compare``.

Also runnable as ``python -m safemeta.platform.cli`` (the entry point of cluster jobs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safemeta.platform.deploy import deploy_command
from safemeta.platform.experiment import ExperimentError, expand_trials, load_experiment

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="safemeta: multi-seed comparisons of safe (meta-)RL algorithms on Ray, tracked in MLflow.",
)
# Off a terminal (CI logs, `ray job submit`), print wide tables instead of wrapping at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
error_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the file's, else sqlite).",
    ),
]


def _load_or_exit(path: Path):
    try:
        return load_experiment(path)
    except ExperimentError as error:
        error_console.print(f"[bold red]{error.source}[/]: {len(error.problems)} problem(s)")
        for line in error.problems:
            error_console.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(2) from None


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Experiment file (YAML).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the trial grid only.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted sweep.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Replace an earlier sweep of this name.")
    ] = False,
    tracking_uri: TrackingUri = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (default: local Ray).")
    ] = None,
    storage_path: Annotated[
        Path | None, typer.Option("--storage-path", help="Override the file's storage_path.")
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="Print the comparison at the end.")
    ] = True,
) -> None:
    """Run the sweep of an experiment file (algorithms × environments × seeds)."""
    experiment = _load_or_exit(file)
    trials = expand_trials(experiment)
    if dry_run:
        table = Table(
            title=f"{experiment.name}: {len(trials)} trials, "
            f"{experiment.budget.env_steps:,} env steps each"
        )
        for column in ("#", "trial", "algorithm", "env", "seed", "hyperparameters"):
            table.add_column(column)
        for i, trial in enumerate(trials):
            hp = ", ".join(f"{k}={v}" for k, v in trial.hyperparameters.items()) or "defaults"
            table.add_row(str(i), trial.trial_name, trial.algorithm, trial.env, str(trial.seed), hp)
        console.print(table)
        return
    from safemeta.platform.runner import run_experiment

    if storage_path is not None:
        experiment = experiment.model_copy(update={"storage_path": str(storage_path)})
    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    try:
        outcome = run_experiment(
            experiment,
            experiment_file_text=file.read_text(),
            resume=resume,
            restart=restart,
            tracking_uri=tracking_uri,
            address=address,
        )
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        error_console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    unfinished = outcome.total - outcome.finished - outcome.failed
    console.print(
        f"sweep {experiment.name}: {outcome.finished}/{outcome.total} trials finished, "
        f"{outcome.failed} failed"
        + (f", {unfinished} interrupted (continue with --resume)" if unfinished else "")
        + f" · results {outcome.sweep_dir} · MLflow {outcome.tracking_uri}"
    )
    if compare and outcome.finished:
        _print_comparison(experiment.name, outcome.tracking_uri, Path("reports") / experiment.name)
    if outcome.failed or unfinished:
        raise typer.Exit(1)


@app.command("list")
def list_registered() -> None:
    """List registered algorithms and environments."""
    from safemeta.algorithms.registry import registered_algorithms
    from safemeta.environments.registry import registered_envs

    for title, entries in (
        ("Algorithms", registered_algorithms()),
        ("Environments", registered_envs()),
    ):
        table = Table(title=title, show_lines=False)
        table.add_column("name", style="bold")
        table.add_column("description")
        for name, entry in entries.items():
            table.add_row(name, entry.description)
        console.print(table)


@app.command("compare")
def compare_command(
    sweep: Annotated[str, typer.Argument(help="Sweep name (the experiment file's `name`).")],
    tracking_uri: TrackingUri = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: reports/SWEEP).")
    ] = None,
    adaptation_steps: Annotated[
        str | None,
        typer.Option(
            "--adaptation-steps",
            help="Meta-test adaptation steps in the table, e.g. 0,1,5 (default: first and last).",
        ),
    ] = None,
) -> None:
    """Table of final return and violation rate (mean, 95% bootstrap CI) and learning curves;
    on meta-RL sweeps also the meta-test adaptation curves."""
    from safemeta.platform.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(
        tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlruns/mlflow.db"
    )
    steps = None
    if adaptation_steps:
        try:
            steps = [int(x) for x in adaptation_steps.split(",")]
        except ValueError:
            error_console.print(
                f"[red]--adaptation-steps {adaptation_steps!r}: give integers, e.g. 0,1,5[/]"
            )
            raise typer.Exit(2) from None
    try:
        _print_comparison(sweep, uri, out or Path("reports") / sweep, steps)
    except LookupError as error:
        error_console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None


@app.command("render")
def render_command(
    checkpoint: Annotated[
        str, typer.Argument(help="Checkpoint folder or MLflow run id of a trial.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output: .gif, or .png for a frame strip.")],
    env: Annotated[
        str | None, typer.Option("--env", help="Environment (default: the run's env tag).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Episode seed.")] = 0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop early.")] = None,
    every: Annotated[int, typer.Option("--every", help="Keep every k-th frame.")] = 1,
    tracking_uri: TrackingUri = None,
) -> None:
    """Save one deterministic episode of a checkpoint's policy as a GIF or a strip of frames."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen rendering; before mujoco is imported
    from safemeta.environments.navigation.render import save_frames
    from safemeta.environments.registry import make
    from safemeta.platform.checkpoints import CheckpointPolicy, resolve_checkpoint, run_env_spec

    try:
        path, tags = resolve_checkpoint(
            checkpoint, tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        )
    except FileNotFoundError as error:
        error_console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from None
    name, kwargs = run_env_spec(checkpoint, tags, tracking_uri) if env is None else (env, {})
    if name is None:
        error_console.print("[red]--env is needed: the checkpoint is not from a tracked run[/]")
        raise typer.Exit(2)
    episode = save_frames(
        make(name, **kwargs, render_mode="rgb_array"),
        CheckpointPolicy(path),
        out,
        seed=seed,
        max_steps=max_steps,
        every=every,
    )
    console.print(
        f"{episode.path}: {episode.num_frames} frames, return {episode.episode_return:.3g}, "
        f"cost {episode.episode_cost:.3g}, {episode.length} steps ({name}, seed {seed})"
    )


app.command("deploy")(deploy_command)  # logic in safemeta.platform.deploy


def _print_comparison(
    sweep: str, uri: str, out: Path, adaptation_steps: list[int] | None = None
) -> None:
    from safemeta.platform.compare import compare_sweep, headers, rows_as_text

    report = compare_sweep(sweep, uri, out, adaptation_steps=adaptation_steps)
    table = Table(title=f"Sweep {sweep}: final values, mean over seeds [95% bootstrap CI]")
    for header in headers(report.rows):
        table.add_column(header)
    for cells in rows_as_text(report.rows):
        table.add_row(*cells)
    console.print(table)
    console.print("written: " + ", ".join(str(p) for p in report.files))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
