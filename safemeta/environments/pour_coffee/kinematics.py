"""Kinova Gen3 (7 DoF) joint table and a plain-numpy forward kinematics, independent of PyBullet.

The numbers are the public figures of Kinova's robot description (spec §3): every joint rotates
about its local z axis; a joint's origin (xyz, rpy) is given in its parent's frame, with URDF's
rpy convention ``R = Rz(yaw) · Ry(pitch) · Rx(roll)``. The URDF of the twin is generated from this
table (``urdf.py``), and the tests check PyBullet's kinematics against :func:`forward_kinematics`.

Also here: the held mug's frame relative to the tool frame, the home pose, and Tait-Bryan ZYX
(intrinsic) Euler angles, the orientation convention of the task's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PI = math.pi


@dataclass(frozen=True)
class JointSpec:
    """One revolute joint of the arm (``lower is None``: continuous)."""

    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]
    lower: float | None
    upper: float | None
    velocity: float  # rad/s
    effort: float  # N·m


LINKS: tuple[str, ...] = (
    "base_link",
    "shoulder_link",
    "half_arm_1_link",
    "half_arm_2_link",
    "forearm_link",
    "spherical_wrist_1_link",
    "spherical_wrist_2_link",
    "bracelet_link",
)
LINK_MASSES: dict[str, float] = {  # kg; bracelet with the vision module
    "base_link": 1.697,
    "shoulder_link": 1.3773,
    "half_arm_1_link": 1.1636,
    "half_arm_2_link": 1.1636,
    "forearm_link": 0.9302,
    "spherical_wrist_1_link": 0.6781,
    "spherical_wrist_2_link": 0.6781,
    "bracelet_link": 0.5,
}
_BIG_V, _SMALL_V = 1.3963, 1.2218  # rad/s, joints 1–4 and 5–7
_BIG_E, _SMALL_E = 39.0, 9.0  # N·m


def _joint(k: int, xyz: tuple[float, float, float], roll: float, limit: float | None = None):
    """Joint ``k`` (1–7) of the table: origin ``xyz`` and rpy ``(roll, 0, 0)``, symmetric limit."""
    wrist = k >= 5
    return JointSpec(
        f"joint_{k}",
        LINKS[k - 1],
        LINKS[k],
        xyz,
        (roll, 0.0, 0.0),
        None if limit is None else -limit,
        limit,
        _SMALL_V if wrist else _BIG_V,
        _SMALL_E if wrist else _BIG_E,
    )


JOINTS: tuple[JointSpec, ...] = (
    _joint(1, (0, 0, 0.15643), PI),
    _joint(2, (0, 0.005375, -0.12838), PI / 2, 2.24),
    _joint(3, (0, -0.21038, -0.006375), -PI / 2),
    _joint(4, (0, 0.006375, -0.21038), PI / 2, 2.57),
    _joint(5, (0, -0.20843, -0.006375), -PI / 2),
    _joint(6, (0, 0.00017505, -0.10593), PI / 2, 2.09),
    _joint(7, (0, -0.10593, -0.00017505), -PI / 2),
)
TOOL_XYZ = (0.0, 0.0, -0.061525)  # bracelet -> tool frame (fixed)
TOOL_RPY = (PI, 0.0, 0.0)
N_JOINTS = len(JOINTS)
JOINT_VELOCITY_LIMITS = np.array([j.velocity for j in JOINTS])
JOINT_EFFORT_LIMITS = np.array([j.effort for j in JOINTS])
JOINT_LOWER = np.array([-np.inf if j.lower is None else j.lower for j in JOINTS])
JOINT_UPPER = np.array([np.inf if j.upper is None else j.upper for j in JOINTS])

# Kinova's stored "Home" position (degrees): the tool points forward (+x), horizontally.
HOME_DEG = (0.0, 15.0, 180.0, -130.0, 0.0, 55.0, 90.0)
HOME = np.radians(HOME_DEG)

# The held mug (decided here): its centre is 0.16 m along the tool's z axis (gripper palm + finger
# length + mug radius); mug x = tool z (pouring rolls the mug about the approach axis, i.e. about
# joint 7), mug y = tool x, mug z (the mug's axis) = tool y, so at home the mug stands upright.
CUP_OFFSET = 0.16
TOOL_TO_CUP_ROTATION = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rpy_matrix(rpy: tuple[float, float, float]) -> np.ndarray:
    """URDF's fixed-axis roll-pitch-yaw: ``Rz(yaw) · Ry(pitch) · Rx(roll)``."""
    roll, pitch, yaw = rpy
    return rot_z(yaw) @ rot_y(pitch) @ rot_x(roll)


def matrix_rpy(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`rpy_matrix` (pitch in [−π/2, π/2])."""
    pitch = math.asin(max(-1.0, min(1.0, -rotation[2, 0])))
    if abs(rotation[2, 0]) > 1.0 - 1e-9:  # gimbal lock: yaw and roll share one axis; take yaw = 0
        sign = 1.0 if rotation[2, 0] < 0 else -1.0
        return math.atan2(sign * rotation[0, 1], rotation[1, 1]), pitch, 0.0
    roll = math.atan2(rotation[2, 1], rotation[2, 2])
    yaw = math.atan2(rotation[1, 0], rotation[0, 0])
    return roll, pitch, yaw


def transform(xyz: tuple[float, float, float], rotation: np.ndarray) -> np.ndarray:
    """4×4 homogeneous transform."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = xyz
    return out


def forward_kinematics(q: np.ndarray) -> list[np.ndarray]:
    """World frames (4×4, base at the origin) of links 1–7 (after each joint) and of the tool."""
    q = np.asarray(q, dtype=float)
    if q.shape != (N_JOINTS,):
        raise ValueError(f"q must have shape ({N_JOINTS},), got {q.shape}")
    frame = np.eye(4)
    frames = []
    for joint, angle in zip(JOINTS, q, strict=True):
        frame = frame @ transform(joint.xyz, rpy_matrix(joint.rpy) @ rot_z(angle))
        frames.append(frame)
    frames.append(frame @ transform(TOOL_XYZ, rpy_matrix(TOOL_RPY)))
    return frames


def tool_pose(q: np.ndarray) -> np.ndarray:
    """World 4×4 pose of the tool frame."""
    return forward_kinematics(q)[-1]


def tool_to_cup() -> np.ndarray:
    """4×4 pose of the mug frame in the tool frame."""
    return transform((0.0, 0.0, CUP_OFFSET), TOOL_TO_CUP_ROTATION)


def cup_pose(q: np.ndarray) -> np.ndarray:
    """World 4×4 pose of the mug frame (centre of the mug, z along its axis)."""
    return tool_pose(q) @ tool_to_cup()


def euler_zyx(rotation: np.ndarray) -> np.ndarray:
    """Tait-Bryan ZYX intrinsic angles ``(ψ, θ, φ)``: ``R = Rz(ψ) · Ry(θ) · Rx(φ)``."""
    roll, pitch, yaw = matrix_rpy(rotation)
    return np.array([yaw, pitch, roll])


def matrix_euler_zyx(psi: float, theta: float, phi: float) -> np.ndarray:
    """Rotation matrix of ZYX intrinsic angles (inverse of :func:`euler_zyx`)."""
    return rot_z(psi) @ rot_y(theta) @ rot_x(phi)


def angular_velocity_from_zyx_rates(euler: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """World angular velocity for ZYX angle rates: ``ψ̇ ẑ + θ̇ Rz(ψ) ŷ + φ̇ Rz(ψ) Ry(θ) x̂``."""
    psi, theta, _ = euler
    rz = rot_z(psi)
    return (
        rates[0] * np.array([0.0, 0.0, 1.0])
        + rates[1] * (rz @ np.array([0.0, 1.0, 0.0]))
        + rates[2] * (rz @ rot_y(theta) @ np.array([1.0, 0.0, 0.0]))
    )


def quaternion_matrix(quaternion: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion ``(x, y, z, w)`` (PyBullet's order)."""
    x, y, z, w = np.asarray(quaternion, dtype=float) / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_quaternion(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion ``(x, y, z, w)`` of a rotation matrix."""
    m = rotation
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
    out = np.array(q)
    return out / np.linalg.norm(out)
