"""Compare the trials of a sweep from MLflow: a Table II-shaped table and learning curves.

Per environment × algorithm, the final value of each trial (its last logged iteration: windowed mean
return and windowed violation rate over the last N episodes) is averaged over seeds, with a 95%
percentile-bootstrap confidence interval of that mean. The learned scalars an algorithm reports
(ε, ν, α, λ) get a column and a trajectory plot when some trial of the sweep logs them. On a
meta-RL sweep, each trial's meta-test adaptation curve (``meta_test/return``, ``meta_test/cost``
against the adaptation step) gives a plot with one line per initialisation and table columns at
chosen adaptation steps, and the meta-training curves (the sampled tasks' return and cost before
and after the K inner steps of each meta-iteration) give ``meta_training_<env>.png``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from safemeta.platform.cost_metrics import (
    EPISODE_COST,
    EPISODE_RETURN,
    META_TEST_COST,
    META_TEST_COST_LIMIT,
    META_TEST_RETURN,
    VIOLATION_RATE,
)
from safemeta.platform.files import write_bytes_atomic, write_text_atomic
from safemeta.platform.tracking import TAG_KIND, TAG_PARENT, TAG_SWEEP, reconcile_orphans

TABLE_METRICS = (EPISODE_RETURN, VIOLATION_RATE, EPISODE_COST)
CURVE_METRICS = (EPISODE_RETURN, EPISODE_COST, VIOLATION_RATE)
LEARNER_PREFIX = "learners/default_policy/"
META_PREFIX = "meta/"  # the meta-algorithms' outer-loop values (meta λ, η)
LEARNED_SCALARS = {  # column header -> learner (or meta-iteration) statistic
    "ε": "epsilon",
    "ν": "nu",
    "α": "alpha",
    "λ": "lagrange_multiplier",
    "η": "safety_multiplier",
}
ADAPTATION_METRICS = (META_TEST_RETURN, META_TEST_COST)
# Meta-training: the sampled tasks' mean return / cost at inner step k (meta/return_step_k, ...).
META_STEP_METRIC = re.compile(r"^meta/(return|cost)_step_(\d+)$")
META_TRAINING_CURVES = ("return_before", "return_adapted", "cost_before", "cost_adapted")


def adaptation_key(metric: str, step: int) -> str:
    """Estimate key of a meta-test metric at adaptation step ``step``."""
    return f"{metric}{STEP_SEPARATOR}{step}"


STEP_SEPARATOR = "/step_"


BOOTSTRAP_SAMPLES = 10_000


@dataclass(frozen=True)
class Estimate:
    """Mean over seeds and its 95% bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "–"
        return f"{self.mean:.3g} [{self.low:.3g}, {self.high:.3g}]"


@dataclass(frozen=True)
class ComparisonRow:
    env: str
    algorithm: str
    seeds: tuple[int, ...]
    failed: int
    estimates: dict[str, Estimate]


@dataclass
class TrialCurves:
    """One trial's identity and metric histories (``metric -> (env steps, values)``)."""

    run_id: str
    env: str
    algorithm: str
    seed: int
    status: str
    curves: dict[str, tuple[np.ndarray, np.ndarray]]

    def has(self, metric: str) -> bool:
        """Whether the trial logged ``metric`` at least once."""
        return metric in self.curves and len(self.curves[metric][0]) > 0

    def final(self, metric: str) -> float | None:
        steps_values = self.curves.get(metric)
        if steps_values is None or len(steps_values[1]) == 0:
            return None
        return float(steps_values[1][-1])

    def at_step(self, metric: str, step: int) -> float | None:
        """The value logged at MLflow step ``step`` (e.g. an adaptation step), if any."""
        steps, values = self.curves.get(metric, (np.array([]), np.array([])))
        hits = values[steps == step]
        return float(hits[-1]) if len(hits) else None


def bootstrap_ci(
    values: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> Estimate:
    """Mean and 95% percentile-bootstrap CI of the mean (a single value has a zero-width CI)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


def find_sweep(client: MlflowClient, sweep: str) -> tuple[str, str]:
    """``(experiment_id, parent_run_id)`` of the newest sweep named ``sweep``."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(
        experiments,
        filter_string=f"tags.`{TAG_SWEEP}` = '{sweep}' and tags.`{TAG_KIND}` = 'sweep'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise LookupError(f"no sweep named {sweep!r} in {client.tracking_uri}")
    return runs[0].info.experiment_id, runs[0].info.run_id


def load_trials(client: MlflowClient, experiment_id: str, parent_run_id: str) -> list[TrialCurves]:
    """All child runs of a sweep with their metric histories against env steps."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{TAG_PARENT}` = '{parent_run_id}'",
        max_results=10_000,
    )
    trials = []
    scalars = [
        prefix + name
        for name in LEARNED_SCALARS.values()
        for prefix in (LEARNER_PREFIX, META_PREFIX)
    ]
    for run in runs:
        curves = {}
        for metric in (*CURVE_METRICS, *scalars, *ADAPTATION_METRICS, META_TEST_COST_LIMIT):
            history = sorted(
                client.get_metric_history(run.info.run_id, metric),
                key=lambda m: (m.step, m.timestamp),
            )
            steps = np.array([m.step for m in history], dtype=np.float64)
            values = np.array([m.value for m in history], dtype=np.float64)
            name = metric.removeprefix(LEARNER_PREFIX).removeprefix(META_PREFIX)
            if len(steps) or name not in curves:
                curves[name] = (steps, values)
        curves |= _meta_training_curves(client, run)
        trials.append(
            TrialCurves(
                run_id=run.info.run_id,
                env=run.data.tags.get("env", "?"),
                algorithm=run.data.tags.get("algorithm", "?"),
                seed=int(run.data.tags.get("seed", -1)),
                status=run.info.status,
                curves=curves,
            )
        )
    return trials


def _meta_training_curves(client: MlflowClient, run) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A meta-trial's return/cost of the sampled tasks before (inner step 0) and after its last
    inner step, per meta-iteration against env steps ({} for other trials)."""
    last = max(
        (int(m[2]) for key in run.data.metrics if (m := META_STEP_METRIC.match(key))), default=0
    )
    if last == 0:
        return {}
    curves = {}
    for quantity in ("return", "cost"):
        for name, step in (("before", 0), ("adapted", last)):
            history = sorted(
                client.get_metric_history(run.info.run_id, f"meta/{quantity}_step_{step}"),
                key=lambda m: (m.step, m.timestamp),
            )
            curves[f"{quantity}_{name}"] = (
                np.array([m.step for m in history], dtype=np.float64),
                np.array([m.value for m in history], dtype=np.float64),
            )
    return curves


def adaptation_steps_of(trials: Sequence[TrialCurves]) -> list[int]:
    """The first and the last adaptation step any trial's meta-test logged ([] if none)."""
    steps = [
        int(s)
        for t in trials
        for metric in ADAPTATION_METRICS
        if t.has(metric)
        for s in t.curves[metric][0]
    ]
    return sorted({min(steps), max(steps)}) if steps else []


def comparison_rows(
    trials: Sequence[TrialCurves], adaptation_steps: Sequence[int] | None = None
) -> list[ComparisonRow]:
    """One row per env × algorithm over its finished trials; ``failed`` counts FAILED runs
    (interrupted ones, KILLED, are neither: ``--resume`` finishes them). Meta-test values at
    ``adaptation_steps`` (default: the first and last) join the row when trials logged them."""
    if adaptation_steps is None:
        adaptation_steps = adaptation_steps_of(trials)
    groups: dict[tuple[str, str], list[TrialCurves]] = defaultdict(list)
    for trial in trials:
        groups[(trial.env, trial.algorithm)].append(trial)
    rows = []
    for (env, algorithm), members in sorted(groups.items()):
        finished = [t for t in members if t.status == "FINISHED"]
        estimates = {}
        for metric in (*TABLE_METRICS, *LEARNED_SCALARS.values()):
            finals = [v for t in finished if (v := t.final(metric)) is not None]
            if finals or metric in TABLE_METRICS:
                estimates[metric] = bootstrap_ci(finals)
        for metric in ADAPTATION_METRICS:
            for step in adaptation_steps:
                values = [v for t in finished if (v := t.at_step(metric, step)) is not None]
                if values:
                    estimates[adaptation_key(metric, step)] = bootstrap_ci(values)
        rows.append(
            ComparisonRow(
                env=env,
                algorithm=algorithm,
                seeds=tuple(sorted(t.seed for t in finished)),
                failed=sum(t.status == "FAILED" for t in members),
                estimates=estimates,
            )
        )
    return rows


def table_columns(rows: Sequence[ComparisonRow]) -> list[tuple[str, str]]:
    """``(header, metric)`` of the value columns: the table metrics, then the learned scalars
    that some row has."""
    columns = [("return", EPISODE_RETURN), ("violation rate", VIOLATION_RATE)]
    columns.append(("episode cost", EPISODE_COST))
    columns += [
        (f"final {header}", name)
        for header, name in LEARNED_SCALARS.items()
        if any(name in r.estimates for r in rows)
    ]
    adapted = {
        tuple(key.rsplit(STEP_SEPARATOR, 1))
        for r in rows
        for key in r.estimates
        if STEP_SEPARATOR in key
    }
    for metric, step in sorted(adapted, key=lambda m: (ADAPTATION_METRICS.index(m[0]), int(m[1]))):
        label = "meta-test return" if metric == META_TEST_RETURN else "meta-test cost"
        columns.append((f"{label} @{step}", adaptation_key(metric, int(step))))
    return columns


def headers(rows: Sequence[ComparisonRow]) -> list[str]:
    return ["env", "algorithm", "seeds", *(h for h, _ in table_columns(rows)), "failed"]


def rows_as_text(rows: Sequence[ComparisonRow]) -> list[list[str]]:
    columns = table_columns(rows)
    return [
        [
            r.env,
            r.algorithm,
            str(len(r.seeds)),
            *(str(r.estimates[m]) if m in r.estimates else "–" for _, m in columns),
            str(r.failed),
        ]
        for r in rows
    ]


def to_markdown(rows: Sequence[ComparisonRow], title: str) -> str:
    names = headers(rows)
    lines = [f"### {title}", "", "| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows_as_text(rows)]
    lines += [
        "",
        "Final values (last iteration: mean over the last N episodes of each trial), "
        "mean over seeds with 95% bootstrap CI.",
    ]
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[ComparisonRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    metrics = [m for _, m in table_columns(rows)]
    writer.writerow(
        ["env", "algorithm", "seeds", "failed"]
        + [f"{m}_{part}" for m in metrics for part in ("mean", "ci_low", "ci_high")]
    )
    missing = Estimate(float("nan"), float("nan"), float("nan"), 0)
    for r in rows:
        writer.writerow(
            [r.env, r.algorithm, " ".join(map(str, r.seeds)), r.failed]
            + [
                f"{getattr(r.estimates.get(m, missing), p):.6g}"
                for m in metrics
                for p in ("mean", "low", "high")
            ]
        )
    return out.getvalue()


def curve_band(
    curves: Sequence[tuple[np.ndarray, np.ndarray]], points: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate seeds on a common env-step grid; mean and 95% bootstrap band per point."""
    usable = [(s, v) for s, v in curves if len(s) > 0]
    end = min(s[-1] for s, _ in usable)
    start = max(s[0] for s, _ in usable)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    stacked = np.stack([np.interp(grid, s, v) for s, v in usable])
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(usable), size=(1000, len(usable)))
    means = stacked[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return grid, stacked.mean(axis=0), low, high


def _save_png(fig, path: Path) -> None:
    """Write ``fig`` as a PNG atomically and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def _short_number(value: float, _position: int = 0) -> str:
    """Axis label: 150000 -> "150k", 2000000 -> "2M"."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def plot_curves(
    trials: Sequence[TrialCurves],
    env: str,
    path: Path,
    metrics: Sequence[str] = CURVE_METRICS,
    *,
    log_scale: Sequence[str] = (),
) -> None:
    """PNG of ``metrics`` (default: return, cost and violation rate) vs env steps; mean line + CI
    band per algorithm; the metrics in ``log_scale`` on a log y-axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    axes = axes[0]
    by_algorithm: dict[str, list[TrialCurves]] = defaultdict(list)
    for trial in trials:
        if trial.env == env and trial.status == "FINISHED":
            by_algorithm[trial.algorithm].append(trial)
    for axis, metric in zip(axes, metrics, strict=True):
        for algorithm, members in sorted(by_algorithm.items()):
            curves = [t.curves[metric] for t in members if t.has(metric)]
            if not curves:
                continue
            grid, mean, low, high = curve_band(curves)
            (line,) = axis.plot(grid, mean, label=f"{algorithm} (n={len(curves)})")
            axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        axis.set_xlabel("env steps")
        axis.xaxis.set_major_formatter(FuncFormatter(_short_number))
        axis.set_title(metric.replace("_", " "))
        if metric in log_scale and axis.lines:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    if axes[0].lines:
        axes[0].legend(fontsize=8)
    fig.suptitle(env)
    fig.tight_layout()
    _save_png(fig, path)


def plot_adaptation(trials: Sequence[TrialCurves], path: Path) -> None:
    """PNG of the meta-test: return and cost per adaptation step, one line per initialisation
    (algorithm label) with a 95% bootstrap band over seeds; the cost limit dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    by_algorithm: dict[str, list[TrialCurves]] = defaultdict(list)
    for trial in trials:
        if trial.status == "FINISHED" and trial.has(META_TEST_RETURN):
            by_algorithm[trial.algorithm].append(trial)
    for axis, metric in zip(axes, ADAPTATION_METRICS, strict=True):
        for algorithm, members in sorted(by_algorithm.items()):
            curves = [t.curves[metric] for t in members if t.has(metric)]
            if not curves:
                continue
            points = int(max(c[0][-1] for c in curves)) + 1
            grid, mean, low, high = curve_band(curves, points=points)
            (line,) = axis.plot(grid, mean, marker="o", label=f"{algorithm} (n={len(curves)})")
            axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        axis.set_xlabel("adaptation step")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(metric.replace("meta_test/", "meta-test ").replace("_", " "))
        axis.grid(alpha=0.3)
    limits = [v for t in trials if (v := t.final(META_TEST_COST_LIMIT)) is not None]
    if limits:
        axes[1].axhline(float(np.mean(limits)), color="k", linestyle="--", label="cost limit d")
    for axis in axes:
        if axis.lines:
            axis.legend(fontsize=8)
    fig.tight_layout()
    _save_png(fig, path)


@dataclass(frozen=True)
class Report:
    rows: list[ComparisonRow]
    markdown: str
    files: list[Path]


def compare_sweep(
    sweep: str,
    tracking_uri: str,
    out_dir: Path,
    *,
    plots: bool = True,
    adaptation_steps: Sequence[int] | None = None,
) -> Report:
    """Build the comparison of ``sweep``; write CSV, Markdown and PNGs to ``out_dir`` and log them
    as artifacts of the sweep's parent run. ``adaptation_steps``: meta-test steps tabulated
    (default: the first and the last)."""
    client = MlflowClient(tracking_uri=tracking_uri)
    reconcile_orphans(client, sweep)
    experiment_id, parent = find_sweep(client, sweep)
    trials = load_trials(client, experiment_id, parent)
    rows = comparison_rows(trials, adaptation_steps)
    markdown = to_markdown(rows, f"Sweep {sweep}")
    files = [out_dir / "comparison.md", out_dir / "comparison.csv"]
    write_text_atomic(files[0], markdown)
    write_text_atomic(files[1], to_csv(rows))
    if plots:
        for env in sorted({t.env for t in trials if t.status == "FINISHED"}):
            path = out_dir / f"curves_{env}.png"
            plot_curves(trials, env, path)
            files.append(path)
            scalars = [
                name
                for name in LEARNED_SCALARS.values()
                if any(t.env == env and t.has(name) for t in trials)
            ]
            if scalars:
                path = out_dir / f"scalars_{env}.png"
                plot_curves(trials, env, path, scalars, log_scale=("nu", "alpha"))
                files.append(path)
            if any(t.env == env and t.has(META_TRAINING_CURVES[0]) for t in trials):
                path = out_dir / f"meta_training_{env}.png"
                plot_curves(trials, env, path, META_TRAINING_CURVES)
                files.append(path)
        if any(t.has(META_TEST_RETURN) for t in trials):
            path = out_dir / "adaptation.png"
            plot_adaptation(trials, path)
            files.append(path)
    for path in files:
        client.log_artifact(parent, str(path), "comparison")
    final = parent_metrics(rows)
    if final:
        client.log_batch(parent, metrics=final)
    return Report(rows=rows, markdown=markdown, files=files)


def parent_metrics(rows: Sequence[ComparisonRow]) -> list[Metric]:
    """The table's means (and CI bounds) as metrics of the sweep's parent run, named
    ``algorithm.env.metric`` (and ``….low`` / ``….high``), so MLflow's chart view compares them."""
    timestamp = int(time.time() * 1000)
    metrics = []
    for row in rows:
        for name, estimate in row.estimates.items():
            if estimate.n == 0:
                continue
            base = f"{row.algorithm}.{row.env}.{name}"
            for suffix, value in (
                ("", estimate.mean),
                (".low", estimate.low),
                (".high", estimate.high),
            ):
                metrics.append(Metric(base + suffix, float(value), timestamp, 0))
    return metrics
