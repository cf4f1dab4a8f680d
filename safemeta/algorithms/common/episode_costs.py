"""Episodic cost J_C (and episode length) estimated from sampled episode chunks.

On-policy sampling by timesteps cuts episodes into chunks that continue in the next iteration
with the same episode id. ``EpisodeCostTracker`` carries the cost and length of unfinished
episodes across calls, so every finished episode is counted whole, as the env-runner metrics do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safemeta.environments.costs import step_costs


@dataclass(frozen=True)
class CostEstimate:
    """J_C and the mean episode length L of the episodes finished in one batch."""

    episode_cost: float
    episode_length: float
    finished_episodes: int
    """0 means no episode finished: the estimate is the cost rate × the longest length seen."""


class EpisodeCostTracker:
    """Accumulates per-episode cost and length over chunks; reports finished episodes."""

    def __init__(self) -> None:
        self._partial: dict[str, tuple[float, int]] = {}
        self._longest = 0

    def update(self, chunks: Iterable[Any]) -> CostEstimate:
        """Fold in one batch of chunks; J_C and L over the episodes that finished in it.

        If none finished, J_C is estimated as (batch cost / batch steps) × the longest episode
        length seen so far (a biased but finite stand-in until the first episode ends).
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
        if finished_costs:
            return CostEstimate(
                float(np.mean(finished_costs)),
                float(np.mean(finished_lengths)),
                len(finished_costs),
            )
        rate = batch_cost / max(batch_steps, 1)
        return CostEstimate(rate * self._longest, float(self._longest), 0)
