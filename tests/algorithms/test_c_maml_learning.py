"""C-MAML's point, on a tiny task family with fixed seeds: fine-tuned from its initialisation, the
cost stays within d; fine-tuned from MAML-TRPO's (same meta-training budget, no constraint
terms), it exceeds d.

Tasks (``tests.plugins.onpolicy_envs.SignDistribution``): reward direction·a with a latent
direction ±1, cost 1 while |a| > 0.5, d = 2 per 10-step episode. Unconstrained adaptation runs
to |a| → 1; each initialisation is fine-tuned with the same TRPO-Lag on the same 6 test tasks.
"""

from __future__ import annotations

import numpy as np

from safemeta.algorithms.c_maml.config import CMAMLConfig, MAMLTRPOConfig
from safemeta.algorithms.meta.protocol import FineTuneProgram, meta_test
from safemeta.algorithms.onpolicy.config import TRPOLagConfig
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate
from tests.plugins.onpolicy_envs import SignDistribution, TaskSignEnv

D = 2.0
META_ITERATIONS = 10


def _config(config_class, **training):
    return (
        config_class()
        .environment(TaskSignEnv)
        .env_runners(num_env_runners=2, num_cpus_per_env_runner=0.5)
        .resources(num_cpus_for_main_process=0.5)
        .training(
            task_distribution="test_signs",
            tasks_per_iteration=4,
            inner_steps=2,
            inner_rollout_steps=100,
            policy_hiddens=[16],
            critic_hiddens=[16],
            critic_epochs=3,
            max_kl=0.05,
            meta_max_kl=0.05,
            **training,
        )
        .debugging(seed=0)
    )


def _fine_tuned_costs(config) -> np.ndarray:
    tasks = SignDistribution().sample_tasks(6, split="test", seed=5)
    fine_tune = TRPOLagConfig().training(cost_limit=D, max_kl=0.05, critic_epochs=3)
    program = FineTuneProgram(
        OnPolicyLocalUpdate.from_config(fine_tune, "trpo_lag"), 3, num_timesteps=100
    )
    algo = config.build_algo()
    try:
        for _ in range(META_ITERATIONS):
            algo.train()
        curve = meta_test(algo.env_runner_group, algo.meta_weights(), tasks, program, seed=7)
    finally:
        algo.stop()
    return np.asarray(curve.episode_cost)


def test_c_maml_fine_tunes_within_the_limit_where_maml_trpo_exceeds_it(local_ray):
    c_maml = _fine_tuned_costs(
        _config(
            CMAMLConfig, meta_lagrangian_init=1.0, meta_lagrangian_lr=0.5, safety_multiplier_lr=0.5
        )
    )
    maml = _fine_tuned_costs(_config(MAMLTRPOConfig))
    print(f"fine-tuned cost per step: C-MAML {c_maml.round(2)}, MAML-TRPO {maml.round(2)}")
    assert (c_maml <= D).all(), c_maml
    assert maml[-1] > D, maml
    assert c_maml.mean() < maml.mean()
