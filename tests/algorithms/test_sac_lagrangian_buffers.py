"""Replay routing of Algorithm 1 (D, D_s, D_0) and the per-step cost offset from RLlib episodes."""

from __future__ import annotations

import numpy as np
import torch
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from safemeta.algorithms.sac_lagrangian.buffers import (
    SafeReplay,
    TransitionBuffer,
    episodes_to_transitions,
)


def _rows(costs, start=0):
    n = len(costs)
    obs = np.arange(start, start + n, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    return {
        "obs": obs,
        "actions": np.zeros((n, 1), np.float32),
        "rewards": np.arange(start, start + n, dtype=np.float32),
        "costs": np.asarray(costs, np.float32),
        "next_obs": obs + 1,
        "dones": np.asarray(costs, np.float32),
    }


def test_violating_transition_lands_only_in_safety_buffer():
    replay = SafeReplay(2, 1, capacity=10, safety_capacity=10, initial_capacity=10)
    replay.add_transitions(_rows([0, 0, 1, 0]))
    assert replay.main.size == 3 and replay.safety.size == 1
    assert replay.safety.data["rewards"][0].item() == 2.0  # the violating row (index 2)
    assert 2.0 not in replay.main.data["rewards"][: replay.main.size].tolist()
    assert replay.main.data["costs"][: replay.main.size].sum().item() == 0.0


def test_ring_buffer_keeps_newest_rows_and_samples_only_filled_rows():
    buffer = TransitionBuffer(2, 1, capacity=5)
    buffer.add(_rows([0] * 3, start=0))
    buffer.add(_rows([0] * 4, start=3))  # 7 rows into capacity 5: rows 2..6 remain
    assert buffer.size == 5 and buffer.total_added == 7
    assert sorted(buffer.data["rewards"].tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    state = buffer.get_state()
    restored = TransitionBuffer(2, 1, capacity=5)
    restored.set_state(state)
    assert torch.equal(restored.data["rewards"][:5], buffer.data["rewards"][:5])
    assert restored.pointer == buffer.pointer


def test_safety_batches_draw_from_the_union_or_a_fixed_fraction():
    generator = torch.Generator().manual_seed(0)
    replay = SafeReplay(2, 1, capacity=100, safety_capacity=100, initial_capacity=10)
    replay.add_transitions(_rows([0] * 75 + [1] * 25))
    union = replay.sample_safety(4000, generator)
    assert abs(union.costs.mean().item() - 0.25) < 0.03  # uniform over D ∪ D_s
    replay.safety_fraction = 0.5
    half = replay.sample_safety(64, generator)
    assert half.costs.sum().item() == 32.0


def test_episode_costs_come_from_the_info_each_step_returns():
    # reset info has no cost; step 2 (of 3) violates and the episode terminates there
    episode = SingleAgentEpisode(
        observations=[np.zeros(2, np.float32), np.ones(2, np.float32), 2 * np.ones(2, np.float32)],
        actions=[np.zeros(1, np.float32), np.ones(1, np.float32)],
        rewards=[0.5, 0.25],
        infos=[{}, {"cost": 0.0}, {"cost": 1.0}],
        terminated=True,
        len_lookback_buffer=0,
    )
    transitions, initial = episodes_to_transitions([episode])
    np.testing.assert_array_equal(transitions["costs"], [0.0, 1.0])
    np.testing.assert_array_equal(transitions["dones"], [0.0, 1.0])
    np.testing.assert_array_equal(transitions["next_obs"][1], [2.0, 2.0])
    np.testing.assert_array_equal(initial, [[0.0, 0.0]])
    replay = SafeReplay(2, 1, capacity=10, safety_capacity=10, initial_capacity=10)
    replay.add_transitions(transitions)
    replay.add_initial_states(initial)
    assert (replay.main.size, replay.safety.size, replay.initial.size) == (1, 1, 1)
