"""Differentiable optimizer steps: the parameter update as a pure function of (θ, g, state).

Meta-gradients need ``θ' = θ + f(g(η))`` to stay on the autograd graph, so the step cannot be an
in-place ``torch.optim`` call. ``rmsprop_step`` reproduces ``torch.optim.RMSprop`` (no momentum, not
centered) exactly, and :func:`rmsprop_state` reads the square averages out of such an optimizer so
that the functional step and the committed step share one state.
"""

from __future__ import annotations

import torch

# sqrt is not differentiable at 0: an element whose gradient is exactly 0 would give 0 * inf = nan.
# Clamping v at this floor changes sqrt(v) + eps by less than 1e-15 (eps = 1e-8 by default).
_SQRT_FLOOR = 1e-30


def rmsprop_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    maximize: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One RMSProp step, differentiable in ``grad`` (and in ``param``).

    .. math:: v' = \\alpha v + (1-\\alpha) g^2,\\qquad
              \\theta' = \\theta \\mp \\mathrm{lr}\\, g / (\\sqrt{v'} + \\epsilon)

    (``-`` descends, ``+`` with ``maximize=True`` ascends). Returns ``(θ', v')``.
    """
    new_square_avg = alpha * square_avg + (1.0 - alpha) * grad * grad
    step = lr * grad / (new_square_avg.clamp_min(_SQRT_FLOOR).sqrt() + eps)
    return (param + step if maximize else param - step), new_square_avg


def rmsprop_state(optimizer: torch.optim.RMSprop, param: torch.Tensor) -> torch.Tensor:
    """The square average of ``param`` in ``optimizer`` (zeros before its first step)."""
    state = optimizer.state.get(param)
    if not state or "square_avg" not in state:
        return torch.zeros_like(param)
    return state["square_avg"]


@torch.no_grad()
def commit_rmsprop(
    optimizer: torch.optim.RMSprop,
    params: list[torch.Tensor],
    new_params: list[torch.Tensor],
    new_square_avgs: list[torch.Tensor],
) -> None:
    """Write a functional step back: parameters in place, and the optimizer's state (step += 1)."""
    for param, value, square_avg in zip(params, new_params, new_square_avgs, strict=True):
        param.copy_(value)
        state = optimizer.state[param]
        if "square_avg" not in state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["square_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        state["square_avg"].copy_(square_avg)
        state["step"] += 1
