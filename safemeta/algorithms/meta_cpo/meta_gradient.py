"""Meta-CPO's adaptation and meta-gradient (Eq. 9-11) as pure functions of flat parameters.

A task's K local CPO steps φᵏ⁺¹ = φᵏ + cₖ·x*(g(φᵏ), a(φᵏ), b(φᵏ)) are replayed on the batches the
adaptation sampled (batch k from π_{φᵏ}), with the line-search factors cₖ as constants. g, a
and b are functions of φᵏ through importance ratios against the batch's behaviour policy, so
back-propagating through the K closed-form steps (``create_graph=True``: Hessian-vector
products) gives the exact dF/dθ and dG/dθ of Eq. 11; ``first_order=True`` takes dφᴷ/dθ = I.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from safemeta.algorithms.meta_cpo.cpo_program import (
    euclidean_cpo_step,
    euclidean_trpo_step,
    metric_cpo_step,
    metric_trpo_step,
)
from safemeta.algorithms.meta_cpo.fisher_metric import FisherMetric, fisher_solve
from safemeta.algorithms.onpolicy.cpo import CPOCase

PolicyLogProb = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``(flat φ, obs [N, o], actions [N, a]) -> log π_φ(a|s) [N]``, differentiable in φ."""


@dataclass(frozen=True)
class TaskBatch:
    """One rollout of a task, as the CPO step reads it (per-step tensors are ``[N]``)."""

    obs: torch.Tensor
    actions: torch.Tensor
    behaviour_logp: torch.Tensor
    """log π(a|s) of the policy that sampled the batch (constants)."""
    advantages: torch.Tensor
    cost_advantages: torch.Tensor
    constraint_value: float
    """b = J_C − d of the behaviour policy, in the cost surrogate's units (÷ episode length)."""


def surrogates(
    logp: PolicyLogProb, phi: torch.Tensor, batch: TaskBatch
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reward and cost surrogates of π_φ on ``batch`` (Eq. 3's linearised objectives):

    .. math:: L_R(\\phi) = \\mathbb{E}\\Bigl[\\frac{\\pi_\\phi(a|s)}{\\beta(a|s)} A_R\\Bigr],\\qquad
              L_C(\\phi) = \\mathbb{E}\\Bigl[\\frac{\\pi_\\phi(a|s)}{\\beta(a|s)} A_C\\Bigr]
    """
    ratio = torch.exp(logp(phi, batch.obs, batch.actions) - batch.behaviour_logp)
    return (ratio * batch.advantages).mean(), (ratio * batch.cost_advantages).mean()


@dataclass(frozen=True)
class LocalStep:
    """A local CPO step's parts: g, a, b at φᵏ and the program's solution x* (Eq. 9)."""

    g: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    step: torch.Tensor
    case: CPOCase | None
    """The CPO case of the step (None: an unconstrained TRPO step)."""


def local_cpo_step(
    logp: PolicyLogProb,
    phi: torch.Tensor,
    batch: TaskBatch,
    delta: float,
    *,
    create_graph: bool,
    constrained: bool = True,
    fisher: FisherMetric | None = None,
) -> LocalStep:
    """Eq. 9 at φᵏ = ``phi``: g = ∇L_R, a = ∇L_C and b(φ) = b + L_C(φ) − E[A_C] (b's value at
    the behaviour policy, its gradient a), then x* of the CPO program (``constrained`` False: of
    the unconstrained one, Meta-TRPO) with the Euclidean ball, or with ``fisher`` the KL trust
    region ½xᵀH(φᵏ)x ≤ δ (``logp`` then needs ``.mean`` and ``.log_std_size``, as
    ``FlatGaussianPolicy``). ``create_graph`` keeps g, a, b (and H⁻¹g, H⁻¹a, so x*)
    differentiable in φᵏ."""
    reward, cost = surrogates(logp, phi, batch)
    (g,) = torch.autograd.grad(reward, phi, create_graph=create_graph, retain_graph=True)
    (a,) = torch.autograd.grad(cost, phi, create_graph=create_graph, retain_graph=create_graph)
    b = batch.constraint_value + cost - batch.cost_advantages.mean()
    if not create_graph:
        b = b.detach()
    if fisher is None:
        if not constrained:
            return LocalStep(g, a, b, euclidean_trpo_step(g, delta), None)
        step, case = euclidean_cpo_step(g, a, b, delta)
        return LocalStep(g, a, b, step, case)
    point = phi if create_graph else phi.detach()

    def solve(rhs: torch.Tensor) -> torch.Tensor:
        return fisher_solve(logp.mean, logp.log_std_size, point, batch.obs, rhs, fisher)

    v = solve(g)
    if not constrained:
        return LocalStep(g, a, b, metric_trpo_step(g, v, delta), None)
    step, case = metric_cpo_step(g, a, v, solve(a), b, delta)
    return LocalStep(g, a, b, step, case)


@dataclass(frozen=True)
class TaskReplay:
    """What one task's adaptation recorded, to redo its K local steps from any θ: batch k was
    sampled by π_{φᵏ} and its step scaled by the line-search factor cₖ; ``post_batch`` was sampled
    by π_{φᴷ}; ``delta`` is the local trust region (Euclidean, or KL with ``fisher``),
    ``constrained`` False for Meta-TRPO's steps."""

    batches: Sequence[TaskBatch]
    scales: Sequence[float]
    post_batch: TaskBatch
    delta: float
    constrained: bool = True
    fisher: FisherMetric | None = None


def adapt(
    logp: PolicyLogProb, theta: torch.Tensor, replay: TaskReplay, *, first_order: bool
) -> torch.Tensor:
    """φᴷ = Alg(θ) (Eq. 10), replayed: φ⁰ = θ, φᵏ⁺¹ = φᵏ + cₖ·x*(φᵏ) on batch k (Eq. 9).

    ``theta`` must require grad. Exact: the graph runs through every g, a, b; first-order: each
    x* is a constant, so dφᴷ/dθ = I.
    """
    phi = theta
    for batch, scale in zip(replay.batches, replay.scales, strict=True):
        local = local_cpo_step(
            logp,
            phi,
            batch,
            replay.delta,
            create_graph=not first_order,
            constrained=replay.constrained,
            fisher=replay.fisher,
        )
        phi = phi + scale * (local.step.detach() if first_order else local.step)
    return phi


def replayed_objectives(
    logp: PolicyLogProb, theta: torch.Tensor, replay: TaskReplay
) -> tuple[float, float]:
    """F_i(θ) and G_i(θ) (Eq. 10) estimated by replay: the surrogates of φᴷ(θ) on the
    post-adaptation batch, with φᴷ(θ) the K local steps redone on the stored batches from θ
    (importance ratios against their behaviour policies). Values only: the meta line search."""
    with torch.enable_grad():
        start = theta.detach().clone().requires_grad_(True)
        phi = adapt(logp, start, replay, first_order=True)
    with torch.no_grad():
        reward, cost = surrogates(logp, phi, replay.post_batch)
    return float(reward), float(cost)


@dataclass(frozen=True)
class MetaGradients:
    """One task's terms of Eq. 11: dF/dθ, dG/dθ (None for unconstrained steps: Meta-TRPO's meta
    step reads dF/dθ alone), and the adapted φᴷ (detached)."""

    reward: torch.Tensor
    cost: torch.Tensor | None
    adapted: torch.Tensor


def task_meta_gradients(
    logp: PolicyLogProb, theta: torch.Tensor, replay: TaskReplay, *, first_order: bool = False
) -> MetaGradients:
    """Eq. 11 for one task:

    .. math:: \\frac{dF}{d\\theta} = \\prod_{k=0}^{K-1}\\frac{d\\phi^{k+1}}{d\\phi^k}\\,
              g(\\phi^K),\\qquad
              \\frac{dG}{d\\theta} = \\prod_{k=0}^{K-1}\\frac{d\\phi^{k+1}}{d\\phi^k}\\,
              a(\\phi^K)

    as vector-Jacobian products: g(φᴷ), a(φᴷ) are the surrogate gradients on the post-adaptation
    batch (sampled by π_{φᴷ}), back-propagated through the K replayed steps.
    """
    theta = theta.detach().requires_grad_(True)
    phi = adapt(logp, theta, replay, first_order=first_order)
    reward, cost = surrogates(logp, phi, replay.post_batch)
    if not replay.constrained:  # one vector-Jacobian product, not two
        (d_reward,) = torch.autograd.grad(reward, theta)
        return MetaGradients(d_reward, None, phi.detach())
    (d_reward,) = torch.autograd.grad(reward, theta, retain_graph=True)
    (d_cost,) = torch.autograd.grad(cost, theta)
    return MetaGradients(d_reward, d_cost, phi.detach())


def diagonal_meta_gradients(
    logp: PolicyLogProb, theta: torch.Tensor, replay: TaskReplay
) -> MetaGradients:
    """The Meta-CPO authors' approximation of Eq. 11: each step's Jacobian dφᵏ⁺¹/dφᵏ replaced by
    its diagonal (one backward pass per parameter and step), the product taken elementwise.
    Kept to measure its cost and error against :func:`task_meta_gradients` (CPO steps only)."""
    phi = theta.detach()
    diagonal = torch.ones_like(phi)
    for batch, scale in zip(replay.batches, replay.scales, strict=True):
        phi = phi.clone().requires_grad_(True)
        local = local_cpo_step(logp, phi, batch, replay.delta, create_graph=True)
        following = phi + scale * local.step
        rows = [
            torch.autograd.grad(following[j], phi, retain_graph=True)[0][j]
            for j in range(phi.numel())
        ]
        diagonal = diagonal * torch.stack(rows)
        phi = following.detach()
    phi = phi.requires_grad_(True)
    reward, cost = surrogates(logp, phi, replay.post_batch)
    g, a = (torch.autograd.grad(x, phi, retain_graph=True)[0] for x in (reward, cost))
    return MetaGradients(diagonal * g, diagonal * a, phi.detach())
