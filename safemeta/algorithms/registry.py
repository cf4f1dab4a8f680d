"""The algorithm registry: registered name -> RLlib ``AlgorithmConfig`` class (+ presets).

Entries are import-light (``"module:attr"`` strings): listing and validating experiment files does
not import torch or RLlib. The config class's ``algo_class`` is the RLlib ``Algorithm`` class, and
its ``training(**hyperparameters)`` is the config builder: hyperparameter names in experiment files
are the keyword arguments of that method.

Presets are named hyperparameter sets (e.g. the papers' Table I), optionally per environment:
``{"table1": {"SafetyCarCircle2-v0": {"epsilon": 0.5}, "*": {...}}}``; ``"*"`` applies to any env.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from safemeta.environments.registry import load_attribute

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

Presets = Mapping[str, Mapping[str, Mapping[str, Any]]]
ANY_ENV = "*"


@dataclass(frozen=True)
class AlgorithmEntry:
    """One registered algorithm."""

    name: str
    config_class: str
    description: str
    presets_path: str | None = None

    def config_cls(self) -> type[AlgorithmConfig]:
        """The RLlib config class (imports RLlib)."""
        return load_attribute(self.config_class)

    def algorithm_cls(self) -> type[Algorithm]:
        """The RLlib Algorithm class that Tune runs."""
        return self.config_cls()().algo_class

    def presets(self) -> Presets:
        """Named presets, ``{preset: {env name or "*": hyperparameters}}``."""
        return load_attribute(self.presets_path) if self.presets_path else {}

    def hyperparameter_names(self) -> frozenset[str]:
        """The keyword arguments accepted by the config's ``training()``."""
        return _training_kwargs(self.config_class)

    def build_config(self, hyperparameters: Mapping[str, Any]) -> AlgorithmConfig:
        """A fresh config with ``training(**hyperparameters)`` applied."""
        return self.config_cls()().training(**hyperparameters)


def training_parameters(config_class: type) -> dict[str, tuple[inspect.Parameter, Any]]:
    """Keyword-only parameters of ``training()`` over the config's MRO, each with the method that
    declares it (the most derived declaration wins)."""
    parameters: dict[str, tuple[inspect.Parameter, Any]] = {}
    for klass in config_class.__mro__:
        method = klass.__dict__.get("training")
        if method is None:
            continue
        for p in inspect.signature(method).parameters.values():
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in parameters:
                parameters[p.name] = (p, method)
    return parameters


@cache
def _training_kwargs(config_class: str) -> frozenset[str]:
    return frozenset(training_parameters(load_attribute(config_class)))


_ALGORITHMS: dict[str, AlgorithmEntry] = {}


def register_algorithm(
    name: str, config_class: str, description: str, presets: str | None = None
) -> AlgorithmEntry:
    """Register ``name`` -> config class path (``"module:Class"``) and optional presets path."""
    entry = AlgorithmEntry(name, config_class, description, presets)
    existing = _ALGORITHMS.get(name)
    if existing is not None and existing != entry:
        raise ValueError(f"algorithm {name!r} is already registered as {existing.config_class}")
    _ALGORITHMS[name] = entry
    return entry


def registered_algorithms() -> dict[str, AlgorithmEntry]:
    """All registered algorithms, by name."""
    return dict(_ALGORITHMS)


def get_algorithm_entry(name: str) -> AlgorithmEntry:
    """The entry for ``name``; a ``KeyError`` that lists close matches otherwise."""
    if name not in _ALGORITHMS:
        close = difflib.get_close_matches(name, _ALGORITHMS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(
            f"unknown algorithm {name!r}.{hint} Registered: {', '.join(sorted(_ALGORITHMS))}"
        )
    return _ALGORITHMS[name]


# Built-in algorithms (one line each; families add theirs here).
register_algorithm(
    "ppo",
    "ray.rllib.algorithms.ppo:PPOConfig",
    "PPO (RLlib's implementation), unconstrained: ignores cost; a reference for return and cost.",
)
register_algorithm(
    "sac",
    "ray.rllib.algorithms.sac:SACConfig",
    "SAC (RLlib's implementation), unconstrained: ignores cost; a reference for return and cost.",
)
_SAC_LAG = "safemeta.algorithms.sac_lagrangian"
register_algorithm(
    "meta_sac_lag",
    f"{_SAC_LAG}.config:MetaSACLagConfig",
    "Meta SAC-Lag (Honari et al.): SAC-Lagrangian with ε (Eq. 14) and α (Eq. 15) meta-learned.",
    presets=f"{_SAC_LAG}.presets:META_SAC_LAG",
)
register_algorithm(
    "meta_sac_lag_nl",
    f"{_SAC_LAG}.config:MetaSACLagNLConfig",
    "Meta SAC-Lag with the nonlinear threshold objective J_nl (Eq. 16).",
    presets=f"{_SAC_LAG}.presets:META_SAC_LAG_NL",
)
register_algorithm(
    "sacv2_lag",
    f"{_SAC_LAG}.config:SACv2LagConfig",
    "SACv2-Lag: SAC-Lagrangian (Eq. 11) with fixed ε; α by target entropy −dim(A).",
    presets=f"{_SAC_LAG}.presets:SACV2_LAG",
)
register_algorithm(
    "rcpo_sacv2",
    f"{_SAC_LAG}.config:RCPOSACv2Config",
    "RCPO-SACv2: SAC on Q̂ = Q_r − νQ_c, ν by Eq. 11; α by target entropy.",
    presets=f"{_SAC_LAG}.presets:RCPO_SACV2",
)
register_algorithm(
    "rcpo_metasac",
    f"{_SAC_LAG}.config:RCPOMetaSACConfig",
    "RCPO-MetaSAC: SAC on Q̂ with α meta-learned on initial states (Meta-SAC).",
    presets=f"{_SAC_LAG}.presets:RCPO_METASAC",
)
register_algorithm(
    "trpo",
    "safemeta.algorithms.onpolicy.config:TRPOConfig",
    "TRPO: natural-gradient trust-region steps (CG + line search); ignores cost, reports it.",
)
register_algorithm(
    "trpo_lag",
    "safemeta.algorithms.onpolicy.config:TRPOLagConfig",
    "TRPO-Lag: TRPO on A_R - λ·A_C with λ ≥ 0 ascended on J_C - d.",
)
register_algorithm(
    "cpo",
    "safemeta.algorithms.onpolicy.config:CPOConfig",
    "CPO: trust-region step with one linear cost constraint (dual solve, infeasible recovery).",
)
register_algorithm(
    "ppo_lag",
    "safemeta.algorithms.onpolicy.config:PPOLagConfig",
    "PPO-Lag: clipped first-order epochs on (A_R - λ·A_C)/(1 + λ), λ ascended on J_C - d.",
)
register_algorithm(
    "c_maml",
    "safemeta.algorithms.c_maml.config:CMAMLConfig",
    "C-MAML: first-order constrained MAML (TRPO-Lag or CPO inner steps), meta λ and a meta "
    "cost critic weighted by η.",
)
register_algorithm(
    "maml_trpo",
    "safemeta.algorithms.c_maml.config:MAMLTRPOConfig",
    "MAML-TRPO: first-order MAML with TRPO inner steps, unconstrained (C-MAML's baseline).",
)
register_algorithm(
    "meta_cpo",
    "safemeta.algorithms.meta_cpo.config:MetaCPOConfig",
    "Meta-CPO: MAML through K local Euclidean CPO steps, exact meta-gradient (Eq. 11), the meta "
    "update a CPO program (Eq. 12).",
)
register_algorithm(
    "meta_trpo",
    "safemeta.algorithms.meta_cpo.config:MetaTRPOConfig",
    "Meta-TRPO: Meta-CPO's machinery with unconstrained trust-region programs (its baseline).",
)
