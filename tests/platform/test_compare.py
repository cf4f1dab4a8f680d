"""`safemeta compare` on a sweep with known numbers written straight into an MLflow sqlite store."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from safemeta.platform.compare import bootstrap_ci, compare_sweep, curve_band

REPO = Path(__file__).resolve().parents[2]


def test_bootstrap_ci_on_small_samples_is_exact():
    same = bootstrap_ci([2.0, 2.0, 2.0])
    assert (same.mean, same.low, same.high, same.n) == (2.0, 2.0, 2.0, 3)
    # resampled means of (0, 1) are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    pair = bootstrap_ci([0.0, 1.0])
    assert (pair.mean, pair.low, pair.high) == (0.5, 0.0, 1.0)
    # of (1, 2, 3): P(mean = 1) = P(mean = 3) = 1/27 > 2.5%
    triple = bootstrap_ci([1.0, 2.0, 3.0])
    assert (triple.mean, triple.low, triple.high) == (2.0, 1.0, 3.0)


def test_bootstrap_ci_narrows_with_more_seeds():
    rng = np.random.default_rng(1)
    few, many = bootstrap_ci(rng.normal(size=5)), bootstrap_ci(rng.normal(size=500))
    assert few.low < few.mean < few.high and many.low < many.mean < many.high
    assert many.high - many.low < (few.high - few.low) / 3
    assert abs(many.mean) < 0.2


def test_curve_band_interpolates_seeds_on_a_common_grid():
    a = (np.array([0.0, 10.0]), np.array([0.0, 10.0]))
    b = (np.array([0.0, 5.0, 10.0]), np.array([2.0, 7.0, 12.0]))
    grid, mean, low, high = curve_band([a, b], points=3)
    assert grid.tolist() == [0.0, 5.0, 10.0]
    assert mean.tolist() == [1.0, 6.0, 11.0]
    assert low.tolist() == [0.0, 5.0, 10.0] and high.tolist() == [2.0, 7.0, 12.0]


def make_sweep(uri: str, *, learned_nu: bool = False) -> None:
    """Sweep "known": envA × {alg1: seeds 0-2, alg2: seeds 0-1 + one failed}; envB × alg1.

    ``learned_nu``: alg1's envA trials also log a learner statistic ν = 10·(seed + 1) at the
    last step (alg2 logs none)."""
    client = MlflowClient(uri)
    experiment = client.create_experiment("known")
    parent = client.create_run(
        experiment, run_name="known", tags={"safemeta.sweep": "known", "safemeta.kind": "sweep"}
    ).info.run_id
    finals = {
        ("envA", "alg1"): [(100.0, 0.0, 0.0), (200.0, 0.5, 3.0), (300.0, 1.0, 6.0)],
        ("envA", "alg2"): [(10.0, 0.2, 1.0), (30.0, 0.4, 3.0)],
        ("envB", "alg1"): [(-5.0, 0.1, 1.0)],
    }
    for (env, algorithm), values in finals.items():
        for seed, (ret, violation, cost) in enumerate(values):
            run = client.create_run(
                experiment,
                run_name=f"{algorithm}-{env}-{seed}",
                tags={
                    "mlflow.parentRunId": parent,
                    "safemeta.sweep": "known",
                    "safemeta.kind": "trial",
                    "env": env,
                    "algorithm": algorithm,
                    "seed": str(seed),
                },
            ).info.run_id
            metrics = []
            for step, scale in ((1000, 0.5), (2000, 1.0)):  # the final value is the last step's
                metrics += [
                    Metric("episode_return", ret * scale, 0, step),
                    Metric("violation_rate", violation * scale, 0, step),
                    Metric("episode_cost", cost * scale, 0, step),
                ]
                if learned_nu and (env, algorithm) == ("envA", "alg1"):
                    nu = 10.0 * (seed + 1) * scale
                    metrics.append(Metric("learners/default_policy/nu", nu, 0, step))
            client.log_batch(run, metrics=metrics)
            client.set_terminated(run, "FINISHED")
    failed = client.create_run(
        experiment,
        run_name="alg2-envA-2",
        tags={
            "mlflow.parentRunId": parent,
            "safemeta.sweep": "known",
            "safemeta.kind": "trial",
            "env": "envA",
            "algorithm": "alg2",
            "seed": "2",
        },
    ).info.run_id
    client.log_batch(failed, metrics=[Metric("episode_return", 1e9, 0, 1000)])
    client.set_terminated(failed, "FAILED")


def test_compare_table_values_files_and_artifacts(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    make_sweep(uri)
    report = compare_sweep("known", uri, tmp_path / "out")
    rows = {(r.env, r.algorithm): r for r in report.rows}
    assert sorted(rows) == [("envA", "alg1"), ("envA", "alg2"), ("envB", "alg1")]

    a1 = rows[("envA", "alg1")]
    assert a1.seeds == (0, 1, 2) and a1.failed == 0
    ret = a1.estimates["episode_return"]
    assert (ret.mean, ret.low, ret.high) == (200.0, 100.0, 300.0)
    assert a1.estimates["violation_rate"].mean == pytest.approx(0.5)
    assert a1.estimates["episode_cost"].mean == pytest.approx(3.0)

    a2 = rows[("envA", "alg2")]
    assert a2.seeds == (0, 1) and a2.failed == 1  # the failed run's 1e9 is not averaged in
    assert (
        a2.estimates["episode_return"].mean,
        a2.estimates["episode_return"].low,
        a2.estimates["episode_return"].high,
    ) == (20.0, 10.0, 30.0)
    assert a2.estimates["violation_rate"].mean == pytest.approx(0.3)

    b1 = rows[("envB", "alg1")].estimates["episode_return"]
    assert (b1.mean, b1.low, b1.high, b1.n) == (-5.0, -5.0, -5.0, 1)

    names = sorted(p.name for p in report.files)
    assert names == ["comparison.csv", "comparison.md", "curves_envA.png", "curves_envB.png"]
    assert (tmp_path / "out" / "curves_envA.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = list(csv.DictReader((tmp_path / "out" / "comparison.csv").open()))
    assert table[0]["env"] == "envA" and table[0]["algorithm"] == "alg1"
    assert float(table[0]["episode_return_mean"]) == 200.0
    assert float(table[1]["violation_rate_ci_high"]) == pytest.approx(0.4)
    assert "| envA | alg1 | 3 | 200 [100, 300] | 0.5 [0, 1] |" in report.markdown

    client = MlflowClient(uri)
    parent = client.search_runs(
        [client.get_experiment_by_name("known").experiment_id],
        filter_string="tags.`safemeta.kind` = 'sweep'",
    )[0]
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")}
    assert "comparison/comparison.md" in logged and "comparison/curves_envA.png" in logged
    # The table's values are metrics of the parent run too (MLflow's chart view), and the
    # report files are readable by the group.
    final = client.get_run(parent.info.run_id).data.metrics
    assert final["alg1.envA.episode_return"] == 200.0
    assert final["alg1.envA.episode_return.low"] == 100.0
    assert final["alg2.envA.violation_rate"] == pytest.approx(0.3)
    for path in report.files:
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_compare_cli_prints_the_table_and_rejects_unknown_sweeps(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    make_sweep(uri)
    command = [sys.executable, "-m", "safemeta.platform.cli", "compare"]
    done = subprocess.run(
        [*command, "known", "--tracking-uri", uri, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "200 [100, 300]" in done.stdout and "envB" in done.stdout
    missing = subprocess.run(
        [*command, "nope", "--tracking-uri", uri],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert missing.returncode == 2
    assert "no sweep named 'nope'" in missing.stderr


def test_orphaned_running_runs_are_marked_killed_by_the_next_compare(tmp_path):
    # A driver SIGKILLed mid-sweep leaves its parent and trial runs RUNNING. The next command of
    # that sweep closes them if their driver (host:pid tag) is gone; a live driver's are kept.
    import socket
    import subprocess

    from safemeta.platform.tracking import TAG_DRIVER

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    make_sweep(uri)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("known").experiment_id
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid names no process now
    alive = subprocess.Popen(["sleep", "60"])
    try:
        ids = {}
        for name, pid in (("orphan", dead.pid), ("live", alive.pid)):
            parent = client.create_run(
                experiment,
                run_name=name,
                tags={
                    "safemeta.sweep": name,
                    "safemeta.kind": "sweep",
                    TAG_DRIVER: f"{socket.gethostname()}:{pid}",
                },
            ).info.run_id
            child = client.create_run(
                experiment,
                run_name=f"{name}-trial",
                tags={
                    "mlflow.parentRunId": parent,
                    "safemeta.sweep": name,
                    "safemeta.kind": "trial",
                },
            ).info.run_id
            ids[name] = (parent, child)
        for name in ("orphan", "live"):
            compare_sweep(name, uri, tmp_path / name, plots=False)
        statuses = {
            name: [client.get_run(run_id).info.status for run_id in pair]
            for name, pair in ids.items()
        }
        assert statuses == {"orphan": ["KILLED", "KILLED"], "live": ["RUNNING", "RUNNING"]}
    finally:
        alive.kill()
        alive.wait()


def test_learned_scalars_get_a_column_and_a_trajectory_plot(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    make_sweep(uri, learned_nu=True)
    report = compare_sweep("known", uri, tmp_path / "out")
    rows = {(r.env, r.algorithm): r for r in report.rows}
    nu = rows[("envA", "alg1")].estimates["nu"]
    assert (nu.mean, nu.n) == (20.0, 3)  # finals 10, 20, 30
    assert "nu" not in rows[("envA", "alg2")].estimates
    assert "| final ν | failed |" in report.markdown.splitlines()[2]
    assert "| 200 [100, 300] | 0.5 [0, 1] | 3 [0, 6] | 20 [10, 30] | 0 |" in report.markdown
    assert "| envA | alg2 | 2 |" in report.markdown and "| – | 1 |" in report.markdown
    table = list(csv.DictReader((tmp_path / "out" / "comparison.csv").open()))
    assert float(table[0]["nu_mean"]) == 20.0 and table[1]["nu_mean"] == "nan"
    # Only envA has a learned scalar: one trajectory plot, for envA.
    assert sorted(p.name for p in report.files if p.name.startswith("scalars")) == [
        "scalars_envA.png"
    ]
