"""Meta SAC-Lag's Table I: the ε and ν values of the comparison methods, by registered env name.

Read from ``meta_sac_lag.md`` (Section V-A, Table I and the text around it). The table has an ε
column and two ν columns, "Meta SAC-Lag / SACv2-Lag" and "RCPO-SACv2 / RCPO-MetaSAC". The text says:
ε and ν were tuned for SACv2-Lag and RCPO-SACv2; RCPO-MetaSAC uses RCPO-SACv2's values; Meta
SAC-Lag uses SACv2-Lag's ν as its initial ν, and its ε (meta-learned) starts at 1 (α starts at 1
too); γ_r = 0.99 and γ_c = 0.6 for all tasks. ``TABLE_I`` holds the table as printed;
``PRESETS`` spreads it per method under that reading. Env "Car-Circle2" is ``SafetyCarCircle2-v0``
(navigation suite); the Franka row belongs to our substitute ``SafetyFrankaCloseDrawer-v0``.

Plain data only. ``presets.py`` turns ``PRESETS`` into each method's ``table1`` preset, and
``safemeta/algorithms/registry.py`` attaches those to the registered algorithms, so an experiment
file selects them with ``preset: table1`` (e.g. ``tune_configs/meta_sac_lag/table2.yaml``).
"""

from __future__ import annotations

# env id -> {"epsilon": ε, "nu_lagrangian": ν of Meta SAC-Lag & SACv2-Lag,
#            "nu_rcpo": ν of RCPO-SACv2 & RCPO-MetaSAC}
TABLE_I: dict[str, dict[str, float]] = {
    "SafetyHumanoidVelocity-v1": {"epsilon": 0.4, "nu_lagrangian": 10.0, "nu_rcpo": 10.0},
    "SafetyFrankaCloseDrawer-v0": {"epsilon": 0.6, "nu_lagrangian": 10.0, "nu_rcpo": 10.0},
    "SafetyCarCircle2-v0": {"epsilon": 0.5, "nu_lagrangian": 100.0, "nu_rcpo": 1.0},
    "SafetyFetchPushTopple-v0": {"epsilon": 0.5, "nu_lagrangian": 1000.0, "nu_rcpo": 10.0},
    "SafetyEggManipulate-v0": {"epsilon": 0.5, "nu_lagrangian": 100.0, "nu_rcpo": 1.0},
}

META_SAC_LAG_INITIAL_EPSILON = 1.0  # Section V-A: "we set ε = 1 and α = 1 as their initial values"
META_SAC_LAG_INITIAL_ALPHA = 1.0
GAMMA_REWARD = 0.99
GAMMA_COST = 0.6

# env id -> method name -> {"epsilon": initial/fixed ε, "nu": initial ν}
PRESETS: dict[str, dict[str, dict[str, float]]] = {
    env: {
        "Meta SAC-Lag": {"epsilon": META_SAC_LAG_INITIAL_EPSILON, "nu": row["nu_lagrangian"]},
        "SACv2-Lag": {"epsilon": row["epsilon"], "nu": row["nu_lagrangian"]},
        "RCPO-SACv2": {"epsilon": row["epsilon"], "nu": row["nu_rcpo"]},
        "RCPO-MetaSAC": {"epsilon": row["epsilon"], "nu": row["nu_rcpo"]},
    }
    for env, row in TABLE_I.items()
}
