"""Episode return, cost and violation metrics for every algorithm, from ``info["cost"]``.

Env runners log one ``EpisodeRecord`` per finished episode (``on_episode_end``); the trial keeps the
last N records in an ``EpisodeWindow``, so window statistics span iterations and env runners exactly
(RLlib's own metric windows restart every iteration). Step costs are read by
``safemeta.environments.costs.step_costs`` (which avoids RLlib's off-by-one info slicing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from safemeta.environments.costs import step_costs

EPISODES_KEY = "safemeta_episodes"
EPISODE_RETURN = "episode_return"
EPISODE_LENGTH = "episode_length"
EPISODE_COST = "episode_cost"
COST_RATE = "cost_rate"
VIOLATION_RATE = "violation_rate"
META_TEST = "meta_test"
"""Result key of a trial's meta-test adaptation curve (``meta.protocol.AdaptationCurve``)."""
META_TEST_RETURN = f"{META_TEST}/return"
META_TEST_COST = f"{META_TEST}/cost"
META_TEST_COST_LIMIT = f"{META_TEST}/cost_limit"
"""MLflow metrics of the meta-test curve, logged with the adaptation step k as their step."""


class EpisodeRecord(NamedTuple):
    """Return, total cost and length of one finished episode."""

    episode_return: float
    cost: float
    length: int


def episode_record(chunks: Sequence[Any]) -> EpisodeRecord:
    """The record of one episode from all of its chunks."""
    return EpisodeRecord(
        episode_return=float(sum(chunk.get_return() for chunk in chunks)),
        cost=float(sum(step_costs(chunk).sum() for chunk in chunks)),
        length=int(sum(len(chunk) for chunk in chunks)),
    )


def record_episode(
    *,
    episode: Any,
    prev_episode_chunks: Sequence[Any] | None = None,
    metrics_logger: Any = None,
    **_: Any,
) -> None:
    """``on_episode_end`` callback: log this episode's ``EpisodeRecord`` (as a plain tuple)."""
    if metrics_logger is not None:
        record = episode_record([*(prev_episode_chunks or []), episode])
        metrics_logger.log_value(EPISODES_KEY, tuple(record), reduce="item_series")


def summarize(records: Iterable[Sequence[float]]) -> dict[str, float]:
    """Means over episodes: return, cost, length, cost per step, and fraction with any cost."""
    rows = [EpisodeRecord(*r) for r in records]
    if not rows:
        return {}
    returns, costs, lengths = (
        np.asarray(column, dtype=np.float64) for column in zip(*rows, strict=True)
    )
    return {
        EPISODE_RETURN: float(returns.mean()),
        EPISODE_COST: float(costs.mean()),
        EPISODE_LENGTH: float(lengths.mean()),
        COST_RATE: float((costs / np.maximum(lengths, 1)).mean()),
        VIOLATION_RATE: float((costs > 0).mean()),
    }


class EpisodeWindow:
    """The last ``size`` episode records of a trial, across iterations and env runners."""

    def __init__(self, size: int, records: Iterable[Sequence[float]] = ()) -> None:
        self.size = size
        self.records: deque[EpisodeRecord] = deque(
            (EpisodeRecord(*r) for r in records), maxlen=size
        )

    def extend(self, records: Iterable[Sequence[float]]) -> None:
        self.records.extend(EpisodeRecord(*r) for r in records)

    def summary(self) -> dict[str, float]:
        """``summarize`` over the window (empty before the first finished episode)."""
        return summarize(self.records)

    def get_state(self) -> dict[str, Any]:
        return {"size": self.size, "records": [list(r) for r in self.records]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EpisodeWindow:
        return cls(state["size"], state["records"])
