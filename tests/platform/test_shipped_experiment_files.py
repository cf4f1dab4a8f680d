"""Every experiment file shipped in tune_configs/ validates and expands to trials with distinct
names (a typo in a hyperparameter or a section fails here, not at a user's first run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safemeta.platform.experiment import expand_trials, load_experiment

TUNE_CONFIGS = Path(__file__).resolve().parents[2] / "tune_configs"
FILES = sorted(TUNE_CONFIGS.rglob("*.yaml"))


def test_the_shipped_files_are_found() -> None:
    assert {p.parent.name for p in FILES} >= {"c_maml", "meta_cpo", "meta_sac_lag", "onpolicy"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(TUNE_CONFIGS)))
def test_shipped_file_validates_and_expands(path: Path) -> None:
    trials = expand_trials(load_experiment(path))
    assert trials
    assert len({t.trial_name for t in trials}) == len(trials)
