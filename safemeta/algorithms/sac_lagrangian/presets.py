"""Named presets per registered method, built from Table I (``table1.py``).

``table1``: for each of the paper's environments, ε (fixed, or 1 as the meta-learned start) and the
initial ν of that method, with γ_r = 0.99, γ_c = 0.6 (and α = 1 for the meta variants, whose α is
meta-learned). Meta SAC-Lag J_nl uses Meta SAC-Lag's row (the paper gives it no column).
"""

from __future__ import annotations

from typing import Any

from safemeta.algorithms.sac_lagrangian.table1 import (
    GAMMA_COST,
    GAMMA_REWARD,
    META_SAC_LAG_INITIAL_ALPHA,
    PRESETS,
)


def _table1(method: str, **extra: Any) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "table1": {
            env: {
                "epsilon": methods[method]["epsilon"],
                "nu": methods[method]["nu"],
                "gamma": GAMMA_REWARD,
                "gamma_c": GAMMA_COST,
                **extra,
            }
            for env, methods in PRESETS.items()
        }
    }


META_SAC_LAG = _table1("Meta SAC-Lag", alpha=META_SAC_LAG_INITIAL_ALPHA)
META_SAC_LAG_NL = _table1("Meta SAC-Lag", alpha=META_SAC_LAG_INITIAL_ALPHA)
SACV2_LAG = _table1("SACv2-Lag")
RCPO_SACV2 = _table1("RCPO-SACv2")
RCPO_METASAC = _table1("RCPO-MetaSAC", alpha=META_SAC_LAG_INITIAL_ALPHA)
