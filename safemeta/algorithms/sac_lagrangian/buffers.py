"""Replay storage of Algorithm 1 (line 1): D (transitions), D_s (violations), D_0 (initial states).

Preallocated tensors with a ring pointer: adding a chunk is one slice copy per field, sampling is
one ``randint`` and one gather per field, with no per-step Python objects. Storage grows by
doubling up to ``capacity`` so that small runs do not reserve a million rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from safemeta.algorithms.sac_lagrangian.update import Batch

_INITIAL_ROWS = 4096
TRANSITION_FIELDS = ("obs", "actions", "rewards", "costs", "next_obs", "dones")


class _RingStorage:
    """Fixed-capacity FIFO of rows for named fields (each ``[capacity, *shape]``)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], capacity: int, dtype: torch.dtype):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.shapes, self.capacity, self.dtype = shapes, capacity, dtype
        self.data: dict[str, torch.Tensor] = {}
        self._allocate(min(capacity, _INITIAL_ROWS))
        self.size = 0
        self.pointer = 0  # next row to write
        self.total_added = 0

    def _allocate(self, rows: int) -> None:
        old = self.data
        self.data = {k: torch.zeros((rows, *s), dtype=self.dtype) for k, s in self.shapes.items()}
        for key, values in old.items():
            self.data[key][: values.shape[0]] = values

    @property
    def allocated(self) -> int:
        return next(iter(self.data.values())).shape[0]

    def add(self, rows: dict[str, Any]) -> None:
        n = len(next(iter(rows.values())))
        if n == 0:
            return
        if self.size + n > self.allocated and self.allocated < self.capacity:
            self._allocate(min(self.capacity, max(2 * self.allocated, self.size + n)))
        tensors = {k: torch.as_tensor(np.asarray(v), dtype=self.dtype) for k, v in rows.items()}
        if n > self.capacity:  # keep only the newest rows
            tensors = {k: v[-self.capacity :] for k, v in tensors.items()}
            n = self.capacity
        start = self.pointer
        first = min(n, self.capacity - start)
        for key, values in tensors.items():
            self.data[key][start : start + first] = values[:first].reshape(first, *self.shapes[key])
            if first < n:
                self.data[key][: n - first] = values[first:].reshape(n - first, *self.shapes[key])
        self.pointer = (start + n) % self.capacity
        self.size = min(self.capacity, self.size + n)
        self.total_added += n

    def gather(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.data.items()}

    def get_state(self) -> dict[str, Any]:
        return {
            "data": {k: v[: self.size].clone() for k, v in self.data.items()},
            "pointer": self.pointer,
            "total_added": self.total_added,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        size = next(iter(state["data"].values())).shape[0]
        self.data = {}
        self._allocate(max(min(self.capacity, _INITIAL_ROWS), size))
        for key, values in state["data"].items():
            self.data[key][:size] = torch.as_tensor(values, dtype=self.dtype)
        self.size, self.pointer = size, int(state["pointer"])
        self.total_added = int(state["total_added"])


class TransitionBuffer(_RingStorage):
    """Transitions ``(s, a, r, c, s', done)``; ``sample`` returns a ``Batch``."""

    def __init__(self, obs_dim: int, act_dim: int, capacity: int, dtype=torch.float32):
        shapes = {
            "obs": (obs_dim,),
            "actions": (act_dim,),
            "rewards": (),
            "costs": (),
            "next_obs": (obs_dim,),
            "dones": (),
        }
        super().__init__(shapes, capacity, dtype)

    def batch_at(self, index: torch.Tensor) -> Batch:
        return Batch(**self.gather(index))


class StateBuffer(_RingStorage):
    """Observations only (D_0, the initial states)."""

    def __init__(self, obs_dim: int, capacity: int, dtype=torch.float32):
        super().__init__({"obs": (obs_dim,)}, capacity, dtype)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            raise RuntimeError("the initial-state buffer D_0 is empty")
        return self.data["obs"][torch.randint(self.size, (n,), generator=generator)]


class SafeReplay:
    """D, D_s and D_0 together, with Algorithm 1's routing and the batches one update needs."""

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        capacity: int,
        safety_capacity: int,
        initial_capacity: int,
        safety_fraction: float | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.main = TransitionBuffer(obs_dim, act_dim, capacity, dtype)
        self.safety = TransitionBuffer(obs_dim, act_dim, safety_capacity, dtype)
        self.initial = StateBuffer(obs_dim, initial_capacity, dtype)
        self.safety_fraction = safety_fraction

    def add_transitions(self, transitions: dict[str, np.ndarray]) -> None:
        """Lines 8-11: rows with cost 1 go to D_s only, all others to D."""
        if not transitions:
            return
        violating = np.asarray(transitions["costs"]) >= 0.5
        self.safety.add({k: np.asarray(v)[violating] for k, v in transitions.items()})
        self.main.add({k: np.asarray(v)[~violating] for k, v in transitions.items()})

    def add_initial_states(self, obs: np.ndarray) -> None:
        """D_0 grows with every episode start (and the pre-fill resets before training)."""
        self.initial.add({"obs": obs})

    def ready(self, batch_size: int) -> bool:
        return self.main.size >= batch_size and self.initial.size > 0

    def sample_main(self, n: int, generator: torch.Generator) -> Batch:
        """A batch B (or B') uniformly from D."""
        return self.main.batch_at(torch.randint(self.main.size, (n,), generator=generator))

    def sample_observations(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Observations of a resampled batch B' from D (the ε meta-objective needs only s)."""
        return self.main.data["obs"][torch.randint(self.main.size, (n,), generator=generator)]

    def sample_all_observations(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Observations drawn uniformly from every transition seen (D ∪ D_s: the routing is
        disjoint, so each transition is in exactly one of them)."""
        n_main = self.main.size
        index = torch.randint(n_main + self.safety.size, (n,), generator=generator)
        from_safety = index >= n_main
        obs = self.main.data["obs"][index.clamp(max=max(n_main - 1, 0))]
        if from_safety.any():
            obs[from_safety] = self.safety.data["obs"][index[from_safety] - n_main]
        return obs

    def sample_safety(self, n: int, generator: torch.Generator) -> Batch:
        """A batch from D ∪ D_s: uniform over the union, or ``safety_fraction`` of it from D_s."""
        n_main, n_safe = self.main.size, self.safety.size
        if n_safe == 0:
            return self.sample_main(n, generator)
        if self.safety_fraction is None:
            index = torch.randint(n_main + n_safe, (n,), generator=generator)
            from_safety = index >= n_main
            main = self.main.gather(index[~from_safety])
            safe = self.safety.gather(index[from_safety] - n_main)
        else:
            k = round(self.safety_fraction * n)
            main = self.main.gather(torch.randint(n_main, (n - k,), generator=generator))
            safe = self.safety.gather(torch.randint(n_safe, (k,), generator=generator))
        return Batch(**{key: torch.cat([main[key], safe[key]]) for key in main})

    def get_state(self) -> dict[str, Any]:
        return {
            "main": self.main.get_state(),
            "safety": self.safety.get_state(),
            "initial": self.initial.get_state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.main.set_state(state["main"])
        self.safety.set_state(state["safety"])
        self.initial.set_state(state["initial"])


def env_to_unit_actions(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Env-scale actions in [low, high] mapped to the module's [-1, 1] box.

    The inverse of RLlib's ``unsquash_action`` (``low + (a + 1)(high - low) / 2``): RLlib's random
    warm-up steps store the env-scale ``action_space.sample()``, policy steps the module's action.
    """
    return (2.0 * (actions - low) / (high - low) - 1.0).astype(np.float32)


def episodes_to_transitions(episodes: list[Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Transitions of RLlib episode chunks, and the initial observations of those that start.

    The cost of step t is ``info["cost"]`` of the info *returned by* that step
    (``safemeta.environments.costs.step_costs``); ``dones`` marks a terminal s' only.
    """
    from safemeta.environments.costs import step_costs

    parts: dict[str, list[np.ndarray]] = {k: [] for k in TRANSITION_FIELDS}
    initial = []
    for episode in episodes:
        n = len(episode)
        if episode.t_started == 0:
            initial.append(np.asarray(episode.get_observations(0), dtype=np.float32).ravel())
        if n == 0:
            continue
        obs = np.asarray(episode.get_observations(slice(0, n + 1)), dtype=np.float32)
        obs = obs.reshape(n + 1, -1)
        dones = np.zeros(n, np.float32)
        dones[-1] = float(episode.is_terminated)
        parts["obs"].append(obs[:-1])
        parts["next_obs"].append(obs[1:])
        parts["actions"].append(
            np.asarray(episode.get_actions(slice(0, n)), np.float32).reshape(n, -1)
        )
        parts["rewards"].append(np.asarray(episode.get_rewards(slice(0, n)), np.float32))
        parts["costs"].append(step_costs(episode).astype(np.float32))
        parts["dones"].append(dones)
    if not parts["obs"]:
        return {}, np.asarray(initial, np.float32)
    return {k: np.concatenate(v) for k, v in parts.items()}, np.asarray(initial, np.float32)
