"""Registrations of the robotic safe tasks (Meta SAC-Lag, Table II)."""

from safemeta.environments.registry import register_env

register_env(
    "SafetyHumanoidVelocity-v1",
    "safemeta.environments.robotics.humanoid_velocity:SafeHumanoidVelocityEnv",
    "Humanoid-v4 locomotion (376-dim obs, 1000 steps); cost 1 while the planar centre-of-mass "
    "speed exceeds 1.4149 m/s.",
)

register_env(
    "SafetyFetchPushTopple-v0",
    "safemeta.environments.robotics.fetch_push_topple:SafeFetchPushToppleEnv",
    "FetchPush with a tall 4×4×12 cm box (28-dim obs, 50 steps, dense reward + success bonus); "
    "cost 1 when the box tilts over 45° or leaves the table.",
)

register_env(
    "SafetyEggManipulate-v0",
    "safemeta.environments.robotics.egg_manipulate:SafeEggManipulateEnv",
    "Shadow hand HandManipulateEgg, dense reward (68-dim obs, 100 steps); cost 1 when the egg "
    "drops 5 cm below the palm or the contact normal force on it exceeds 20 N.",
)

register_env(
    "SafetyFrankaCloseDrawer-v0",
    "safemeta.environments.robotics.franka_close_drawer:SafeFrankaCloseDrawerEnv",
    "Substitute for Isaac Gym's Freight-FrankaCloseDrawer: MuJoCo Franka Panda (Franka Kitchen "
    "assets) closes an open sliding cabinet (22-dim obs, 200 steps, progress reward + success "
    "bonus); cost 1 while the end-effector is inside a red box beside the direct path.",
)
