"""Learned scalars such as ε and log α (``ProjectedScalar``: own optimizer and a projection).
Lagrange multipliers are ``safemeta.algorithms.common.lagrange.LagrangeMultiplier``.

A ``ProjectedScalar`` is one 0-dim ``nn.Parameter`` plus a ``torch.optim`` optimizer and an interval
it is clamped into after every step. States are plain dicts, so that learners can checkpoint them
next to the RLModule.
"""

from __future__ import annotations

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
