"""Registrations of the classic-control safe tasks."""

from safemeta.environments.registry import register_env

register_env(
    "SafetyPendulum-v0",
    "safemeta.environments.classic.pendulum:SafePendulumEnv",
    "Pendulum swing-up (gymnasium dynamics, 200 steps); cost 1 while |angular speed| > 4 rad/s.",
)
