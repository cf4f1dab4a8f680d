"""The on-policy module's Gaussian policy as a function of one flat parameter vector."""

from __future__ import annotations

from typing import Any

import torch
from torch.func import functional_call

from safemeta.algorithms.onpolicy.distributions import diag_gaussian_kl, diag_gaussian_logp


class FlatGaussianPolicy:
    """π_φ of an ``OnPolicyModule`` with φ laid out as ``module.policy_parameters()`` (log σ,
    then the mean network), through the module's observation normalisation; the module's own
    parameters are not touched. Called as ``(φ, obs, actions) -> log π_φ(a|s)``."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._names = [name for name, _ in module.pi.named_parameters()]
        self._shapes = [p.shape for p in module.policy_parameters()]
        self._sizes = [s.numel() for s in self._shapes]
        self.log_std_size = self._sizes[0]

    def _split(self, phi: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if phi.numel() != sum(self._sizes):
            raise ValueError(f"φ has {phi.numel()} entries, the policy needs {sum(self._sizes)}")
        log_std, *layers = (
            chunk.view(shape)
            for chunk, shape in zip(phi.split(self._sizes), self._shapes, strict=True)
        )
        return log_std, layers

    def mean(self, phi: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """The action mean [N, a] of π_φ at ``obs``."""
        _, layers = self._split(phi)
        params = dict(zip(self._names, layers, strict=True))
        return functional_call(self._module.pi, params, (self._module.normalize(obs),))

    def mean_kl(self, before: torch.Tensor, after: torch.Tensor, obs: torch.Tensor) -> float:
        """The mean KL(π_before || π_after) over the states ``obs`` (measured, whatever the metric
        of the step between them)."""
        with torch.no_grad():
            (log_std0, _), (log_std1, _) = self._split(before), self._split(after)
            mean0, mean1 = self.mean(before, obs), self.mean(after, obs)
            kl = diag_gaussian_kl(
                mean0, log_std0.expand_as(mean0), mean1, log_std1.expand_as(mean1)
            )
            return float(kl.mean())

    def __call__(self, phi: torch.Tensor, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        log_std, _ = self._split(phi)
        mean = self.mean(phi, obs)
        return diag_gaussian_logp(actions, mean, log_std.expand_as(mean))


def flat_policy_logp(module: Any) -> FlatGaussianPolicy:
    """``(φ, obs, actions) -> log π_φ(a|s)`` for an ``OnPolicyModule`` (with ``.mean`` and
    ``.log_std_size`` for the Fisher metric)."""
    return FlatGaussianPolicy(module)
