"""Live progress of a sweep in the terminal: trial counts, env steps, latest return and cost."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

from ray import tune
from rich.console import Console
from rich.live import Live
from rich.table import Table

from safemeta.platform.cost_metrics import EPISODE_COST, EPISODE_RETURN, VIOLATION_RATE
from safemeta.platform.trial import ENV_STEPS

STATES = ("PENDING", "RUNNING", "TERMINATED", "ERROR", "PAUSED")
LABELS = {"TERMINATED": "done", "ERROR": "failed"}


class SweepProgress(tune.Callback):
    """A rich live table on a terminal; one summary line every ``interval_s`` otherwise."""

    def __init__(
        self, sweep: str, budget: int, total_trials: int, interval_s: float = 30.0
    ) -> None:
        self.sweep = sweep
        self.budget = budget
        self.total_trials = total_trials
        self.interval_s = interval_s
        self._latest: dict[str, dict[str, float]] = {}
        self._names: dict[str, str] = {}
        self._live: Live | None = None
        self._last_line = 0.0
        self._started = time.monotonic()
        self._samples: deque[tuple[float, float]] = deque(maxlen=20)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_live": None}

    def setup(self, **info: Any) -> None:
        self._started = time.monotonic()
        self._samples.clear()
        if sys.stdout.isatty():
            self._live = Live(Table(), refresh_per_second=2, console=Console())
            self._live.start()

    def _table(self, trials: list) -> Table:
        counts = {state: 0 for state in STATES}
        for trial in trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        counts["PENDING"] += self.total_trials - len(trials)  # Tune creates trials lazily
        title = " · ".join(
            f"{LABELS.get(s, s.lower())} {counts[s]}" for s in STATES if counts.get(s)
        )
        table = Table(title=f"safemeta sweep {self.sweep}: {title}", caption=self._speed())
        for column in ("trial", "status", "env steps", "return", "cost", "violation rate"):
            table.add_column(column, justify="left" if column == "trial" else "right")
        for trial in trials:
            latest = self._latest.get(trial.trial_id, {})
            steps = latest.get(ENV_STEPS, 0.0)
            table.add_row(
                self._names.get(trial.trial_id, str(trial)),
                LABELS.get(trial.status, trial.status.lower()),
                f"{steps:,.0f} / {self.budget:,} ({100 * steps / self.budget:.0f}%)",
                _fmt(latest.get(EPISODE_RETURN)),
                _fmt(latest.get(EPISODE_COST)),
                _fmt(latest.get(VIOLATION_RATE)),
            )
        return table

    def _speed(self) -> str:
        """Elapsed time, env steps/s over the recent progress samples (so a resumed sweep's
        restored steps do not count), and the ETA at that rate."""
        steps = sum(min(v.get(ENV_STEPS, 0.0), self.budget) for v in self._latest.values())
        now = time.monotonic()
        if not self._samples or self._samples[-1][1] != steps:
            self._samples.append((now, steps))
        elapsed = now - self._started
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        remaining = self.budget * self.total_trials - steps
        eta = _duration(remaining / rate) if rate > 0 else "–"
        return f"elapsed {_duration(elapsed)} · {rate:,.0f} env steps/s · ETA {eta}"

    def _line(self, trials: list) -> str:
        counts = {s: sum(t.status == s for t in trials) for s in STATES}
        steps = sum(min(v.get(ENV_STEPS, 0.0), self.budget) for v in self._latest.values())
        total = self.budget * self.total_trials
        waiting = counts["PENDING"] + self.total_trials - len(trials)  # Tune creates trials lazily
        return (
            f"[{self.sweep}] pending {waiting} running {counts['RUNNING']} "
            f"done {counts['TERMINATED']} failed {counts['ERROR']} | "
            f"env steps {steps:,.0f}/{total:,} ({100 * steps / total:.0f}%) | {self._speed()}"
        )

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            self._names.setdefault(trial.trial_id, trial.config["trial"]["trial_name"])
        if self._live is not None:
            self._live.update(self._table(trials))
        elif time.monotonic() - self._last_line >= self.interval_s:
            self._last_line = time.monotonic()
            print(self._line(trials), flush=True)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        self._latest[trial.trial_id] = dict(result.get("safemeta", {}))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self._live is None:
            print(f"[{self.sweep}] done: {trial.config['trial']['trial_name']}", flush=True)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self._live is None:
            print(f"[{self.sweep}] FAILED: {trial.config['trial']['trial_name']}", flush=True)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._live is not None:
            self._live.update(self._table(trials))
            self._live.stop()
            self._live = None
        else:
            print(self._line(trials), flush=True)


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``42s``."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"
