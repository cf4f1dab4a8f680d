"""Acting with a trial's checkpoint outside RLlib, and `safemeta render` on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from safemeta.environments import make
from safemeta.platform.checkpoints import CheckpointPolicy, resolve_checkpoint
from tests.tiny_trials import tiny_ppo_checkpoint, tiny_ppo_spec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def circle_checkpoint(local_ray, tmp_path_factory) -> Path:
    return tiny_ppo_checkpoint(
        tmp_path_factory.mktemp("checkpoint"), tiny_ppo_spec("SafetyPointCircle1-v0", 200)
    )


def test_checkpoint_policy_is_deterministic_and_within_the_action_bounds(circle_checkpoint):
    path, tags = resolve_checkpoint(str(circle_checkpoint))
    assert path == circle_checkpoint and tags == {}
    policy = CheckpointPolicy(path)
    env = make("SafetyPointCircle1-v0")
    obs, _ = env.reset(seed=1)
    actions = []
    for _ in range(5):
        action = policy(obs)
        assert action.shape == env.action_space.shape
        assert env.action_space.contains(action.astype(env.action_space.dtype))
        np.testing.assert_array_equal(action, policy(obs))  # explore=False: no sampling
        actions.append(action)
        obs, *_ = env.step(action)
    assert len({a.tobytes() for a in actions}) > 1  # it reacts to the observation


def test_resolve_checkpoint_rejects_what_is_not_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an RLlib checkpoint"):
        resolve_checkpoint(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="neither a checkpoint folder nor an MLflow run"):
        resolve_checkpoint("0123abcd", f"sqlite:///{tmp_path}/mlflow.db")


def test_render_command_writes_a_frame_strip(circle_checkpoint, tmp_path):
    out = tmp_path / "strip.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "safemeta.platform.cli",
            "render",
            str(circle_checkpoint),
            "--env",
            "SafetyPointCircle1-v0",
            "--out",
            str(out),
            "--max-steps",
            "20",
            "--every",
            "10",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3 frames" in done.stdout and "20 steps" in done.stdout
    width, height = Image.open(out).size
    assert width == 3 * height  # three square frames in one row
