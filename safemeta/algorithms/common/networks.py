"""Networks: plain MLPs and ensembles of MLPs evaluated in one batched matmul per layer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``Linear -> activation -> ... -> Linear`` through ``sizes`` (no activation at the end)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class EnsembleLinear(nn.Module):
    """``members`` independent linear layers applied to one input: ``[B, in] -> [E, B, out]``.

    Weights are initialised member-wise as ``nn.Linear`` does (uniform in ±1/sqrt(in)).
    """

    def __init__(self, members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(members, n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, n_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # shared input for every member
            return torch.baddbmm(
                self.bias, x.unsqueeze(0).expand(self.weight.shape[0], -1, -1), self.weight
            )
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """``members`` MLPs of the same shape (e.g. twin critics), each layer one batched matmul.

    ``forward(x)`` maps ``[B, sizes[0]]`` to ``[members, B, sizes[-1]]``.
    """

    def __init__(
        self, members: int, sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU
    ) -> None:
        super().__init__()
        self.members = members
        self.layers = nn.ModuleList(
            EnsembleLinear(members, n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)
        )
        self.activation = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.activation(x)
        return x
