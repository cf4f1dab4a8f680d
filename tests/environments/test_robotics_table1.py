"""Table I data are keyed by the registered env names of the Table II tasks."""

from __future__ import annotations

from safemeta.algorithms.sac_lagrangian.table1 import PRESETS, TABLE_I
from safemeta.environments import registered_envs

ROBOTIC = (
    "SafetyHumanoidVelocity-v1",
    "SafetyFrankaCloseDrawer-v0",
    "SafetyFetchPushTopple-v0",
    "SafetyEggManipulate-v0",
)


def test_robotic_rows_use_registered_names():
    envs = registered_envs()
    for name in ROBOTIC:
        assert name in TABLE_I and name in envs
    assert set(TABLE_I) == {*ROBOTIC, "SafetyCarCircle2-v0"}


def test_presets_follow_the_paper_reading():
    push = PRESETS["SafetyFetchPushTopple-v0"]
    assert push["SACv2-Lag"] == {"epsilon": 0.5, "nu": 1000.0}
    assert push["RCPO-MetaSAC"] == {"epsilon": 0.5, "nu": 10.0}
    assert push["Meta SAC-Lag"] == {"epsilon": 1.0, "nu": 1000.0}  # ε is meta-learned from 1
    assert PRESETS["SafetyHumanoidVelocity-v1"]["RCPO-SACv2"] == {"epsilon": 0.4, "nu": 10.0}
