"""What every meta-algorithm's RLlib Algorithm shares: the stream of train tasks, the meta
module on the learner, per-iteration seeds, the runners' episode metrics, the ``meta/`` result
section and a checkpointed meta state (task stream, iteration, generator, plus a subclass's own).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS

from safemeta.algorithms.meta.protocol import nanmean
from safemeta.algorithms.meta.task_runners import broadcast_weights
from safemeta.environments.task_distributions import make_task_distribution

META_RESULTS = "meta"
"""Result key of the meta-iteration's own numbers (means over its tasks)."""
META_STATE = "meta_state"


class MetaAlgorithm(Algorithm):
    """Base of the meta-algorithms (configs with ``MetaTrainingMixin``); a subclass implements
    ``training_step`` and adds its own checkpointed state with ``extra_meta_state`` /
    ``set_extra_meta_state``."""

    def setup(self, config: Any) -> None:
        super().setup(config)
        cfg = self.config
        self.distribution = make_task_distribution(
            cfg.task_distribution, **dict(cfg.task_distribution_kwargs)
        )
        self.task_rng = np.random.default_rng([int(cfg.seed or 0), 20])
        self.meta_iteration = 0
        self._generator = torch.Generator().manual_seed(int(cfg.seed or 0))

    @property
    def meta_module(self) -> Any:
        """The meta-parameters' module (π_θ and the critics) on the local learner."""
        return self.learner_group._learner.module[DEFAULT_MODULE_ID]

    def meta_weights(self) -> dict[str, torch.Tensor]:
        return {
            k: torch.as_tensor(v).detach().clone() for k, v in self.meta_module.get_state().items()
        }

    def sample_train_tasks(self) -> list[Any]:
        """This meta-iteration's tasks from the distribution's train split."""
        return self.distribution.sample_tasks(
            self.config.tasks_per_iteration, split="train", rng=self.task_rng
        )

    def _iteration_seed(self) -> int:
        """Seed of this meta-iteration's task programs (distinct per trial seed and iteration)."""
        return int(self.config.seed or 0) * 100_003 + 1_000 * self.meta_iteration

    def _collect_runner_metrics(self) -> None:
        """The runners' episode metrics of every rollout of the iteration (the platform's
        return/cost window and env-step count)."""
        group = self.env_runner_group
        if group.healthy_env_runner_ids():
            results = group.foreach_env_runner(lambda er: er.get_metrics(), local_env_runner=False)
        else:
            results = [group.local_env_runner.get_metrics()]
        self.metrics.aggregate(results, key=ENV_RUNNER_RESULTS)

    def iteration_metrics(
        self, outcomes: list[Any], start: float, adapted: float
    ) -> dict[str, float]:
        """Task count, timings (``start`` → ``adapted`` → now, perf-counter seconds) and the
        adaptation curve of this iteration's tasks (each outcome's ``steps``: φ⁰ … φᴷ)."""
        metrics = {
            "tasks": float(len(outcomes)),
            "adaptation_s": adapted - start,
            "outer_update_s": time.perf_counter() - adapted,
        }
        for k in range(self.config.inner_steps + 1):
            metrics[f"return_step_{k}"] = nanmean([o.steps[k].episode_return for o in outcomes])
            metrics[f"cost_step_{k}"] = nanmean([o.steps[k].episode_cost for o in outcomes])
        return metrics

    def log_meta_results(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.metrics.log_value((META_RESULTS, key), value, window=1)

    def extra_meta_state(self) -> dict[str, Any]:
        return {}

    def set_extra_meta_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_meta_state`` returned."""

    def get_state(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state = super().get_state(*args, **kwargs)
        if hasattr(self, "task_rng"):
            state[META_STATE] = {
                "task_rng": self.task_rng.bit_generator.state,
                "meta_iteration": self.meta_iteration,
                "generator": self._generator.get_state(),
                **self.extra_meta_state(),
            }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        meta = state.get(META_STATE)
        if meta is not None:
            self.task_rng.bit_generator.state = meta["task_rng"]
            self.meta_iteration = int(meta["meta_iteration"])
            self._generator.set_state(meta["generator"])
            self.set_extra_meta_state(meta)
            broadcast_weights(self.env_runner_group, self.meta_weights())
