"""Learned scalars with their own optimizer and a projection: ν, ε, log α.

A ``ProjectedScalar`` is one 0-dim ``nn.Parameter`` plus a ``torch.optim`` optimizer and an interval
it is clamped into after every step. Its state (value and optimizer state) is a plain dict, so that
learners can checkpoint it next to the RLModule.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from safemeta.algorithms.common.functional_optim import (
    commit_rmsprop,
    rmsprop_state,
    rmsprop_step,
)

OptimizerName = Literal["rmsprop", "adam"]


def make_optimizer(name: OptimizerName, params: Any, lr: float) -> torch.optim.Optimizer:
    """``torch.optim.RMSprop`` (torch defaults: alpha 0.99, eps 1e-8) or ``torch.optim.Adam``."""
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; use 'rmsprop' or 'adam'")


class ProjectedScalar:
    """A learned scalar in ``[low, high]`` with its own optimizer.

    ``descend(grad)`` / ``ascend(grad)`` take one optimizer step with a given gradient, then clamp.
    """

    def __init__(
        self,
        initial: float,
        *,
        lr: float,
        optimizer: OptimizerName = "rmsprop",
        low: float = -float("inf"),
        high: float = float("inf"),
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not low <= initial <= high:
            raise ValueError(f"initial value {initial} is outside [{low}, {high}]")
        self.param = nn.Parameter(torch.tensor(float(initial), dtype=dtype))
        self.low, self.high = low, high
        self.optimizer = make_optimizer(optimizer, [self.param], lr)

    @property
    def value(self) -> torch.Tensor:
        """The current value (a detached 0-dim tensor)."""
        return self.param.detach()

    def _step(self, grad: torch.Tensor, sign: float) -> None:
        self.param.grad = (sign * grad).detach().to(self.param.dtype).reshape(())
        self.optimizer.step()
        self.param.grad = None
        with torch.no_grad():
            self.param.clamp_(self.low, self.high)

    def descend(self, grad: torch.Tensor) -> None:
        """One optimizer step along ``-grad``, then the projection."""
        self._step(grad, 1.0)

    def ascend(self, grad: torch.Tensor) -> None:
        """One optimizer step along ``+grad``, then the projection."""
        self._step(grad, -1.0)

    def get_state(self) -> dict[str, Any]:
        return {"value": self.param.detach().clone(), "optimizer": self.optimizer.state_dict()}

    def set_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.param.copy_(torch.as_tensor(state["value"]))
        self.optimizer.load_state_dict(state["optimizer"])


class LagrangeMultiplier(ProjectedScalar):
    """The Lagrange multiplier ν ≥ 0 of one constraint ``J_c ≤ ε``, updated by RMSProp.

    The dual step descends the Lagrangian in ν (Eq. 11 of Meta SAC-Lag):

    .. math:: \\nabla_\\nu \\mathcal{L} = -(J_c - \\varepsilon),\\qquad
              \\nu' = \\max(0,\\ \\nu - \\beta_\\nu\\,\\mathrm{RMSProp}(\\varepsilon - J_c))

    so ν grows while the constraint is violated. ``proposal`` computes ν' (and the RMSProp state)
    as a differentiable function of ``J_c`` and ``ε``; ``commit`` writes it back.
    """

    def __init__(self, initial: float, *, lr: float, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(initial, lr=lr, optimizer="rmsprop", low=0.0, dtype=dtype)
        self.lr = lr

    def proposal(
        self, constraint_value: torch.Tensor, threshold: torch.Tensor | float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ν', v')`` after one projected RMSProp step on ``∇_ν L = ε - J_c`` (differentiable)."""
        grad = threshold - constraint_value
        square_avg = rmsprop_state(self.optimizer, self.param)
        new_value, new_square_avg = rmsprop_step(self.value, grad, square_avg, lr=self.lr)
        return torch.relu(new_value), new_square_avg

    def commit(self, new_value: torch.Tensor, new_square_avg: torch.Tensor) -> None:
        """Make a proposal the current value (and its RMSProp state the optimizer's)."""
        commit_rmsprop(
            self.optimizer, [self.param], [new_value.detach()], [new_square_avg.detach()]
        )
