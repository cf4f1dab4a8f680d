"""C-MAML's outer update on the meta policy π_θ (Eq. 30), from the pieces the tasks return.

The spec's decision: the averaged direction is taken as a trust-region step — the natural
direction :math:`x = H^{-1}\\hat g` (H: Fisher of π_θ on the meta policy's own pre-adaptation
states), scaled to :math:`\\tfrac12 x^T H x = \\delta_{meta}` and halved until the sampled KL is
within δ_meta. No surrogate-improvement test: the direction is a first-order estimate from other
policies' (the adapted π_p's) data, not the gradient of a surrogate on these samples.
"""

from __future__ import annotations

from typing import Any

import torch

from safemeta.algorithms.c_maml.objectives import meta_cost_critic_objective
from safemeta.algorithms.onpolicy.defaults import TrustRegionSettings
from safemeta.algorithms.onpolicy.distributions import diag_gaussian_logp
from safemeta.algorithms.onpolicy.trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    flat_grad,
    flat_params,
    natural_step,
    set_flat_params,
)
from safemeta.algorithms.onpolicy.updates import PolicyBatch, PolicyEvaluator


def states_batch(obs: torch.Tensor, actions: torch.Tensor) -> PolicyBatch:
    """A ``PolicyBatch`` of states and actions only (for the Fisher and the KL)."""
    zeros = torch.zeros(obs.shape[0], dtype=obs.dtype)
    return PolicyBatch(obs, actions, zeros, zeros, zeros, zeros)


def cost_critic_gradient(module: Any, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """:math:`\\nabla_\\theta\\,\\mathbb{E}[\\log\\pi_\\theta(a|s)\\,V_C(s)]` (Eq. 14's η-term,
    ``objectives.meta_cost_critic_objective``) on the meta policy's samples, flat over
    ``module.policy_parameters()``; V_C is the module's cost critic, held constant."""
    mean, log_std = module.distribution(obs)
    logp = diag_gaussian_logp(actions, mean, log_std)
    with torch.no_grad():
        _, cost_values = module.values(obs)
    return flat_grad(meta_cost_critic_objective(logp, cost_values), module.policy_parameters())


def meta_policy_step(
    module: Any,
    obs: torch.Tensor,
    actions: torch.Tensor,
    direction: torch.Tensor,
    settings: TrustRegionSettings,
) -> dict[str, float]:
    """Move θ along ``direction`` within KL δ_meta = ``settings.max_kl`` (see the module doc)."""
    evaluator = PolicyEvaluator(module, states_batch(obs, actions))
    theta0 = flat_params(evaluator.params)
    fvp = evaluator.fvp(settings.cg_damping)
    x = conjugate_gradient(fvp, direction, iterations=settings.cg_iterations)
    step = natural_step(x, fvp(x), settings.max_kl)

    def evaluate(s: torch.Tensor) -> float:
        return evaluator.at(theta0 + s)[0]

    result = backtracking_line_search(
        evaluate,
        lambda kl: bool(torch.isfinite(torch.tensor(kl))) and kl <= settings.max_kl,
        step,
        max_backtracks=settings.line_search_steps,
        decay=settings.line_search_decay,
    )
    set_flat_params(evaluator.params, theta0 + result.step_fraction * step)
    return {
        "meta_kl": result.stats if result.accepted else 0.0,
        "meta_step_fraction": result.step_fraction,
        "meta_direction_norm": float(direction.norm()),
        "meta_expected_improvement": float(direction.dot(result.step_fraction * step)),
    }
