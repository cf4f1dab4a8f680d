"""One on-policy update of an ``OnPolicyModule`` from a flat batch: the TRPO, CPO and PPO policy
steps and the critic regression. Used by the Learner and, for meta-RL, on env runners.

Each function mutates the module's parameters in place and returns float metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from safemeta.algorithms.onpolicy.cpo import (
    CostGradientAverage,
    CPOCase,
    cpo_accept,
    cpo_step,
    cross_fitted_products,
)
from safemeta.algorithms.onpolicy.defaults import TrustRegionSettings
from safemeta.algorithms.onpolicy.distributions import (
    diag_gaussian_entropy,
    diag_gaussian_kl,
    diag_gaussian_logp,
)
from safemeta.algorithms.onpolicy.lagrangian import clipped_surrogate
from safemeta.algorithms.onpolicy.targets import (
    ADVANTAGES,
    COST_ADVANTAGES,
    COST_VALUE_TARGETS,
    VALUE_TARGETS,
)
from safemeta.algorithms.onpolicy.trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_grad,
    flat_params,
    natural_step,
    set_flat_params,
    trpo_accept,
)

OBS = "obs"
ACTIONS = "actions"
ALL_ROWS = slice(None)


@dataclass(frozen=True)
class PolicyBatch:
    """The flat on-policy batch (one row per step)."""

    obs: torch.Tensor
    actions: torch.Tensor
    advantages: torch.Tensor
    cost_advantages: torch.Tensor
    value_targets: torch.Tensor
    cost_value_targets: torch.Tensor

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> PolicyBatch:
        """From a column mapping (RLlib's train batch, or numpy arrays)."""

        def get(key: str) -> torch.Tensor:
            return torch.as_tensor(
                np.asarray(columns[key]) if isinstance(columns[key], list) else columns[key]
            ).float()

        return cls(
            get(OBS),
            get(ACTIONS),
            get(ADVANTAGES),
            get(COST_ADVANTAGES),
            get(VALUE_TARGETS),
            get(COST_VALUE_TARGETS),
        )

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def standardize(x: torch.Tensor) -> torch.Tensor:
    """:math:`(x - \\bar x) / (\\mathrm{std}(x) + 10^{-8})`."""
    return (x - x.mean()) / (x.std(unbiased=False) + 1e-8)


def center(x: torch.Tensor) -> torch.Tensor:
    """:math:`x - \\bar x` (cost advantages: their scale is tied to b = J_C − d)."""
    return x - x.mean()


class PolicyEvaluator:
    """The old policy on a batch, and surrogates / KL of the current parameters against it."""

    def __init__(self, module: Any, batch: PolicyBatch) -> None:
        self.module, self.batch = module, batch
        self.params = module.policy_parameters()
        with torch.no_grad():
            # Copies: a state-independent log σ comes back as ``log_std.expand_as(mean)``, a
            # view of the parameter, which would follow every in-place step and drop the σ
            # change from the KL.
            mean, log_std = module.distribution(batch.obs)
            self.old_mean, self.old_log_std = mean.clone(), log_std.clone()
            self.old_logp = diag_gaussian_logp(batch.actions, self.old_mean, self.old_log_std)

    def ratio(self, rows: slice = ALL_ROWS) -> torch.Tensor:
        mean, log_std = self.module.distribution(self.batch.obs[rows])
        logp = diag_gaussian_logp(self.batch.actions[rows], mean, log_std)
        return torch.exp(logp - self.old_logp[rows])

    def surrogate(self, advantages: torch.Tensor, rows: slice = ALL_ROWS) -> torch.Tensor:
        """:math:`L(\\theta) = \\mathbb{E}[\\pi_\\theta(a|s)/\\pi_{old}(a|s)\\, A]` over
        ``rows`` (``advantages`` holds every row)."""
        return (self.ratio(rows) * advantages[rows]).mean()

    def kl(self) -> torch.Tensor:
        """:math:`\\bar D_{KL}(\\pi_{old} \\| \\pi_\\theta)` over the batch states."""
        mean, log_std = self.module.distribution(self.batch.obs)
        return diag_gaussian_kl(self.old_mean, self.old_log_std, mean, log_std).mean()

    def fvp(self, damping: float):
        return lambda v: fisher_vector_product(self.kl, self.params, v, damping=damping)

    def at(
        self, theta: torch.Tensor, *advantages: torch.Tensor, rows: slice = ALL_ROWS
    ) -> tuple[float, ...]:
        """Set θ; return the KL over the whole batch and each advantage's surrogate over
        ``rows``, without gradients."""
        set_flat_params(self.params, theta)
        with torch.no_grad():
            ratio = self.ratio(rows)
            return (float(self.kl()), *(float((ratio * a[rows]).mean()) for a in advantages))


def _entropy_metrics(module: Any) -> dict[str, float]:
    log_std = module.log_std.detach()
    return {
        "policy_entropy": float(diag_gaussian_entropy(log_std)),
        "log_std_mean": float(log_std.mean()),
    }


def trpo_update(
    module: Any, batch: PolicyBatch, advantages: torch.Tensor, settings: TrustRegionSettings
) -> dict[str, float]:
    """TRPO: natural-gradient step x = H⁻¹g by CG, scaled to KL = δ, then backtracking.

    .. math:: \\theta' = \\theta + \\alpha^j \\sqrt{2\\delta / x^T H x}\\; x,\\qquad
              \\text{first } j \\text{ with } \\bar D_{KL} \\le \\delta,\\ \\Delta L > 0
    """
    ev = PolicyEvaluator(module, batch)
    theta0 = flat_params(ev.params)
    surrogate0 = float(advantages.mean())
    g = flat_grad(ev.surrogate(advantages), ev.params)
    fvp = ev.fvp(settings.cg_damping)
    x = conjugate_gradient(fvp, g, iterations=settings.cg_iterations)
    step = natural_step(x, fvp(x), settings.max_kl)

    def evaluate(s: torch.Tensor) -> dict[str, float]:
        kl, surrogate = ev.at(theta0 + s, advantages)
        return {"kl": kl, "improvement": surrogate - surrogate0}

    result = backtracking_line_search(
        evaluate,
        lambda st: trpo_accept(kl=st["kl"], improvement=st["improvement"], max_kl=settings.max_kl),
        step,
        max_backtracks=settings.line_search_steps,
        decay=settings.line_search_decay,
    )
    set_flat_params(ev.params, theta0 + result.step_fraction * step)
    return {
        "kl": result.stats["kl"] if result.accepted else 0.0,
        "surrogate_improvement": result.stats["improvement"] if result.accepted else 0.0,
        "expected_improvement": float(g.dot(step)),
        "line_search_accepted": float(result.accepted),
        "line_search_backtracks": float(result.backtracks),
        "step_fraction": result.step_fraction,
        "gradient_norm": float(g.norm()),
        **_entropy_metrics(module),
    }


def split_halves(n: int) -> tuple[slice, slice]:
    """Rows [0, n/2) (fit) and [n/2, n) (held out). The batch is in sampling order, episode by
    episode, so contiguous halves keep each episode's correlated noise mostly on one side."""
    if n < 2:
        raise ValueError(f"CPO needs at least 2 rows to cross-fit, got a batch of {n}")
    return slice(0, n // 2), slice(n // 2, n)


def _in_sample_s(a_f, a_e, w_f, w_e, fit: slice, held: slice, n: int) -> float:
    """aᵀH⁻¹a of the whole batch (a = row-weighted mean of the halves' gradients): the
    in-sample s the dual would see without cross-fitting (logged for comparison)."""
    n_f, n_e = fit.stop - fit.start, held.stop - held.start
    a, w = (n_f * a_f + n_e * a_e) / n, (n_f * w_f + n_e * w_e) / n
    return float(a.dot(w))


def cpo_update(
    module: Any,
    batch: PolicyBatch,
    advantages: torch.Tensor,
    cost_advantages: torch.Tensor,
    constraint_value: float,
    settings: TrustRegionSettings,
    cost_gradients: CostGradientAverage | None = None,
) -> dict[str, float]:
    """CPO (Eq. 3-4) with cross-fitted dual quantities and a held-out line search.

    The batch is split into a fit half F and a held-out half E; H (Fisher) is the whole batch's.
    v_F = H⁻¹g_F, w_F = H⁻¹a_F and w_E = H⁻¹a_E by CG; the case and the multipliers come from
    ``cpo_dual`` on the cross-fitted q, r, s (``cross_fitted_products``: unbiased for the true
    ḡ, ā, where in-batch aᵀH⁻¹a carries a noise term ∝ 1/N that makes an unreachable cut look
    feasible). The step direction (v_F − νw_F, or −w_F in recovery) is built from F alone and
    scaled to the trust-region boundary with the real H (over the limit with s ≤ 0, the recovery
    direction −w_F rather than no step); the line search takes the KL on the
    whole batch and scores the reward and cost surrogates on E, which the step was not fitted
    on. ``constraint_value`` is b in the units of :math:`L_C = \\mathbb{E}[\\rho A_C]`, i.e.
    (J_C − d) / L for episodic J_C and episode length L. ``cost_gradients`` (optional) averages
    a_F and a_E over recent updates (``CostGradientAverage``).
    """
    fit, held = split_halves(len(batch))
    ev = PolicyEvaluator(module, batch)
    theta0 = flat_params(ev.params)
    adv_e, cadv_e = advantages[held], cost_advantages[held]
    surrogate0, cost_surrogate0 = float(adv_e.mean()), float(cadv_e.mean())
    g_f, g_e = (flat_grad(ev.surrogate(advantages, rows), ev.params) for rows in (fit, held))
    a_f, a_e = (flat_grad(ev.surrogate(cost_advantages, rows), ev.params) for rows in (fit, held))
    if cost_gradients is not None:  # averaged over recent updates, halves kept apart
        a_f, a_e = cost_gradients(a_f, a_e)
    fvp = ev.fvp(settings.cg_damping)
    v_f, w_f, w_e = (
        conjugate_gradient(fvp, x, iterations=settings.cg_iterations) for x in (g_f, a_f, a_e)
    )
    q, r, s = cross_fitted_products(g_f, g_e, a_f, a_e, v_f, w_f, w_e)
    b = torch.tensor(constraint_value, dtype=g_f.dtype)
    # Over the limit with a cross-fitted s ≤ 0, cpo_step's direction is −w_F: the fit half's
    # estimate of a lowers the cost in expectation, and the held-out check rejects it if not.
    direction, dual = cpo_step(v_f, w_f, q, r, s, b, settings.max_kl)
    nonzero = float(direction.norm()) > 0.0
    step = natural_step(direction, fvp(direction), settings.max_kl) if nonzero else direction

    def evaluate(st: torch.Tensor) -> dict[str, float]:
        kl, surrogate, cost_surrogate = ev.at(theta0 + st, advantages, cost_advantages, rows=held)
        return {
            "kl": kl,
            "improvement": surrogate - surrogate0,
            "cost_change": cost_surrogate - cost_surrogate0,
        }

    def accept(st: dict[str, float]) -> bool:
        return cpo_accept(
            kl=st["kl"],
            max_kl=settings.max_kl,
            reward_improvement=st["improvement"],
            cost_change=st["cost_change"],
            b=constraint_value,
            case=dual.case,
        )

    result_accepted, fraction, stats, backtracks = False, 0.0, None, 0
    if nonzero:
        result = backtracking_line_search(
            evaluate,
            accept,
            step,
            max_backtracks=settings.line_search_steps,
            decay=settings.line_search_decay,
        )
        result_accepted, fraction = result.accepted, result.step_fraction
        stats, backtracks = result.stats, result.backtracks
    set_flat_params(ev.params, theta0 + fraction * step)
    accepted_stats = (
        stats if result_accepted else {"kl": 0.0, "improvement": 0.0, "cost_change": 0.0}
    )
    return {
        "kl": accepted_stats["kl"],
        "surrogate_improvement": accepted_stats["improvement"],
        "cost_surrogate_change": accepted_stats["cost_change"],
        "line_search_accepted": float(result_accepted),
        "line_search_backtracks": float(backtracks),
        "step_fraction": fraction,
        "cpo_case": float(int(dual.case)),
        "cpo_infeasible": float(dual.case is CPOCase.INFEASIBLE_RECOVERY),
        "cpo_nu": float(dual.nu),
        "cpo_lambda": float(dual.lam),
        "cpo_b": constraint_value,
        "cpo_q": float(q),
        "cpo_r": float(r),
        "cpo_s": float(s),
        "cpo_s_in_sample": _in_sample_s(a_f, a_e, w_f, w_e, fit, held, len(batch)),
        **_entropy_metrics(module),
    }


def _minibatches(n: int, size: int | None, generator: torch.Generator) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=generator)
    size = n if not size or size >= n else size
    return [perm[i : i + size] for i in range(0, n, size)]


def ppo_update(
    module: Any,
    batch: PolicyBatch,
    advantages: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    clip: float,
    epochs: int,
    minibatch_size: int | None,
    target_kl: float | None,
    generator: torch.Generator,
) -> dict[str, float]:
    """First-order PPO-clip epochs on ``advantages``; stops early once KL > 1.5·target_kl."""
    ev = PolicyEvaluator(module, batch)
    epochs_done, loss = 0, torch.zeros(())
    for _ in range(epochs):
        for idx in _minibatches(len(batch), minibatch_size, generator):
            mean, log_std = module.distribution(batch.obs[idx])
            ratio = torch.exp(
                diag_gaussian_logp(batch.actions[idx], mean, log_std) - ev.old_logp[idx]
            )
            loss = -clipped_surrogate(ratio, advantages[idx], clip)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs_done += 1
        with torch.no_grad():
            kl = float(ev.kl())
        if target_kl is not None and kl > 1.5 * target_kl:
            break
    with torch.no_grad():
        kl = float(ev.kl())
    return {
        "kl": kl,
        "policy_loss": loss.item(),
        "policy_epochs": float(epochs_done),
        **_entropy_metrics(module),
    }


def critic_update(
    module: Any,
    batch: PolicyBatch,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    minibatch_size: int | None,
    generator: torch.Generator,
) -> dict[str, float]:
    """Regress V_R and V_C on their λ-return targets: :math:`\\min (V - \\hat V)^2` (Adam)."""
    value_loss = cost_value_loss = torch.zeros(())
    for _ in range(epochs):
        for idx in _minibatches(len(batch), minibatch_size, generator):
            v, vc = module.values(batch.obs[idx])
            value_loss = (v - batch.value_targets[idx]).pow(2).mean()
            cost_value_loss = (vc - batch.cost_value_targets[idx]).pow(2).mean()
            optimizer.zero_grad()
            (value_loss + cost_value_loss).backward()
            optimizer.step()
    return {"value_loss": value_loss.item(), "cost_value_loss": cost_value_loss.item()}
