"""Per-step training targets of on-policy episodes: costs, GAE advantages and value targets for
reward and cost; as a learner ConnectorV2 piece and as a plain function (for env runners)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule

from safemeta.algorithms.onpolicy.advantages import gae
from safemeta.environments.costs import step_costs

# Batch columns added by this module (besides RLlib's obs / actions).
COSTS = "costs"
ADVANTAGES = "advantages"
VALUE_TARGETS = "value_targets"
COST_ADVANTAGES = "cost_advantages"
COST_VALUE_TARGETS = "cost_value_targets"
TARGET_COLUMNS = (COSTS, ADVANTAGES, VALUE_TARGETS, COST_ADVANTAGES, COST_VALUE_TARGETS)


@dataclass(frozen=True)
class Discounting:
    """γ and GAE λ for the reward and for the cost."""

    gamma: float = 0.99
    lam: float = 0.95
    cost_gamma: float = 0.99
    cost_lam: float = 0.95


def episode_targets(
    module: Any, episodes: Sequence[Any], discounting: Discounting
) -> list[dict[str, np.ndarray]]:
    """For each episode chunk: the per-step columns of ``TARGET_COLUMNS`` (float32 arrays).

    One critic forward over all observations (T + 1 per chunk). The bootstrap value after the
    last step is 0 if the episode terminated, else V(s_T) (truncation or a cut chunk).
    """
    if not episodes:
        return []
    observations = [np.asarray(ep.get_observations(), dtype=np.float32) for ep in episodes]
    with torch.no_grad():
        values, cost_values = module.values(torch.from_numpy(np.concatenate(observations)))
    values, cost_values = values.double(), cost_values.double()
    out, offset = [], 0
    for ep, obs in zip(episodes, observations, strict=True):
        n = len(obs)
        v, vc = values[offset : offset + n].clone(), cost_values[offset : offset + n].clone()
        offset += n
        if ep.is_terminated:
            v[-1], vc[-1] = 0.0, 0.0
        rewards = torch.tensor(np.asarray(ep.get_rewards(), dtype=np.float64))  # a copy
        costs = torch.as_tensor(step_costs(ep))
        adv, targets = gae(rewards, v, gamma=discounting.gamma, lam=discounting.lam)
        cadv, ctargets = gae(costs, vc, gamma=discounting.cost_gamma, lam=discounting.cost_lam)
        columns = (costs, adv, targets, cadv, ctargets)
        out.append(
            {k: c.numpy().astype(np.float32) for k, c in zip(TARGET_COLUMNS, columns, strict=True)}
        )
    return out


class AddOnPolicyTargets(ConnectorV2):
    """Learner connector piece (insert before ``BatchIndividualItems``): adds ``TARGET_COLUMNS``.

    Per-step costs come from ``infos[1:T+1]`` (``safemeta.environments.costs.step_costs``).
    """

    def __init__(self, *args: Any, discounting: Discounting = Discounting(), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.discounting = discounting

    def __call__(self, *, rl_module: Any, batch: dict, episodes: list, **kwargs: Any) -> Any:
        module = rl_module[DEFAULT_MODULE_ID] if isinstance(rl_module, MultiRLModule) else rl_module
        sa_episodes = list(
            self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
        )
        targets = episode_targets(module, sa_episodes, self.discounting)
        for ep, columns in zip(sa_episodes, targets, strict=True):
            for key, values in columns.items():
                self.add_n_batch_items(
                    batch, key, items_to_add=values, num_items=len(ep), single_agent_episode=ep
                )
        return batch
