"""Learned scalars: ε and log α (``ProjectedScalar``: own optimizer and a projection) and the
Lagrange multiplier ν (``LagrangeMultiplier``: a step proportional to the slack, in log space).

A ``ProjectedScalar`` is one 0-dim ``nn.Parameter`` plus a ``torch.optim`` optimizer and an interval
it is clamped into after every step. States are plain dicts, so that learners can checkpoint them
next to the RLModule.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

OptimizerName = Literal["rmsprop", "adam"]


def make_optimizer(
    name: OptimizerName, params: Any, lr: float, *, eps: float = 1e-8
) -> torch.optim.Optimizer:
    """``torch.optim.RMSprop`` (alpha 0.99) or ``torch.optim.Adam``, with denominator term ``eps``
    (torch's default 1e-8)."""
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, eps=eps)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, eps=eps)
    raise ValueError(f"unknown optimizer {name!r}; use 'rmsprop' or 'adam'")


class ProjectedScalar:
    """A learned scalar in ``[low, high]`` with its own optimizer.

    ``descend(grad)`` / ``ascend(grad)`` take one optimizer step with a given gradient, then clamp.
    ``eps`` is the optimizer's denominator term: a scalar whose gradients are far below 1e-8
    (ε's meta-gradient, see ``SafeSACUpdate``) needs a smaller one to take steps of ≈ ``lr``.
    """

    def __init__(
        self,
        initial: float,
        *,
        lr: float,
        optimizer: OptimizerName = "rmsprop",
        low: float = -float("inf"),
        high: float = float("inf"),
        eps: float = 1e-8,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not low <= initial <= high:
            raise ValueError(f"initial value {initial} is outside [{low}, {high}]")
        self.param = nn.Parameter(torch.tensor(float(initial), dtype=dtype))
        self.low, self.high = low, high
        self.optimizer = make_optimizer(optimizer, [self.param], lr, eps=eps)

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


class LagrangeMultiplier:
    """The Lagrange multiplier ν > 0 of one constraint ``J_c ≤ ε``, stepped in log space.

    The dual step descends the Lagrangian (Eq. 11 of Meta SAC-Lag), whose ν-gradient is the
    negated slack :math:`-(J_c - \\varepsilon)`. Eq. 19's projected step
    :math:`\\nu' = \\max(0, \\nu + \\beta_\\nu (J_c - \\varepsilon))` responds to the slack but not
    to ν's scale (Table I starts ν anywhere from 1 to 1000), and at the projection dν'/dε = 0, which
    freezes ε's meta-gradient. So the step is taken on log ν:

    .. math:: \\log\\nu' = \\log\\nu + \\beta_\\nu\\,(J_c - \\varepsilon),\\qquad
              \\frac{d\\nu'}{d\\varepsilon} = -\\beta_\\nu\\,\\nu'

    — a relative change proportional to the slack's size and sign, the same number of updates to
    travel a factor of 10 from ν₀ = 1 or 1000, and a meta-gradient path to ε that never vanishes.
    (An adaptive optimizer such as RMSProp, used before, moves ν by ≈ β_ν per update whatever the
    slack.) log ν is kept ≥ log ``floor`` after each commit so that ν can grow again within a few
    thousand updates once the constraint binds; the proposal itself is not clamped.
    """

    def __init__(
        self,
        initial: float,
        *,
        lr: float,
        floor: float = 1e-4,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not initial > 0.0:
            raise ValueError(f"initial ν={initial} must be > 0 (ν is stepped in log space)")
        if not 0.0 < floor <= initial:
            raise ValueError(f"ν floor={floor} must be in (0, initial ν={initial}]")
        self.lr, self.floor = float(lr), float(floor)
        self.log_value = torch.tensor(math.log(initial), dtype=dtype)

    @property
    def value(self) -> torch.Tensor:
        """ν (a 0-dim tensor, no graph)."""
        return self.log_value.exp()

    def proposal(
        self, constraint_value: torch.Tensor, threshold: torch.Tensor | float
    ) -> torch.Tensor:
        """ν' after one step on the slack ``J_c − ε`` (differentiable in both)."""
        return torch.exp(self.log_value + self.lr * (constraint_value - threshold))

    def commit(self, new_value: torch.Tensor) -> None:
        """Make a proposal the current value (log ν clamped at log ``floor``)."""
        self.log_value = torch.log(new_value.detach().clamp_min(self.floor)).to(
            self.log_value.dtype
        )

    def get_state(self) -> dict[str, Any]:
        return {"log_value": self.log_value.clone()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Also reads checkpoints of the earlier RMSProp multiplier (``{"value", "optimizer"}``)."""
        if "log_value" not in state:
            value = torch.as_tensor(state["value"], dtype=self.log_value.dtype)
            state = {"log_value": torch.log(value.clamp_min(self.floor))}
        self.log_value = torch.as_tensor(state["log_value"], dtype=self.log_value.dtype).clone()
