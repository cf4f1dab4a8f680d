"""The shipped Table II sweep file validates and expands to Table I's ε and ν per method/task."""

from __future__ import annotations

from pathlib import Path

from safemeta.platform.experiment import expand_trials, load_experiment

REPO = Path(__file__).resolve().parents[2]
TABLE2 = REPO / "tune_configs" / "meta_sac_lag" / "table2.yaml"

METHODS = ("meta_sac_lag", "meta_sac_lag_nl", "sacv2_lag", "rcpo_sacv2", "rcpo_metasac")
ENVS = (
    "SafetyHumanoidVelocity-v1",
    "SafetyFrankaCloseDrawer-v0",
    "SafetyCarCircle2-v0",
    "SafetyFetchPushTopple-v0",
    "SafetyEggManipulate-v0",
)


def test_table2_file_validates_and_expands_to_the_full_grid():
    trials = expand_trials(load_experiment(TABLE2))
    assert len(trials) == 5 * 5 * 5
    cells = {(t.algorithm, t.env, t.seed) for t in trials}
    assert cells == {(m, e, s) for m in METHODS for e in ENVS for s in range(5)}
    assert len({t.trial_name for t in trials}) == len(trials)
    assert all(t.env_kwargs == {"terminate_on_violation": True} for t in trials)
    assert all(t.env_steps == 1_000_000 for t in trials)


def test_table2_trials_carry_table_i_epsilon_and_nu():
    expanded = expand_trials(load_experiment(TABLE2))
    trials = {(t.algorithm, t.env, t.seed): t.hyperparameters for t in expanded}
    # Meta SAC-Lag: ε (meta-learned) and α start at 1, ν starts at SACv2-Lag's value.
    egg_meta = trials[("meta_sac_lag", "SafetyEggManipulate-v0", 0)]
    assert egg_meta["epsilon"] == 1.0 and egg_meta["nu"] == 100.0 and egg_meta["alpha"] == 1.0
    # Table I as printed: (ε, ν Lagrangian, ν RCPO) per task.
    expected = {
        ("sacv2_lag", "SafetyFetchPushTopple-v0"): (0.5, 1000.0),
        ("rcpo_sacv2", "SafetyFetchPushTopple-v0"): (0.5, 10.0),
        ("rcpo_metasac", "SafetyCarCircle2-v0"): (0.5, 1.0),
        ("sacv2_lag", "SafetyHumanoidVelocity-v1"): (0.4, 10.0),
        ("meta_sac_lag_nl", "SafetyFrankaCloseDrawer-v0"): (1.0, 10.0),
        ("sacv2_lag", "SafetyFrankaCloseDrawer-v0"): (0.6, 10.0),
    }
    for (method, env), (epsilon, nu) in expected.items():
        for seed in range(5):  # the same preset for every seed
            values = trials[(method, env, seed)]
            assert (values["epsilon"], values["nu"]) == (epsilon, nu), (method, env, seed)
            assert values["gamma"] == 0.99 and values["gamma_c"] == 0.6
    assert "alpha" not in trials[("sacv2_lag", "SafetyEggManipulate-v0", 0)]
