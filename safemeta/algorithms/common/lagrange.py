"""The Lagrange multiplier of one constraint ``J ≤ d``: the one component every family uses.

The dual step descends the Lagrangian :math:`L = J_R - \\lambda (J - d)` in λ, whose gradient is
the negated slack :math:`-(J - d)`, then projects onto λ ≥ 0. Three update rules:

* ``"sgd"`` — the plain projected step of C-MAML Eq. 22 / Eq. 31 and Meta SAC-Lag Eq. 19:
  :math:`\\lambda' = \\max(0, \\lambda + \\beta (J - d))`. Differentiable in J and d.
* ``"adam"`` / ``"rmsprop"`` — the same gradient through a torch optimizer, then the projection
  (OmniSafe's PID-free Lagrange: Adam at lr 0.035 is the on-policy family's default).
* ``"log"`` — a step on log λ, :math:`\\log\\lambda' = \\log\\lambda + \\beta (J - d)` with
  :math:`\\log\\lambda` kept ≥ log ``floor``: a relative change proportional to the slack, the
  same number of updates per factor of 10 from λ₀ = 1 or 1000, and
  :math:`d\\lambda'/dd = -\\beta\\lambda'` never 0 (Meta SAC-Lag's ν: ε's meta-gradient flows
  through it, and the projection of the plain step would cut it).

``proposal`` (the rules without optimizer state) returns λ' as a differentiable tensor without
changing λ; ``commit`` makes it current. ``step`` does both, for any rule.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch
from torch import nn

from safemeta.algorithms.common.scalars import make_optimizer

MultiplierRule = Literal["sgd", "adam", "rmsprop", "log"]
RULES: tuple[str, ...] = ("sgd", "adam", "rmsprop", "log")


class LagrangeMultiplier:
    """λ ≥ 0 (``rule="log"``: λ ≥ ``floor`` > 0), stepped on the slack ``J − d``."""

    def __init__(
        self,
        initial: float,
        *,
        lr: float,
        rule: MultiplierRule = "sgd",
        floor: float = 1e-4,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if rule not in RULES:
            raise ValueError(f"multiplier rule {rule!r} is not one of {', '.join(RULES)}")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"multiplier lr={lr} must be a positive number")
        if rule == "log":
            if not initial > 0.0:
                raise ValueError(f"initial λ={initial} must be > 0 (rule 'log' steps log λ)")
            if not 0.0 < floor <= initial:
                raise ValueError(f"λ floor={floor} must be in (0, initial λ={initial}]")
        elif not initial >= 0.0:
            raise ValueError(f"initial λ={initial} must be >= 0")
        self.rule, self.lr, self.floor = rule, float(lr), float(floor)
        start = math.log(initial) if rule == "log" else float(initial)
        # The stored coordinate: log λ for "log", λ otherwise.
        self._coordinate = nn.Parameter(torch.tensor(start, dtype=dtype), requires_grad=False)
        self.optimizer: torch.optim.Optimizer | None = None
        if rule in ("adam", "rmsprop"):
            self._coordinate.requires_grad_(True)
            self.optimizer = make_optimizer(rule, [self._coordinate], self.lr)

    @property
    def value(self) -> torch.Tensor:
        """λ (a detached 0-dim tensor)."""
        coordinate = self._coordinate.detach()
        return coordinate.exp() if self.rule == "log" else coordinate.clone()

    def proposal(
        self, constraint_value: torch.Tensor | float, limit: torch.Tensor | float
    ) -> torch.Tensor:
        """λ' after one step on ``constraint_value − limit``, differentiable in both; λ itself
        is unchanged. (Optimizer rules have state: use ``step``.)"""
        slack = torch.as_tensor(constraint_value, dtype=self._coordinate.dtype) - limit
        coordinate = self._coordinate.detach()
        if self.rule == "log":
            return torch.exp(coordinate + self.lr * slack)
        if self.rule == "sgd":
            return torch.clamp_min(coordinate + self.lr * slack, 0.0)
        raise TypeError(f"rule {self.rule!r} keeps optimizer state: call step(), not proposal()")

    def commit(self, new_value: torch.Tensor | float) -> None:
        """Make a proposal current (projected: λ ≥ 0, or λ ≥ ``floor`` for ``"log"``)."""
        new_value = torch.as_tensor(new_value, dtype=self._coordinate.dtype).detach()
        with torch.no_grad():
            if self.rule == "log":
                self._coordinate.copy_(torch.log(new_value.clamp_min(self.floor)))
            else:
                self._coordinate.copy_(new_value.clamp_min(0.0))

    def step(self, constraint_value: torch.Tensor | float, limit: torch.Tensor | float) -> float:
        """One dual step on ``constraint_value − limit``; returns the new λ."""
        if self.optimizer is None:
            self.commit(self.proposal(constraint_value, limit))
            return float(self.value)
        slack = float(constraint_value) - float(limit)
        self._coordinate.grad = torch.tensor(-slack, dtype=self._coordinate.dtype)
        self.optimizer.step()
        self._coordinate.grad = None
        with torch.no_grad():
            self._coordinate.clamp_(min=0.0)
        return float(self.value)

    def get_state(self) -> dict[str, Any]:
        """The coordinate (``"log_value"`` or ``"value"``) and the optimizer state, if any."""
        key = "log_value" if self.rule == "log" else "value"
        state: dict[str, Any] = {key: self._coordinate.detach().clone()}
        if self.optimizer is not None:
            state["optimizer"] = copy.deepcopy(self.optimizer.state_dict())  # not live tensors
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Also reads ``{"value"}`` states into a ``"log"`` multiplier (older checkpoints)."""
        if self.rule == "log" and "log_value" not in state:
            value = torch.as_tensor(state["value"], dtype=self._coordinate.dtype)
            state = {"log_value": torch.log(value.clamp_min(self.floor))}
        key = "log_value" if self.rule == "log" else "value"
        with torch.no_grad():
            self._coordinate.copy_(torch.as_tensor(state[key], dtype=self._coordinate.dtype))
        if self.optimizer is not None and "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
