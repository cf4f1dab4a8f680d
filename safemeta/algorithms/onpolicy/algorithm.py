"""The on-policy Algorithm: sample a batch, estimate J_C, one Learner update, sync weights."""

from __future__ import annotations

import time
from typing import Any

from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

from safemeta.algorithms.common.episode_costs import CheckpointsCostTracker, EpisodeCostTracker

ONPOLICY_RESULTS = "onpolicy"
"""Result key of this family's own per-iteration numbers (wall times of the last iteration,
unsmoothed, and the J_C estimate's support)."""


class OnPolicyAlgorithm(CheckpointsCostTracker, Algorithm):
    """One iteration = ``train_batch_size_per_learner`` env steps + one update."""

    def setup(self, config: Any) -> None:
        super().setup(config)
        self.cost_tracker = EpisodeCostTracker(window=self.config.cost_window_episodes)

    def training_step(self) -> None:
        start = time.perf_counter()
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                max_env_steps=self.config.total_train_batch_size,
                sample_timeout_s=self.config.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
            )
            if not episodes:
                return
            self.metrics.aggregate(runner_results, key=ENV_RUNNER_RESULTS)
        estimate = self.cost_tracker.update(episodes)
        sampled = time.perf_counter()
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self.learner_group.update(
                episodes=episodes,
                timesteps={
                    NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                        (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                    )
                },
                num_epochs=1,
                minibatch_size=None,
                cost_estimate=estimate,
            )
            self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        updated = time.perf_counter()
        with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
            self.env_runner_group.sync_weights(
                from_worker_or_learner_group=self.learner_group,
                policies=set(learner_results[0].keys()) - {ALL_MODULES},
                inference_only=True,
            )

        for key, value in (
            ("sampling_s", sampled - start),
            ("update_s", updated - sampled),
            ("finished_episodes", float(estimate.finished_episodes)),
            ("cost_window_episodes", float(estimate.window_episodes)),
        ):
            self.metrics.log_value((ONPOLICY_RESULTS, key), value, window=1)


class TRPO(OnPolicyAlgorithm):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.onpolicy.config import TRPOConfig

        return TRPOConfig()


class TRPOLag(OnPolicyAlgorithm):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.onpolicy.config import TRPOLagConfig

        return TRPOLagConfig()


class CPO(OnPolicyAlgorithm):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.onpolicy.config import CPOConfig

        return CPOConfig()


class PPOLag(OnPolicyAlgorithm):
    @classmethod
    def get_default_config(cls) -> Any:
        from safemeta.algorithms.onpolicy.config import PPOLagConfig

        return PPOLagConfig()
