"""The sweep progress line: elapsed time, env steps/s over recent samples, and the ETA."""

from __future__ import annotations

import safemeta.platform.progress as progress


def test_rate_and_eta_count_only_steps_made_while_watching(monkeypatch) -> None:
    clock = iter([0.0, 100.0, 160.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    line = progress.SweepProgress("sweep", budget=10_000, total_trials=2)  # reads the clock (0)
    # Restored trials report 6,000 steps at once (a resume): no rate yet.
    line._latest = {"a": {"env_steps": 5_000.0}, "b": {"env_steps": 1_000.0}}
    assert line._speed() == "elapsed 1m40s · 0 env steps/s · ETA –"
    # 60 s later 3,000 more: 50 steps/s, 11,000 left -> 220 s.
    line._latest = {"a": {"env_steps": 7_000.0}, "b": {"env_steps": 2_000.0}}
    assert line._speed() == "elapsed 2m40s · 50 env steps/s · ETA 3m40s"
