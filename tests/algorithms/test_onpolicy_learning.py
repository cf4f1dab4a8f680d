"""CI-sized learning test: started infeasible on a risky reward slope, CPO recovers and keeps the
episodic cost at or below the limit while unconstrained TRPO runs far over it (fixed seeds).

The task (``TwoSlopesEnv``) has a safe peak whose cost is well under the limit. On a task whose
constrained optimum lies *on* the limit (``RiskyRewardEnv``), CPO's true expected cost sits at
d ± 0.1 (measured in closed form over 6 seeds), so "at or below d" could only pass there by luck.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from safemeta.algorithms.onpolicy.config import CPOConfig, TRPOConfig
from safemeta.algorithms.onpolicy.cpo import CPOCase
from tests.plugins.onpolicy_envs import TwoSlopesEnv

pytestmark = pytest.mark.usefixtures("local_ray")

COST_LIMIT = 2.0  # per 20-step episode; the initial policy (a ~ N(0, 0.3²)) pays ≈ 10
ITERATIONS = 10
LAST = 4


def _train(config_class: type) -> tuple[list[float], list[int], float]:
    torch.manual_seed(0)
    algo = (
        config_class()
        .environment(TwoSlopesEnv)
        .training(
            train_batch_size_per_learner=500,
            cost_limit=COST_LIMIT,
            max_kl=0.05,
            critic_epochs=3,
            init_log_std=-1.2,  # σ ≈ 0.3; at σ ≈ 0.6 the two slopes blur into one
        )
        .debugging(seed=0)
        .build_algo()
    )
    try:
        costs, cases = [], []
        for _ in range(ITERATIONS):
            result = algo.train()
            learner = result["learners"]["default_policy"]
            costs.append(learner["episode_cost_estimate"])  # this batch's 25 episodes
            cases.append(int(learner.get("cpo_case", -1)))
        return costs, cases, float(result["env_runners"]["episode_return_mean"])
    finally:
        algo.stop()


def test_cpo_keeps_cost_at_or_below_the_limit_while_trpo_does_not() -> None:
    cpo_costs, cpo_cases, cpo_return = _train(CPOConfig)
    trpo_costs, _, trpo_return = _train(TRPOConfig)
    # Same seeds, same first batch: both start far over the limit.
    assert cpo_costs[0] == trpo_costs[0] > 2 * COST_LIMIT
    # CPO recovers with the cost-only step of Eq. 4 while the trust region holds no feasible point.
    assert CPOCase.INFEASIBLE_RECOVERY in cpo_cases[:3], cpo_cases
    # ...then stays at or below d: on average and in every one of the last batches.
    assert np.mean(cpo_costs[-LAST:]) <= COST_LIMIT, cpo_costs
    assert max(cpo_costs[-LAST:]) <= COST_LIMIT, cpo_costs
    # ...by climbing the safe peak (10 per episode), not by parking at the limit (≈ 3) or at
    # a ≡ -1 (2 per episode). The return is RLlib's mean over the last 100 episodes.
    assert cpo_return > 5.0, cpo_return
    # TRPO ignores the cost: it climbs the risky slope and pays in (nearly) every step.
    assert min(trpo_costs[-LAST:]) > 4 * COST_LIMIT, trpo_costs
    assert trpo_return > cpo_return
