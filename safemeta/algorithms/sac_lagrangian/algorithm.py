"""RLlib Algorithms of the family: sample with EnvRunners, route to D/D_s/D_0, update k times.

One ``training_step`` = one round: every EnvRunner samples ``rollout_fragment_length`` steps; the
round's transitions (per-step costs read with the correct info offset) and new initial states go
to the Learner, which stores them and runs as many updates as keep ``updates_per_env_step``
(after the random warm-up); then the actor weights are synced to the EnvRunners.
"""

from __future__ import annotations

import numpy as np
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.env.env_context import EnvContext
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

from safemeta.algorithms.common.episode_costs import CheckpointsCostTracker, EpisodeCostTracker
from safemeta.algorithms.sac_lagrangian import config as configs
from safemeta.algorithms.sac_lagrangian.buffers import env_to_unit_actions, episodes_to_transitions
from safemeta.algorithms.sac_lagrangian.learner import RoundData


def prefill_initial_states(env_creator, env_config: dict, resets: int, seed: int) -> np.ndarray:
    """Algorithm 1 line 2: ``resets`` initial observations s0 ~ ρ0 from a fresh env."""
    if resets <= 0:
        return np.zeros((0, 0), np.float32)
    env = env_creator(EnvContext(env_config, worker_index=0))
    try:
        rows = [np.asarray(env.reset(seed=seed + i)[0], np.float32).ravel() for i in range(resets)]
    finally:
        env.close()
    return np.stack(rows)


def seed_warmup_actions(env_runner, seed: int) -> None:
    """Seed the action space RLlib's random warm-up steps sample from (one stream per runner)."""
    if env_runner.env is not None:  # the local runner has no env when remote runners exist
        env_runner.env.action_space.seed(seed + 10_007 * env_runner.worker_index)


class SafeSAC(CheckpointsCostTracker, Algorithm):
    """The family's Algorithm (the config's switches select the method)."""

    @classmethod
    def get_default_config(cls) -> configs.SafeSACConfig:
        return configs.SafeSACConfig(cls)

    def setup(self, config: configs.SafeSACConfig) -> None:
        super().setup(config)
        self._prefill = prefill_initial_states(
            self.env_creator,
            dict(self.config.env_config),
            self.config.initial_state_prefill,
            seed=int(self.config.seed or 0) * 100_003,
        )
        seed = int(self.config.seed or 0)
        self.env_runner_group.foreach_env_runner(
            lambda env_runner: seed_warmup_actions(env_runner, seed)
        )
        space = self.learner_group._learner.module[DEFAULT_MODULE_ID].action_space
        self._rescale_warmup = bool(self.config.normalize_actions)
        self._action_bounds = (space.low.ravel(), space.high.ravel())
        self.cost_tracker = EpisodeCostTracker(window=self.config.cost_window_episodes)

    def _lifetime_env_steps(self) -> int:
        return int(
            self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        )

    def _updates_due(self, lifetime_steps: int) -> int:
        """Updates that keep ``updates_per_env_step`` since the warm-up ended."""
        cfg = self.config
        after_warmup = lifetime_steps - cfg.num_steps_sampled_before_learning_starts
        if after_warmup < 0:
            return 0
        learner = self.learner_group._learner
        return max(0, int(after_warmup * cfg.updates_per_env_step) - learner.core.updates_done)

    def training_step(self) -> None:
        cfg = self.config
        warmup = self._lifetime_env_steps() < cfg.num_steps_sampled_before_learning_starts
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group,
                random_actions=warmup,
                concat=True,
                sample_timeout_s=cfg.sample_timeout_s,
                _uses_new_env_runners=True,
                _return_metrics=True,
            )
        self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        transitions, initial_obs = episodes_to_transitions(episodes)
        violation_rate = self.cost_tracker.update(episodes).violation_rate
        if warmup and self._rescale_warmup and transitions:
            transitions["actions"] = env_to_unit_actions(
                transitions["actions"], *self._action_bounds
            )
        learner = self.learner_group._learner
        if self._prefill.size and learner.replay.initial.total_added == 0:
            initial_obs = np.concatenate(
                [self._prefill, initial_obs.reshape(-1, self._prefill.shape[1])]
            )
        lifetime = self._lifetime_env_steps()
        num_updates = self._updates_due(lifetime)
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            results = self.learner_group.update(
                batch=RoundData(transitions, initial_obs, violation_rate),
                timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: lifetime},
                num_updates=num_updates,
            )
        self.metrics.aggregate(results, key=LEARNER_RESULTS)
        if num_updates > 0:
            with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
                self.env_runner_group.sync_weights(
                    from_worker_or_learner_group=self.learner_group, inference_only=True
                )


class MetaSACLag(SafeSAC):
    """Meta SAC-Lag (Algorithm 1 of Honari et al.)."""

    @classmethod
    def get_default_config(cls) -> configs.MetaSACLagConfig:
        return configs.MetaSACLagConfig(cls)


class MetaSACLagNL(SafeSAC):
    """Meta SAC-Lag with J_nl (Eq. 16)."""

    @classmethod
    def get_default_config(cls) -> configs.MetaSACLagNLConfig:
        return configs.MetaSACLagNLConfig(cls)


class SACv2Lag(SafeSAC):
    """SACv2-Lag baseline."""

    @classmethod
    def get_default_config(cls) -> configs.SACv2LagConfig:
        return configs.SACv2LagConfig(cls)


class RCPOSACv2(SafeSAC):
    """RCPO-SACv2 baseline."""

    @classmethod
    def get_default_config(cls) -> configs.RCPOSACv2Config:
        return configs.RCPOSACv2Config(cls)


class RCPOMetaSAC(SafeSAC):
    """RCPO-MetaSAC baseline."""

    @classmethod
    def get_default_config(cls) -> configs.RCPOMetaSACConfig:
        return configs.RCPOMetaSACConfig(cls)
