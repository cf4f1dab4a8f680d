"""Test-only algorithm with presets (RLlib PPO), registered when this module is imported."""

from safemeta.algorithms.registry import register_algorithm

PRESETS = {
    "small": {"*": {"lr": 1e-4, "num_epochs": 2}},
    "per_env": {"ScriptedCost-v0": {"lr": 3e-4}, "SafetyPendulum-v0": {"lr": 5e-4, "gamma": 0.9}},
}

register_algorithm(
    "ppo_with_presets",
    "ray.rllib.algorithms.ppo:PPOConfig",
    "Test algorithm: RLlib PPO with presets.",
    presets="tests.plugins.preset_algorithms:PRESETS",
)
