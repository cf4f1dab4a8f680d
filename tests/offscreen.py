"""Offscreen-rendering scripts run in a fresh process (MuJoCo picks its GL backend at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest


def run_offscreen(script: str, *args: str, timeout: float = 180) -> dict[str, Any]:
    """The JSON dict the script prints last, under ``MUJOCO_GL=egl`` unless set; skips the test
    when the script reports ``{"skip": reason}`` (no OpenGL backend on this machine)."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(f"offscreen rendering unavailable: {result['skip']}")
    return result
