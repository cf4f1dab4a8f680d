"""The MuJoCo scene of SafetyFrankaCloseDrawer-v0: Franka Kitchen's Panda and sliding cabinet only.

Built with MjSpec from gymnasium-robotics' ``kitchen_env_model.xml``: the oven, back wall, hinge
cabinet, microwave, kettle and counters are removed (the wall-mounted sliding cabinet and the robot
on its pedestal stay), and a red, non-colliding box site marks the forbidden zone.
"""

from __future__ import annotations

import os

import gymnasium_robotics.envs.franka_kitchen as kitchen_package
import mujoco
import numpy as np

KITCHEN_XML = os.path.normpath(
    os.path.join(
        os.path.dirname(kitchen_package.__file__),
        "..",
        "assets",
        "kitchen_franka",
        "kitchen_assets",
        "kitchen_env_model.xml",
    )
)
REMOVED_BODIES = ("oven", "backwall", "hingecabinet", "microwave", "kettle", "counters1")

ARM_JOINTS = tuple(f"robot:panda0_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("robot:panda0_finger_joint1", "robot:panda0_finger_joint2")
DRAWER_JOINT = "slide_cabinet"  # slide along world x; 0 is closed, 0.44 m fully open
HANDLE_SITE = "slide_site"
END_EFFECTOR_SITE = "end_effector"
FORBIDDEN_SITE = "forbidden_zone"

# Franka Kitchen's home posture of the seven arm joints (its keyframe), radians.
ARM_HOME = np.array([0.16, -1.76, 1.84, -2.51, 0.36, 0.79, 1.55])

# The forbidden box (world frame, metres). The direct path of the end-effector runs straight from
# its home position (-0.44, 0.12, 2.03) to the approach point in front of and right of the handle
# of the open cabinet (about (0.32, 0.48, 2.60); from there it moves in and pushes left). The box's
# centre is 0.18 m from that segment's midpoint on the room side (+x, -y), so the straight segment
# clears the box by about 4.5 cm, while wide or sagging motions enter it.
FORBIDDEN_CENTER = np.array([0.02, 0.14, 2.32])
FORBIDDEN_HALF_EXTENTS = np.array([0.10, 0.10, 0.10])


def build_drawer_model() -> mujoco.MjModel:
    """Compile the reduced kitchen with the red forbidden box."""
    spec = mujoco.MjSpec.from_file(KITCHEN_XML)
    for name in REMOVED_BODIES:
        spec.delete(spec.body(name))
    for key in list(spec.keys):  # the kitchen keyframe's size no longer matches
        spec.delete(key)
    spec.worldbody.add_site(
        name=FORBIDDEN_SITE,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        pos=FORBIDDEN_CENTER.tolist(),
        size=FORBIDDEN_HALF_EXTENTS.tolist(),
        rgba=[1.0, 0.0, 0.0, 0.35],
    )
    return spec.compile()
