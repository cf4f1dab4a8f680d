"""Our URDF of the Kinova Gen3 twin, generated from the joint table in ``kinematics.py``.

Primitive geometry only: each arm link is a cylinder from its frame to its child joint's origin
(shortened by ``END_GAP`` at both ends so that links two apart never touch in a straight pose), with
the spec's mass and the inertia of a solid cylinder. The bracelet carries a parallel gripper (palm +
two fingers, closed on the mug) and a mug (bottom disk + ``MUG_WALL_SEGMENTS`` wall boxes, hollow,
so the particle check can pour from it). ``assets/kinova_gen3_mug.urdf`` is this module's output,
committed for users; a test checks that the file and the generator agree.

    python -m safemeta.environments.pour_coffee.urdf   # rewrite the committed file
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from safemeta.environments.pour_coffee.kinematics import (
    CUP_OFFSET,
    JOINTS,
    LINK_MASSES,
    LINKS,
    TOOL_RPY,
    TOOL_TO_CUP_ROTATION,
    TOOL_XYZ,
    matrix_rpy,
)

URDF_PATH = Path(__file__).with_name("assets") / "kinova_gen3_mug.urdf"
LINK_RADII = {  # m, cylinder radius per link (actuator housings)
    "base_link": 0.06,
    "shoulder_link": 0.045,
    "half_arm_1_link": 0.045,
    "half_arm_2_link": 0.045,
    "forearm_link": 0.04,
    "spherical_wrist_1_link": 0.035,
    "spherical_wrist_2_link": 0.035,
    "bracelet_link": 0.035,
}
END_GAP = 0.02  # m cut from both ends of each link cylinder (the base keeps its bottom)
GRIPPER_MASS = 0.925  # kg, a 2F-85-class parallel gripper
MUG_MASS = 0.30  # kg, empty ceramic mug
COFFEE_MASS = 0.35  # kg, ≈ 350 ml (inner Ø 8 cm, 7 cm fill)
MUG_INNER_RADIUS = 0.04
MUG_OUTER_RADIUS = 0.045
MUG_HEIGHT = 0.10
MUG_WALL_SEGMENTS = 16


def _fmt(values: tuple[float, ...] | np.ndarray) -> str:
    return " ".join(f"{float(v) + 0.0:.8g}" for v in values)  # no "-0"


def _align_z(direction: np.ndarray) -> tuple[float, float, float]:
    """URDF rpy of a rotation taking the z axis onto ``direction``."""
    z = direction / np.linalg.norm(direction)
    if z[2] > 1.0 - 1e-12:
        return (0.0, 0.0, 0.0)
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return matrix_rpy(np.column_stack([x, np.cross(z, x), z]))


def _cylinder_inertia(mass: float, radius: float, length: float) -> tuple[float, float, float]:
    side = mass * (3 * radius**2 + length**2) / 12.0
    return side, side, mass * radius**2 / 2.0


def _inertial(mass: float, xyz, rpy, diag: tuple[float, float, float]) -> str:
    return (
        f'    <inertial><origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/><mass value="{mass:.8g}"/>'
        f'<inertia ixx="{diag[0]:.6g}" ixy="0" ixz="0" iyy="{diag[1]:.6g}" iyz="0" '
        f'izz="{diag[2]:.6g}"/></inertial>\n'
    )


def _shape(kind: str, geometry: str, xyz, rpy, color: str = "0.6 0.6 0.65 1") -> str:
    origin = f'<origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/>'
    out = f"    <collision>{origin}<geometry>{geometry}</geometry></collision>\n"
    if kind == "both":
        out += (
            f"    <visual>{origin}<geometry>{geometry}</geometry>"
            f'<material name="c{color.replace(" ", "_")}"><color rgba="{color}"/></material>'
            "</visual>\n"
        )
    return out


def _arm_link(index: int) -> str:
    name = LINKS[index]
    end = np.array(JOINTS[index].xyz if index < len(JOINTS) else TOOL_XYZ, dtype=float)
    length = float(np.linalg.norm(end))
    direction = end / length
    start_gap = 0.0 if index == 0 else END_GAP
    body = length - start_gap - END_GAP
    centre = direction * (start_gap + body / 2)
    rpy = _align_z(direction)
    radius = LINK_RADII[name]
    mass = LINK_MASSES[name]
    text = f'  <link name="{name}">\n'
    text += _inertial(mass, centre, rpy, _cylinder_inertia(mass, radius, length))
    text += _shape(
        "both", f'<cylinder radius="{radius}" length="{body:.8g}"/>', centre, rpy, "0.3 0.3 0.35 1"
    )
    return text + "  </link>\n"


def _joint(name: str, kind: str, parent: str, child: str, xyz, rpy, limit: str = "") -> str:
    axis = '<axis xyz="0 0 1"/>' if kind != "fixed" else ""
    return (
        f'  <joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
        f'<origin xyz="{_fmt(xyz)}" rpy="{_fmt(rpy)}"/>{axis}{limit}</joint>\n'
    )


def _gripper_link() -> str:
    text = '  <link name="gripper_link">\n'
    text += _inertial(GRIPPER_MASS, (0, 0, 0.06), (0, 0, 0), (0.0012, 0.0012, 0.0008))
    text += _shape("both", '<box size="0.08 0.06 0.1"/>', (0, 0, 0.05), (0, 0, 0), "0.1 0.1 0.1 1")
    for side in (-1, 1):
        text += _shape(
            "both",
            '<box size="0.01 0.025 0.08"/>',
            (side * (MUG_OUTER_RADIUS + 0.0065), 0, 0.15),
            (0, 0, 0),
            "0.1 0.1 0.1 1",
        )
    return text + "  </link>\n"


def _mug_link() -> str:
    mass = MUG_MASS + COFFEE_MASS
    text = '  <link name="mug_link">\n'
    text += _inertial(
        mass, (0, 0, 0), (0, 0, 0), _cylinder_inertia(mass, MUG_OUTER_RADIUS, MUG_HEIGHT)
    )
    white = "0.95 0.95 0.9 1"
    bottom = f'<cylinder radius="{MUG_OUTER_RADIUS}" length="0.006"/>'
    text += _shape("both", bottom, (0, 0, -MUG_HEIGHT / 2 + 0.003), (0, 0, 0), white)
    radius = (MUG_INNER_RADIUS + MUG_OUTER_RADIUS) / 2
    width = 2 * math.pi * radius / MUG_WALL_SEGMENTS * 1.15  # overlapping, no gaps
    thickness = MUG_OUTER_RADIUS - MUG_INNER_RADIUS
    for k in range(MUG_WALL_SEGMENTS):
        angle = 2 * math.pi * k / MUG_WALL_SEGMENTS
        xyz = (radius * math.cos(angle), radius * math.sin(angle), 0.0)
        box = f'<box size="{thickness:.6g} {width:.6g} {MUG_HEIGHT}"/>'
        text += _shape("both", box, xyz, (0, 0, angle), white)
    return text + "  </link>\n"


def _tool_link() -> str:
    return (
        '  <link name="end_effector_link">\n'
        + _inertial(1e-4, (0, 0, 0), (0, 0, 0), (1e-8, 1e-8, 1e-8))
        + "  </link>\n"
    )


def gen3_urdf() -> str:
    """The URDF text of the Gen3 + gripper + full mug."""
    parts = ['<?xml version="1.0"?>\n', "<!-- Generated by safemeta.environments.pour_coffee.urdf"]
    parts.append(" from the joint table of spec §3; do not edit by hand. -->\n")
    parts.append('<robot name="kinova_gen3_mug">\n')
    parts.extend(_arm_link(i) for i in range(len(LINKS)))
    for joint in JOINTS:
        if joint.lower is None:
            kind = "continuous"
            limit = f'<limit effort="{joint.effort}" velocity="{joint.velocity}"/>'
        else:
            kind = "revolute"
            limit = (
                f'<limit lower="{joint.lower}" upper="{joint.upper}" effort="{joint.effort}" '
                f'velocity="{joint.velocity}"/>'
            )
        parts.append(
            _joint(joint.name, kind, joint.parent, joint.child, joint.xyz, joint.rpy, limit)
        )
    parts.append(_tool_link())
    parts.append(
        _joint("tool_frame_joint", "fixed", LINKS[-1], "end_effector_link", TOOL_XYZ, TOOL_RPY)
    )
    parts.append(_gripper_link())
    parts.append(_joint("gripper_mount", "fixed", LINKS[-1], "gripper_link", TOOL_XYZ, TOOL_RPY))
    parts.append(_mug_link())
    mug_rpy = matrix_rpy(TOOL_TO_CUP_ROTATION)
    parts.append(
        _joint("mug_grasp", "fixed", "gripper_link", "mug_link", (0, 0, CUP_OFFSET), mug_rpy)
    )
    parts.append("</robot>\n")
    return "".join(parts)


def write_urdf(path: Path = URDF_PATH) -> Path:
    """Write the generated URDF (the committed asset by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gen3_urdf())
    return path


if __name__ == "__main__":
    print(write_urdf())
