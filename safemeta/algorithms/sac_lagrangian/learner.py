"""The RLlib Learner of the family: owns D, D_s, D_0 and runs ``SafeSACUpdate`` on them.

The Algorithm sends each round's new transitions (already routed per cost) and initial states with
``learner_group.update(batch=RoundData, num_updates=k)``; the Learner stores them in its
preallocated buffers and runs ``k`` updates sampling from those buffers, with no connector or
episode objects on the per-update path. Everything the update needs to continue identically (ν, ε,
log α and their optimizers, the sampling generator, the buffers) is part of the Learner's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.learner.torch.torch_learner import TorchLearner

from safemeta.algorithms.sac_lagrangian.buffers import SafeReplay
from safemeta.algorithms.sac_lagrangian.training_loop import run_updates
from safemeta.algorithms.sac_lagrangian.update import STAT_NAMES, SafeSACUpdate

EXTRA_STATE = "safe_sac"
OPTIMIZER_PARAMS = {"actor": "pi", "critic": "qr", "safety_critic": "qc"}
NUM_GRADIENT_UPDATES = "num_gradient_updates_lifetime"
GAUGES = ("nu", "epsilon", "alpha")  # reported as their value after the round's last update


@dataclass
class RoundData:
    """What the Algorithm sends the Learner each round."""

    transitions: dict[str, np.ndarray]  # obs, actions, rewards, costs, next_obs, dones
    initial_obs: np.ndarray  # [n, obs_dim]
    violation_rate: float  # share of the recent finished episodes with a violation


class SafeSACLearner(TorchLearner):
    """Learner for every method of the family (the config's switches pick the equations)."""

    def build(self) -> None:
        super().build()
        module = self.module[DEFAULT_MODULE_ID]
        obs_dim = int(np.prod(module.observation_space.shape))
        act_dim = int(np.prod(module.action_space.shape))
        cfg = self.config
        self.replay = SafeReplay(
            obs_dim,
            act_dim,
            capacity=cfg.replay_capacity,
            safety_capacity=cfg.safety_replay_capacity,
            initial_capacity=cfg.initial_state_capacity,
            safety_fraction=cfg.safety_batch_fraction,
        )
        generator = torch.Generator().manual_seed(int(cfg.seed or 0))
        optimizers = {
            name: self.get_optimizer(DEFAULT_MODULE_ID, name) for name in OPTIMIZER_PARAMS
        }
        self.core = SafeSACUpdate(
            module, cfg.update_settings(), optimizers=optimizers, generator=generator
        )

    def configure_optimizers_for_module(self, module_id: str, config: Any = None) -> None:
        module = self.module[module_id]
        optimizers = SafeSACUpdate.build_optimizers(module, self.config.update_settings())
        for name, optimizer in optimizers.items():
            params = list(getattr(module, OPTIMIZER_PARAMS[name]).parameters())
            self.register_optimizer(
                module_id=module_id, optimizer_name=name, optimizer=optimizer, params=params
            )

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        raise NotImplementedError("SafeSACLearner.update runs SafeSACUpdate directly")

    def update(self, batch: Any = None, *, training_data: Any = None, timesteps=None, **kwargs):
        """Store the round's data, then run ``num_updates`` updates on the buffers."""
        data: RoundData = training_data.batch if training_data is not None else batch
        num_updates = int(kwargs.get("num_updates", 0))
        self.before_gradient_based_update(timesteps=timesteps or {})
        self.replay.add_transitions(data.transitions)
        self.replay.add_initial_states(data.initial_obs)
        episodic = self.config.constraint_source == "episodes"
        stats = self.run_updates(num_updates, data.violation_rate if episodic else None)
        self._log(stats)
        return self.metrics.reduce()

    def run_updates(
        self, num_updates: int, violation_rate: float | None = None
    ) -> torch.Tensor | None:
        """``num_updates`` updates on the buffers (see ``training_loop.run_updates``)."""
        stats = run_updates(
            self.core,
            self.replay,
            num_updates,
            self.config.train_batch_size_per_learner,
            violation_rate,
        )
        if stats is not None:
            self._weights_seq_no += 1
        return stats

    def _log(self, stats: torch.Tensor | None) -> None:
        mid = DEFAULT_MODULE_ID
        if stats is not None:
            for name, value in zip(STAT_NAMES, stats.tolist(), strict=True):
                reduce = "item" if name in GAUGES else "mean"
                self.metrics.log_value(
                    (mid, name), value, reduce=reduce, window=1 if reduce == "mean" else None
                )
        else:  # before learning starts: report the scalars as they are
            for name, value in (
                ("nu", self.core.nu.value),
                ("epsilon", self.core.epsilon.value),
                ("alpha", self.core.log_alpha.value.exp()),
            ):
                self.metrics.log_value((mid, name), float(value), reduce="item")
        for name, value in (
            (NUM_GRADIENT_UPDATES, self.core.updates_done),
            ("buffer_size_main", self.replay.main.size),
            ("buffer_size_safety", self.replay.safety.size),
            ("buffer_size_initial", self.replay.initial.size),
        ):
            self.metrics.log_value((mid, name), value, reduce="item")

    def get_state(self, components=None, *, not_components=None, **kwargs) -> dict[str, Any]:
        state = super().get_state(components, not_components=not_components, **kwargs)
        if self._check_component(EXTRA_STATE, components, not_components):
            state[EXTRA_STATE] = {"core": self.core.get_state(), "replay": self.replay.get_state()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if EXTRA_STATE in state:
            self.core.set_state(state[EXTRA_STATE]["core"])
            self.replay.set_state(state[EXTRA_STATE]["replay"])
