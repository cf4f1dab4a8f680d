"""C-MAML's outer-loop equations (appendix D), one small pure function each.

Shapes: ``task_gradients`` is ``[B, n]`` (one flat policy gradient per task); per-sample tensors
are ``[N]``. Expectations over trajectories are per-step means (the unit of the inner surrogate
gradients), so the η-term and the task terms of Eq. 30 share one scale.
"""

from __future__ import annotations

import torch


def first_order_meta_gradient(task_gradients: torch.Tensor) -> torch.Tensor:
    """Eq. 21 (FoMAML): the meta-policy gradient as the mean of the tasks' post-adaptation
    gradients, with :math:`\\partial U_p(\\pi)/\\partial\\pi \\approx I`:

    .. math:: \\nabla_\\pi\\mathcal{L}_{outer} \\approx \\mathbb{E}_{p}\\bigl[
              \\nabla_{\\pi_p}(R_p - \\lambda C_p)\\bigr]

    Each row is :math:`\\nabla_{\\pi_p}` of the surrogate of :math:`A_R - \\lambda A_C` at the
    adapted policy π_p, on its post-adaptation rollouts.
    """
    if task_gradients.ndim != 2 or task_gradients.shape[0] == 0:
        raise ValueError(f"task_gradients must be [B >= 1, n], got {tuple(task_gradients.shape)}")
    return task_gradients.mean(dim=0)


def meta_cost_critic_objective(logp: torch.Tensor, cost_values: torch.Tensor) -> torch.Tensor:
    """The η-term of Eq. 14 / 30, on the **meta** policy's own (pre-adaptation) samples:

    .. math:: \\mathbb{E}_{\\tau\\sim\\pi}\\Bigl[\\sum_t \\log\\pi(a_t|s_t)\\,V_C^\\pi(s_t)\\Bigr]

    ``logp`` carries the graph to θ; the meta cost critic's values are constants (Eq. 14
    differentiates π only). Its gradient raises the probability of actions in proportion to the
    cost-to-go of their state; Eq. 30 subtracts η times it.
    """
    return (logp * cost_values.detach()).mean()


def outer_direction(
    meta_gradient: torch.Tensor, cost_critic_gradient: torch.Tensor, eta: torch.Tensor | float
) -> torch.Tensor:
    """Eq. 30: the ascent direction of the meta-policy,
    :math:`\\mathbb{E}_p[\\nabla_{\\pi_p}(R_p - \\lambda C_p)] - \\eta\\,\\nabla_\\pi
    \\mathbb{E}_{\\tau\\sim\\pi}[\\sum_t \\log\\pi\\,V_C]`."""
    return meta_gradient - eta * cost_critic_gradient


def outer_lagrangian(
    task_returns: torch.Tensor,
    task_costs: torch.Tensor,
    initial_cost_values: torch.Tensor,
    lam: torch.Tensor | float,
    eta: torch.Tensor | float,
    cost_limit: float,
) -> torch.Tensor:
    """Eq. 13 as written, for the multipliers' gradients (and their tests):

    .. math:: \\mathcal{L}_{outer} = \\mathbb{E}_p\\bigl[R_p - \\lambda (C_p - d)\\bigr]
              - \\eta\\,(\\mathbb{E}_{s_0}[V_C^\\pi(s_0)] - d)

    ``task_returns`` / ``task_costs``: ``[B]`` post-adaptation episodic return and cost per task;
    ``initial_cost_values``: V_C at the meta policy's initial states.
    """
    reward_term = task_returns.mean() - lam * (task_costs.mean() - cost_limit)
    return reward_term - eta * (initial_cost_values.mean() - cost_limit)


def meta_multiplier_slack(task_costs: torch.Tensor, cost_limit: float) -> torch.Tensor:
    """Eq. 22: :math:`-\\nabla_\\lambda\\mathcal{L}_{outer} = \\mathbb{E}_p[C_p] - d`, the
    post-adaptation cost over the limit; λ ascends on it
    (``LagrangeMultiplier(rule="sgd").step(E_p[C_p], d)``)."""
    return task_costs.mean() - cost_limit


def safety_multiplier_slack(initial_cost_values: torch.Tensor, cost_limit: float) -> torch.Tensor:
    """Eq. 31: :math:`-\\nabla_\\eta\\mathcal{L}_{outer} = \\mathbb{E}_{s_0}[V_C^\\pi(s_0)] - d`,
    the meta cost critic's estimate of the meta policy's own cost over the limit (the paper
    prints this as :math:`\\nabla_\\eta`; η ascends on it, like λ)."""
    return initial_cost_values.mean() - cost_limit
