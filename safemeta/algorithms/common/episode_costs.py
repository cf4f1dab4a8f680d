"""Episodic cost J_C (and episode length) estimated from sampled episode chunks.

On-policy sampling by timesteps cuts episodes into chunks that continue in the next iteration
with the same episode id. ``EpisodeCostTracker`` carries the cost and length of unfinished
episodes across calls, so every finished episode is counted whole, as the env-runner metrics do,
and reports the mean over a window of the most recent finished episodes: a 4,000-step batch
finishes ≈ 4 PointGoal1 episodes, whose mean cost alone has a standard error of ≈ 18.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safemeta.environments.costs import step_costs


@dataclass(frozen=True)
class CostEstimate:
    """J_C and the mean episode length L over the window of recently finished episodes."""

    episode_cost: float
    episode_length: float
    finished_episodes: int
    """Episodes that finished in this batch."""
    window_episodes: int = 0
    """Episodes the estimate averages; 0 means none has finished yet: the estimate is the
    cost rate × the longest length seen."""
    violation_rate: float = 0.0
    """Share of the window's episodes with any cost (while none has finished: the cost
    estimate above, clipped to 1)."""


class EpisodeCostTracker:
    """Accumulates per-episode cost and length over chunks; averages the last ``window``
    finished episodes (``window=None``: only those that finished in the current batch)."""

    def __init__(self, window: int | None = None) -> None:
        if window is not None and window < 1:
            raise ValueError(f"cost window must be >= 1 episode (or None), got {window}")
        self.window = window
        self._partial: dict[str, tuple[float, int]] = {}
        self._recent: deque[tuple[float, int]] = deque(maxlen=window)
        self._longest = 0

    def update(self, chunks: Iterable[Any]) -> CostEstimate:
        """Fold in one batch of chunks; J_C and L over the window of finished episodes.

        If none has finished, J_C is estimated as (batch cost / batch steps) × the longest
        episode length seen so far (a biased but finite stand-in until the first episode ends).
        """
        finished_costs, finished_lengths = [], []
        batch_cost, batch_steps = 0.0, 0
        for chunk in chunks:
            costs = step_costs(chunk)
            batch_cost += float(costs.sum())
            batch_steps += len(chunk)
            cost, length = self._partial.pop(chunk.id_, (0.0, 0))
            cost, length = cost + float(costs.sum()), length + len(chunk)
            self._longest = max(self._longest, length)
            if chunk.is_done:
                finished_costs.append(cost)
                finished_lengths.append(length)
            else:
                self._partial[chunk.id_] = (cost, length)
        if self.window is None:
            self._recent.clear()
        self._recent.extend(zip(finished_costs, finished_lengths, strict=True))
        if self._recent:
            costs, lengths = zip(*self._recent, strict=True)
            return CostEstimate(
                float(np.mean(costs)),
                float(np.mean(lengths)),
                len(finished_costs),
                len(self._recent),
                float(np.mean(np.asarray(costs) > 0)),
            )
        rate = batch_cost / max(batch_steps, 1)
        estimate = rate * self._longest
        return CostEstimate(estimate, float(self._longest), 0, 0, min(estimate, 1.0))

    def get_state(self) -> dict[str, Any]:
        """Unfinished episodes, the window and the longest length (for checkpoints)."""
        return {
            "partial": dict(self._partial),
            "recent": list(self._recent),
            "longest": self._longest,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self._partial = dict(state["partial"])
        self._recent = deque((tuple(e) for e in state["recent"]), maxlen=self.window)
        self._longest = int(state["longest"])


COST_TRACKER_STATE = "episode_cost_tracker"


class CheckpointsCostTracker:
    """Algorithm mixin: ``self.cost_tracker`` (an ``EpisodeCostTracker``) saved in and restored
    from the Algorithm's state, so the J_C window survives checkpoints. List it before
    ``Algorithm`` in the bases."""

    cost_tracker: EpisodeCostTracker

    def get_state(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state = super().get_state(*args, **kwargs)  # type: ignore[misc]
        if hasattr(self, "cost_tracker"):
            state[COST_TRACKER_STATE] = self.cost_tracker.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)  # type: ignore[misc]
        if COST_TRACKER_STATE in state:
            self.cost_tracker.set_state(state[COST_TRACKER_STATE])
