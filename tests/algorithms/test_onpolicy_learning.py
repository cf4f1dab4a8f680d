"""CI-sized learning test: on a tiny risky-reward task, CPO holds the cost at the limit while
unconstrained TRPO runs into it (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from safemeta.algorithms.onpolicy.config import CPOConfig, TRPOConfig
from tests.plugins.onpolicy_envs import RiskyRewardEnv

pytestmark = pytest.mark.usefixtures("local_ray")

COST_LIMIT = 4.0  # per 20-step episode; a random initial policy pays ≈ 6.6
ITERATIONS = 8


def _train(config_class: type) -> tuple[list[float], float]:
    torch.manual_seed(0)
    algo = (
        config_class()
        .environment(RiskyRewardEnv)
        .training(
            train_batch_size_per_learner=500, cost_limit=COST_LIMIT, max_kl=0.03, critic_epochs=3
        )
        .debugging(seed=0)
        .build_algo()
    )
    try:
        costs = []
        for _ in range(ITERATIONS):
            result = algo.train()
            costs.append(result["learners"]["default_policy"]["episode_cost_estimate"])
        return costs, float(result["env_runners"]["episode_return_mean"])
    finally:
        algo.stop()


def test_cpo_keeps_cost_at_the_limit_while_trpo_does_not() -> None:
    cpo_costs, cpo_return = _train(CPOConfig)
    trpo_costs, trpo_return = _train(TRPOConfig)
    assert cpo_costs[0] > COST_LIMIT and trpo_costs[0] > COST_LIMIT  # both start infeasible
    # CPO: back under the limit and staying there (± sampling noise of 25 episodes).
    assert np.mean(cpo_costs[-4:]) <= COST_LIMIT + 0.75, cpo_costs
    # ...without collapsing to the safe but useless a ≡ -1 (return -20 per episode).
    assert cpo_return > -5.0
    # TRPO ignores the cost: it climbs towards 20 per episode while its return grows.
    assert np.mean(trpo_costs[-4:]) > 2.5 * COST_LIMIT, trpo_costs
    assert trpo_return > cpo_return
