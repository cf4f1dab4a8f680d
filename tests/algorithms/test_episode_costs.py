"""J_C from a window of recently finished episodes, counted whole across batch boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from safemeta.algorithms.common.episode_costs import EpisodeCostTracker


def _chunk(episode_id: str, costs: list[float], *, done: bool) -> SingleAgentEpisode:
    n = len(costs)
    return SingleAgentEpisode(
        id_=episode_id,
        observations=[np.zeros(1, np.float32)] * (n + 1),
        actions=[np.zeros(1, np.float32)] * n,
        rewards=[0.0] * n,
        infos=[{}] + [{"cost": c} for c in costs],
        terminated=done,
        len_lookback_buffer=0,
    )


def test_window_averages_the_most_recent_finished_episodes() -> None:
    tracker = EpisodeCostTracker(window=3)
    first = tracker.update([_chunk("a", [1.0, 1.0], done=True), _chunk("b", [0.0], done=False)])
    assert (first.episode_cost, first.episode_length, first.window_episodes) == (2.0, 2.0, 1)
    # "b" continues (cost 0 + 3, length 1 + 3); "c" (cost 5, length 1), "d" (cost 0, length 4)
    second = tracker.update(
        [
            _chunk("b", [1.0, 1.0, 1.0], done=True),
            _chunk("c", [5.0], done=True),
            _chunk("d", [0.0] * 4, done=True),
        ]
    )
    # the window keeps b, c, d (a drops out): costs 3, 5, 0; lengths 4, 1, 4
    assert second.episode_cost == pytest.approx(8.0 / 3)
    assert second.episode_length == pytest.approx(3.0)
    assert (second.finished_episodes, second.window_episodes) == (3, 3)
    assert second.violation_rate == pytest.approx(2 / 3)  # b and c had a cost, d none


def test_no_window_uses_only_the_batch_and_a_rate_before_any_episode_ends() -> None:
    tracker = EpisodeCostTracker(window=None)
    early = tracker.update([_chunk("a", [1.0, 0.0, 0.0, 1.0], done=False)])
    assert early.window_episodes == 0 and early.episode_cost == pytest.approx(0.5 * 4)
    assert early.violation_rate == 1.0  # the cost estimate 2, clipped to a probability
    tracker.update([_chunk("a", [1.0], done=True)])
    batch = tracker.update([_chunk("b", [0.0, 0.0], done=True)])
    assert (batch.episode_cost, batch.window_episodes, batch.violation_rate) == (0.0, 1, 0.0)


def test_state_round_trip_keeps_unfinished_episodes_and_the_window() -> None:
    tracker = EpisodeCostTracker(window=20)
    tracker.update([_chunk("a", [2.0], done=True), _chunk("b", [1.0, 1.0], done=False)])
    restored = EpisodeCostTracker(window=20)
    restored.set_state(tracker.get_state())
    nxt = [_chunk("b", [1.0], done=True)]
    assert restored.update(nxt) == tracker.update(nxt)
    assert restored.update([]).episode_cost == pytest.approx((2.0 + 3.0) / 2)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cost window"):
        EpisodeCostTracker(window=0)
