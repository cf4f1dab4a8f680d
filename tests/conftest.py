"""Shared fixtures: one local Ray per test session, shut down by the session that started it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """The embedded local Ray (as `safemeta run` starts it); shut down at the end of the session."""
    import ray

    from safemeta.platform.runner import ensure_ray

    ensure_ray()
    yield
    ray.shutdown()
