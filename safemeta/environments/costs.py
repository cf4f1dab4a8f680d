"""The cost protocol of safemeta environments, and reading it back from RLlib episodes.

Every environment returns its step cost (0/1) in ``info["cost"]``. In an RLlib episode, the cost of
step t (the transition s_t, a_t -> s_{t+1}) is in the info returned by that step, i.e.
``episode.get_infos(t + 1)``; index 0 holds the reset info. Summing ``get_infos()[0:T]`` (RLlib's
own info slicing) would count the reset info and drop the last step: an off-by-one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COST_KEY = "cost"


def step_costs(episode: Any) -> np.ndarray:
    """Per-step costs of one episode chunk: ``info["cost"]`` of infos 1..len (no reset info)."""
    infos = episode.get_infos(slice(1, len(episode) + 1))
    return np.asarray([float(info.get(COST_KEY, 0.0)) for info in infos], dtype=np.float64)
