"""The differentiable inner step (Eq. 12, Algorithm 1 lines 15-16) and the meta-gradients of ε, α.

The actor's gradient of the Lagrangian (Eq. 11) is linear in ν' and α:

.. math:: G(\\nu', \\alpha) = \\nabla_\\phi\\mathbb{E}_B[\\min_i Q_{r_i}(s,a_\\phi)]
          - \\nu'\\,\\nabla_\\phi\\mathbb{E}_B[\\max_i Q_{c_i}(s,a_\\phi)]
          - \\alpha\\,\\nabla_\\phi\\mathbb{E}_B[\\log\\pi_\\phi(a_\\phi|s)]
          = V_r - \\nu' V_c - \\alpha V_h

(the ``ν'ε`` term does not depend on φ). So instead of differentiating a ``create_graph=True``
backward pass, ``ActorGradient`` computes the three vectors ``V_r, V_c, V_h`` by first-order
backward passes and forms ``G`` as a differentiable expression of ``(ν', α)``. The RMSProp inner
step ``φ' = φ + β_φ G / (sqrt(v') + δ)`` is then an elementwise function of ``(ν', α)``, and
``autograd.grad(J(φ'), ε)`` or ``(J(φ'), log α)`` is the exact meta-gradient of Eq. 8-9 with the
usual one-step truncation ``dφ/dη = 0``. ``torch.func.functional_call`` evaluates the actor at φ'.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from safemeta.algorithms.common.functional_optim import rmsprop_step
from safemeta.algorithms.sac_lagrangian.module import (
    critic_values,
    deterministic_action,
    squashed_gaussian,
)

Tensors = list[torch.Tensor]


@dataclass
class PolicySample:
    """The policy's reparameterised actions on a batch, and the critics at those actions.

    ``action``/``logp`` carry the graph to the actor's parameters; the critics were evaluated at a
    detached copy ``action_leaf`` so their input-gradients can be taken separately.
    """

    action: torch.Tensor
    logp: torch.Tensor
    action_leaf: torch.Tensor
    q_r: torch.Tensor  # [2, B] reward twins
    q_c: torch.Tensor  # [2, B] safety twins

    @property
    def q_r_min(self) -> torch.Tensor:
        return self.q_r.min(dim=0).values

    @property
    def q_c_max(self) -> torch.Tensor:
        return self.q_c.max(dim=0).values


def sample_policy(
    pi: nn.Module, qr: nn.Module, qc: nn.Module, obs: torch.Tensor, noise: torch.Tensor
) -> PolicySample:
    """Actions ``a ~ π_φ(s)`` (reparameterised with ``noise``) and both twin critics at them."""
    action, logp = squashed_gaussian(pi(obs), noise)
    leaf = action.detach().requires_grad_(True)
    return PolicySample(
        action, logp, leaf, critic_values(qr, obs, leaf), critic_values(qc, obs, leaf)
    )


def _actor_vjp(sample: PolicySample, params: Tensors, d_action: torch.Tensor) -> Tensors:
    return list(torch.autograd.grad(sample.action, params, d_action, retain_graph=True))


@dataclass
class ActorGradient:
    """``G = V_q - ν' V_c - α V_h``: the ascent direction of the actor's objective.

    ``V_c`` is ``None`` when ν' enters only as a constant (then ``V_q`` already includes it).
    """

    v_q: Tensors
    v_c: Tensors | None
    v_h: Tensors

    def __call__(self, nu: torch.Tensor, alpha: torch.Tensor) -> Tensors:
        if self.v_c is None:
            return [vq - alpha * vh for vq, vh in zip(self.v_q, self.v_h, strict=True)]
        return [
            vq - nu * vc - alpha * vh
            for vq, vc, vh in zip(self.v_q, self.v_c, self.v_h, strict=True)
        ]


def lagrangian_actor_gradient(sample: PolicySample, params: Tensors) -> ActorGradient:
    """∇_φ of Eq. 11 as ``V_r - ν' V_c - α V_h`` (ν' and α left symbolic for meta-gradients)."""
    d_r = torch.autograd.grad(sample.q_r_min.mean(), sample.action_leaf)[0]
    d_c = torch.autograd.grad(sample.q_c_max.mean(), sample.action_leaf)[0]
    v_r = _actor_vjp(sample, params, d_r)
    v_c = _actor_vjp(sample, params, d_c)
    v_h = list(torch.autograd.grad(sample.logp.mean(), params))
    return ActorGradient(v_r, v_c, v_h)


def penalised_actor_gradient(
    sample: PolicySample, params: Tensors, critic_term: torch.Tensor
) -> ActorGradient:
    """∇_φ of ``E[critic_term] - α E[log π]`` with ν' a constant inside ``critic_term``.

    ``critic_term``: per-sample values computed from ``sample.q_r``/``sample.q_c`` (e.g. the
    Lagrangian's ``min Q_r - ν' max Q_c`` or RCPO's ``min_i (Q_{r_i} - ν' Q_{c_i})``).
    """
    d_q = torch.autograd.grad(critic_term.mean(), sample.action_leaf)[0]
    v_q = _actor_vjp(sample, params, d_q)
    v_h = list(torch.autograd.grad(sample.logp.mean(), params))
    return ActorGradient(v_q, None, v_h)


def inner_actor_step(
    params: Tensors, ascent: Tensors, square_avgs: Tensors, *, lr: float
) -> tuple[Tensors, Tensors]:
    """Eq. 12 / line 16 for φ: one RMSProp *ascent* step ``φ' = φ + β_φ G/(sqrt(v')+δ)``.

    Differentiable in ``ascent`` (hence in ν' and α). Returns ``(φ', v')``.
    """
    new_params, new_avgs = [], []
    for param, grad, square_avg in zip(params, ascent, square_avgs, strict=True):
        # RMSProp descends the loss -L, whose gradient is -G: same v', step along +G.
        new_param, new_avg = rmsprop_step(param.detach(), -grad, square_avg, lr=lr)
        new_params.append(new_param)
        new_avgs.append(new_avg)
    return new_params, new_avgs


def critics_at_updated_policy(
    pi: nn.Module,
    names: list[str],
    new_params: Tensors,
    qr: nn.Module,
    qc: nn.Module,
    obs: torch.Tensor,
    noise: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Twin critics ``([2, B], [2, B])`` at ``a' ~ π_φ'(s)``, or at ``μ_φ'(s)`` if no noise."""
    pi_out = functional_call(pi, dict(zip(names, new_params, strict=True)), (obs,))
    action = deterministic_action(pi_out) if noise is None else squashed_gaussian(pi_out, noise)[0]
    return critic_values(qr, obs, action), critic_values(qc, obs, action)


def meta_gradient(objective: torch.Tensor, meta_parameter: torch.Tensor) -> torch.Tensor:
    """``d objective / d meta_parameter`` through the inner step (Eq. 8-9)."""
    (grad,) = torch.autograd.grad(objective, meta_parameter, retain_graph=True, allow_unused=True)
    return torch.zeros_like(meta_parameter) if grad is None else grad
