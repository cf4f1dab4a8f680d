"""The equations of Meta SAC-Lag (Honari et al.) and of its baselines, one small function each.

Shapes: per-sample tensors are ``[B]``; twin-critic outputs are ``[2, B]``. Objectives that the
paper *maximises* are returned as objectives (the caller ascends them or negates them into losses);
critic losses are returned as losses. ``done`` is 1 where s' is terminal (value 0 after it).
"""

from __future__ import annotations

import torch


def reward_critic_target(
    reward: torch.Tensor,
    done: torch.Tensor,
    target_q_next: torch.Tensor,
    logp_next: torch.Tensor,
    alpha: torch.Tensor | float,
    gamma: float,
) -> torch.Tensor:
    """Eq. 5, with the twin minimum (Section IV-D):

    .. math:: Q_r^{tar} = r + \\gamma_r (1 - d)\\,(\\min_i Q_{\\bar\\omega_{r_i}}(s', a')
              - \\alpha \\log \\pi_\\phi(a'|s')),\\quad a' \\sim \\pi_\\phi(s')

    ``target_q_next``: ``[2, B]`` target-critic values at ``(s', a')``.
    """
    soft_value = target_q_next.min(dim=0).values - alpha * logp_next
    return reward + gamma * (1.0 - done) * soft_value


def safety_critic_target(
    cost: torch.Tensor,
    done: torch.Tensor,
    target_qc_next: torch.Tensor,
    gamma_c: float,
) -> torch.Tensor:
    """Eq. 2, with the twin *maximum* (Section IV-D):

    .. math:: Q_c^{tar} = c + \\gamma_c (1 - c)(1 - d) \\max_i Q_{\\bar\\omega_{c_i}}(s', a'),
              \\quad a' \\sim \\pi_\\phi(s')

    A violation (c = 1) ends the cost-to-go at 1; ``d`` additionally zeroes the future after a
    terminal state reached without violation.
    """
    return cost + gamma_c * (1.0 - cost) * (1.0 - done) * target_qc_next.max(dim=0).values


def critic_loss(q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 4 for each twin, summed over the twins:

    .. math:: \\mathcal{J}^{Q} = \\sum_i \\mathbb{E}_B\\bigl[\\tfrac12 (Q_{\\omega_i}(s,a)
              - Q^{tar}(s,a))^2\\bigr]

    ``q``: ``[2, B]``; ``target``: ``[B]`` (treated as a constant).
    """
    return 0.5 * (q - target.detach().unsqueeze(0)).pow(2).mean(dim=1).sum()


def lagrangian_objective(
    q_r: torch.Tensor,
    q_c: torch.Tensor,
    logp: torch.Tensor,
    alpha: torch.Tensor | float,
    nu: torch.Tensor | float,
    epsilon: torch.Tensor | float,
) -> torch.Tensor:
    """Eq. 11, the SAC-Lagrangian (maximised by the policy, minimised by ν):

    .. math:: \\mathcal{L} = \\mathbb{E}_B[Q_r(s,a) - \\alpha\\log\\pi_\\phi(a|s)
              - \\nu(Q_c(s,a) - \\varepsilon)],\\quad a \\sim \\pi_\\phi(s)
    """
    return (q_r - alpha * logp - nu * (q_c - epsilon)).mean()


def q_hat(q_r: torch.Tensor, q_c: torch.Tensor, nu: torch.Tensor | float) -> torch.Tensor:
    """RCPO's penalised critic (Section V-A), per twin, then the twin minimum (as SAC does for
    the critic its policy maximises):

    .. math:: \\hat Q(s,a) = \\min_i \\bigl(Q_{r_i}(s,a) - \\nu Q_{c_i}(s,a)\\bigr)

    ``q_r``, ``q_c``: ``[2, B]`` twins; returns ``[B]``.
    """
    return (q_r - nu * q_c).min(dim=0).values


def rcpo_objective(
    q_hat_values: torch.Tensor, logp: torch.Tensor, alpha: torch.Tensor | float
) -> torch.Tensor:
    """RCPO's policy objective: the soft value of Q̂,
    :math:`\\mathbb{E}_B[\\hat Q(s,a) - \\alpha\\log\\pi_\\phi(a|s)],\\ a \\sim \\pi_\\phi(s)`.
    """
    return (q_hat_values - alpha * logp).mean()


def nu_gradient(mean_q_c: torch.Tensor, epsilon: torch.Tensor | float) -> torch.Tensor:
    """∂/∂ν of Eq. 11: :math:`\\nabla_\\nu \\mathcal{L} = -(\\mathbb{E}_B[Q_c] - \\varepsilon)`."""
    return -(mean_q_c - epsilon)


def epsilon_objective(
    q_r: torch.Tensor, q_c: torch.Tensor, nu_detached: torch.Tensor | float
) -> torch.Tensor:
    """Eq. 14, the threshold's meta-objective (ascended in ε), on a resampled batch B':

    .. math:: \\mathcal{J}_\\varepsilon(\\pi_{\\phi'}) = \\mathbb{E}_{B'}[\\nu'_{copy} Q_c(s,a')
              - Q_r(s,a')],\\quad a' \\sim \\pi_{\\phi'}(s)
    """
    if isinstance(nu_detached, torch.Tensor):
        nu_detached = nu_detached.detach()
    return (nu_detached * q_c - q_r).mean()


def epsilon_objective_nl(q_r: torch.Tensor, q_c: torch.Tensor) -> torch.Tensor:
    """Eq. 16, the nonlinear threshold meta-objective :math:`\\mathcal{J}^{nl}_\\varepsilon`:

    .. math:: \\mathbb{E}_{B'}\\begin{cases} Q_r Q_c & Q_r < 0 \\\\ Q_r (1 - Q_c) & \\text{else}
              \\end{cases},\\quad a' \\sim \\pi_{\\phi'}(s)
    """
    return torch.where(q_r < 0, q_r * q_c, q_r * (1.0 - q_c)).mean()


def alpha_objective(
    q_r: torch.Tensor,
    q_c: torch.Tensor,
    nu: torch.Tensor | float,
    epsilon: torch.Tensor | float,
) -> torch.Tensor:
    """Eq. 15, the temperature's meta-objective (ascended in α) on initial states s0 ∈ D_0:

    .. math:: \\mathcal{J}_\\alpha = \\mathbb{E}_{s_0 \\sim D_0}[Q_r(s_0, a) - \\nu'(Q_c(s_0, a)
              - \\varepsilon')],\\quad a = \\mu_{\\phi'}(s_0)\\ \\text{(deterministic action)}
    """
    return (q_r - nu * (q_c - epsilon)).mean()


def q_hat_objective(q_hat_values: torch.Tensor) -> torch.Tensor:
    """Meta-SAC's temperature meta-objective with RCPO's critic (RCPO-MetaSAC, Section V-A), on
    initial states with the deterministic action of the updated policy:

    .. math:: \\mathbb{E}_{s_0 \\sim D_0}[\\hat Q(s_0, \\mu_{\\phi'}(s_0))]
    """
    return q_hat_values.mean()


def target_entropy_alpha_loss(
    log_alpha: torch.Tensor, logp: torch.Tensor, target_entropy: float
) -> torch.Tensor:
    """SACv2's temperature loss (Haarnoja et al. 2019), used by SACv2-Lag and RCPO-SACv2:

    .. math:: \\mathcal{L}(\\alpha) = -\\log\\alpha\\;\\mathbb{E}_B[\\log\\pi(a|s) + \\mathcal{H}],
              \\quad \\mathcal{H} = -\\dim(\\mathcal{A})

    α grows while the entropy is below the target. (The paper prints the loss with α in place of
    log α and the opposite sign; this is the form of the cited SACv2.)
    """
    return -(log_alpha * (logp.detach() + target_entropy)).mean()
