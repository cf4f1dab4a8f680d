"""What C-MAML runs on an env runner for one task p (Alg. 1, lines 7-14).

π_p, V_{C,p} and λ_p start as copies of π_θ, V_C and λ; V_{R,p} is re-initialised (line 8). K
inner steps (``OnPolicyLocalUpdate``), then post-adaptation rollouts and the task's first-order
meta-gradient (Eq. 21) at π_p. The first rollout is π_θ's own: it is returned whole, as the meta
policy's pre-adaptation data for V_C and the η-term (Eq. 30); of the rest only statistics travel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from safemeta.algorithms.meta.protocol import RolloutStats, rollout_stats
from safemeta.algorithms.meta.task_runners import LocalAdaptation, TaskContext
from safemeta.algorithms.onpolicy.local import OnPolicyLocalUpdate, surrogate_gradient


@dataclass
class TaskOutcome:
    """One task's contribution to the outer update."""

    index: int
    cost_limit: float
    pre_episodes: list[Any]
    """π_θ's rollout on the task (the first inner step's data)."""
    gradient: torch.Tensor
    """Eq. 21's per-task term: ∇ of the surrogate of A_R − λA_C at π_p, post-adaptation data."""
    steps: list[RolloutStats]
    """Statistics of the rollouts of φ^0 = θ, φ^1, …, φ^K (the last: post-adaptation)."""
    metrics: list[dict[str, float]] = field(default_factory=list)
    runner_index: int = 0


def _reset_reward_critic(module: Any, seed: int) -> None:
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for layer in module.vf:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
    finally:
        torch.random.set_rng_state(generator_state)


@dataclass
class CMAMLTaskProgram:
    """The task program (pickled to the runners): adapt, then the meta-gradient term."""

    update: OnPolicyLocalUpdate
    num_steps: int
    lagrange_multiplier: float
    """The meta λ: λ_p's start, and the λ of Eq. 21's gradient."""
    num_timesteps: int | None = None
    num_episodes: int | None = None
    fresh_reward_critic: bool = True
    seed: int = 0

    def __call__(self, ctx: TaskContext) -> TaskOutcome:
        if self.fresh_reward_critic:
            _reset_reward_critic(ctx.module, self.seed + ctx.index)
        lam = self.lagrange_multiplier
        discounting = self.update.discounting

        def gradient(module: Any, episodes: list[Any], task: Any) -> torch.Tensor:
            return surrogate_gradient(module, episodes, discounting, lam)

        result = LocalAdaptation(
            update=self.update,
            num_steps=self.num_steps,
            num_episodes=self.num_episodes,
            num_timesteps=self.num_timesteps,
            post_adaptation=True,
            gradient=gradient,
            lagrange_multiplier=lam if self.update.variant == "trpo_lag" else None,
        )(ctx)
        rollouts = [*result.episodes, result.post_episodes]
        return TaskOutcome(
            index=ctx.index,
            cost_limit=float(getattr(ctx.task, "cost_limit", self.update.cost_limit)),
            pre_episodes=result.episodes[0],
            gradient=result.gradient,
            steps=[rollout_stats(r) for r in rollouts],
            metrics=result.metrics,
            runner_index=result.runner_index,
        )
