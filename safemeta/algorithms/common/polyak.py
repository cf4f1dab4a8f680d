"""Polyak (soft) target-network updates."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target <- tau * source + (1 - tau) * target``, parameter-wise, in place."""
    target_params = list(target.parameters())
    source_params = list(source.parameters())
    torch._foreach_lerp_(target_params, source_params, tau)
