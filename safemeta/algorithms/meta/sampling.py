"""Sampling N whole episodes on one env runner without the episode-count bias.

With E > 1 vectorised sub-envs, ``EnvRunner.sample(num_episodes=N)`` returns the N episodes that
*finish first* and drops the rest: short episodes are over-represented (with E = 8 a violation-
terminated task showed mean length 9.6 and violation rate 1.00, against 92.7 and 0.57 with E = 1).

Unbiased rule used here: an episode is *admitted* if fewer than N episodes had finished before the
sampling round in which it started. Whether an episode is admitted then depends only on episodes
that finished before it began, never on its own length or cost; admitted episodes are run to
completion. At least N are admitted (the first N to finish always are); exactly N are returned by
taking whole earlier rounds first and a seeded random subset of the boundary round.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _merge(chunks: list[Any]) -> Any:
    episode = chunks[0]
    for chunk in chunks[1:]:
        episode.concat_episode(chunk)
    return episode


def sample_episodes(
    runner: Any,
    num_episodes: int,
    *,
    round_steps: int | None = None,
    seed: int = 0,
    max_rounds: int = 100_000,
) -> list[Any]:
    """``num_episodes`` complete episodes from ``runner`` (fresh resets), unbiased for any E.

    ``round_steps`` is the env steps per ``sample`` call (default 25 vector steps).
    """
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    num_envs = int(getattr(runner, "num_envs", 1) or 1)
    if num_envs == 1:  # one env: episodes come out in start order, no selection effect
        return runner.sample(num_episodes=num_episodes, force_reset=True, explore=True)
    round_steps = round_steps or 25 * num_envs
    chunks: dict[str, list[Any]] = {}
    start_round: dict[str, int] = {}
    admitted: set[str] = set()
    finished: set[str] = set()
    for round_index in range(max_rounds):
        finished_before_round = len(finished)
        for chunk in runner.sample(
            num_timesteps=round_steps, force_reset=round_index == 0, explore=True
        ):
            if chunk.id_ not in start_round:
                start_round[chunk.id_] = round_index
                if finished_before_round < num_episodes:
                    admitted.add(chunk.id_)
            chunks.setdefault(chunk.id_, []).append(chunk)
            if chunk.is_done:
                finished.add(chunk.id_)
        if len(finished) >= num_episodes and admitted <= finished:
            break
    else:
        raise RuntimeError(f"no {num_episodes} complete episodes after {max_rounds} rounds")
    order = sorted(admitted, key=lambda i: start_round[i])
    boundary = start_round[order[num_episodes - 1]]
    chosen = [i for i in order if start_round[i] < boundary]
    pool = sorted(i for i in order if start_round[i] == boundary)
    rng = np.random.default_rng(seed)
    chosen += list(rng.choice(pool, size=num_episodes - len(chosen), replace=False))
    return [_merge(chunks[i]) for i in chosen]
