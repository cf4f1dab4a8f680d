"""The on-policy module's Gaussian policy as a function of one flat parameter vector."""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from safemeta.algorithms.meta_cpo.meta_gradient import PolicyLogProb
from safemeta.algorithms.onpolicy.distributions import diag_gaussian_logp


def flat_policy_logp(module: Any) -> PolicyLogProb:
    """``(φ, obs, actions) -> log π_φ(a|s)`` for an ``OnPolicyModule``, with φ laid out as
    ``module.policy_parameters()`` (log σ, then the mean network) and the module's observation
    normalisation; the module's own parameters are not touched."""
    names = [name for name, _ in module.pi.named_parameters()]
    shapes = [p.shape for p in module.policy_parameters()]
    sizes = [s.numel() for s in shapes]

    def logp(phi: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if phi.numel() != sum(sizes):
            raise ValueError(f"φ has {phi.numel()} entries, the policy needs {sum(sizes)}")
        log_std, *layers = (
            chunk.view(shape) for chunk, shape in zip(phi.split(sizes), shapes, strict=True)
        )
        mean = functional_call(
            module.pi, dict(zip(names, layers, strict=True)), (module.normalize(obs),)
        )
        return diag_gaussian_logp(actions, mean, log_std.expand_as(mean))

    return logp
