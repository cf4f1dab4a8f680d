"""The update loop shared by the RLlib Learner and the bare-torch benchmark."""

from __future__ import annotations

import torch

from safemeta.algorithms.sac_lagrangian.buffers import SafeReplay
from safemeta.algorithms.sac_lagrangian.update import STAT_NAMES, SafeSACUpdate


def run_updates(
    core: SafeSACUpdate,
    replay: SafeReplay,
    num_updates: int,
    batch_size: int,
    violation_rate: float | None = None,
) -> torch.Tensor | None:
    """``num_updates`` updates, each on fresh batches: B from D, the safety batch from D ∪ D_s,
    B' (observations) resampled from D, initial states from D_0, and the states of ν's J_c
    uniformly from D ∪ D_s (``violation_rate``, if given, is ν's J_c instead). Returns the mean
    statistics (``STAT_NAMES`` order), or None when nothing ran (D or D_0 not ready)."""
    if num_updates <= 0 or not replay.ready(batch_size):
        return None
    generator = core.generator
    total = torch.zeros(len(STAT_NAMES), dtype=torch.float64)
    for _ in range(num_updates):
        batch = replay.sample_main(batch_size, generator)
        safety_batch = replay.sample_safety(batch_size, generator)
        meta_obs = replay.sample_observations(batch_size, generator)
        initial_obs = replay.initial.sample(batch_size, generator)
        constraint_obs = replay.sample_all_observations(batch_size, generator)
        total += core.step(
            batch, safety_batch, meta_obs, initial_obs, constraint_obs, violation_rate
        )
    return total / num_updates
