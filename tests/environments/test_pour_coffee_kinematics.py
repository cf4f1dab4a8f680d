"""The Gen3 twin's URDF and kinematics against the spec's joint table and hand-computed poses."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from safemeta.environments.pour_coffee import kinematics as kin
from safemeta.environments.pour_coffee.ik import resolved_rate
from safemeta.environments.pour_coffee.twin import PHYSICS_HZ, KinovaTwin
from safemeta.environments.pour_coffee.urdf import URDF_PATH, gen3_urdf

# Sums of the joint table's offsets along the straight (zero) pose, by hand.
Z_OFFSETS = 0.15643 + 0.12838 + 0.21038 + 0.21038 + 0.20843 + 0.10593 + 0.10593 + 0.061525
Y_OFFSETS = -(0.005375 + 3 * 0.006375 + 2 * 0.00017505)
SHOULDER_HEIGHT = 0.15643 + 0.12838  # joint 2's axis above the base


@pytest.fixture(scope="module")
def twin():
    world = KinovaTwin()
    yield world
    world.close()


def test_committed_urdf_is_the_generated_one():
    assert URDF_PATH.read_text() == gen3_urdf(), (
        "run python -m safemeta.environments.pour_coffee.urdf"
    )


def test_urdf_joints_match_the_spec_table():
    root = ET.parse(URDF_PATH).getroot()
    joints = {j.get("name"): j for j in root.iter("joint")}
    for spec in kin.JOINTS:
        joint = joints[spec.name]
        origin = joint.find("origin")
        assert np.allclose([float(v) for v in origin.get("xyz").split()], spec.xyz, atol=1e-8)
        assert np.allclose([float(v) for v in origin.get("rpy").split()], spec.rpy, atol=1e-7)
        limit = joint.find("limit")
        assert float(limit.get("velocity")) == spec.velocity
        assert float(limit.get("effort")) == spec.effort
        if spec.lower is None:
            assert joint.get("type") == "continuous"
        else:
            assert joint.get("type") == "revolute"
            assert (float(limit.get("lower")), float(limit.get("upper"))) == (
                spec.lower,
                spec.upper,
            )
    masses = {
        link.get("name"): float(link.find("inertial/mass").get("value"))
        for link in root.iter("link")
    }
    assert {name: masses[name] for name in kin.LINK_MASSES} == kin.LINK_MASSES


def test_zero_pose_puts_the_tool_1_187_m_above_the_base(twin):
    assert pytest.approx(1.187385) == Z_OFFSETS
    expected = np.array([0.0, Y_OFFSETS, Z_OFFSETS])
    assert np.allclose(kin.tool_pose(np.zeros(7))[:3, 3], expected, atol=1e-9)
    twin.reset(np.zeros(7))
    position, _ = twin.link_pose(twin.tool_link)
    assert np.allclose(position, expected, atol=1e-5)


def test_hand_computed_poses():
    # Joint 1 at +90°: joint 1's frame is flipped (rpy π), so the arm turns about −z:
    # (x, y) -> (y, −x).
    q = np.zeros(7)
    q[0] = math.pi / 2
    assert np.allclose(kin.tool_pose(q)[:3, 3], [Y_OFFSETS, 0.0, Z_OFFSETS], atol=1e-9)
    # Joint 2 at +90°: its axis is the world's +y; everything above the shoulder tips to +x,
    # horizontal at the shoulder's height (the ≈ 0.90 m reach).
    q = np.zeros(7)
    q[1] = math.pi / 2
    tool = kin.tool_pose(q)
    assert np.allclose(tool[:3, 3], [Z_OFFSETS - SHOULDER_HEIGHT, Y_OFFSETS, SHOULDER_HEIGHT])
    assert np.allclose(tool[:3, 2], [1.0, 0.0, 0.0], atol=1e-9)  # the tool points along +x
    # Kinova's "Home" (0, 15, 180, −130, 0, 55, 90)°: the documented tool pose is
    # (0.457, 0.001, 0.434) m with the tool's z axis forward and horizontal.
    home = kin.tool_pose(kin.HOME)
    assert np.allclose(home[:3, 3], [0.457, 0.001, 0.434], atol=1.5e-3)
    assert np.allclose(home[:3, 2], [1.0, 0.0, 0.0], atol=1e-9)
    # ... and the mug held 0.16 m ahead of the tool stands upright.
    cup = kin.cup_pose(kin.HOME)
    assert np.allclose(cup[:3, :3], np.eye(3), atol=1e-9)
    assert np.allclose(cup[:3, 3], home[:3, 3] + [0.16, 0.0, 0.0])


def test_pybullet_agrees_with_the_numpy_kinematics(twin):
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.uniform(np.maximum(kin.JOINT_LOWER, -3), np.minimum(kin.JOINT_UPPER, 3))
        twin.reset(q)
        for link, expected in (
            (twin.tool_link, kin.tool_pose(q)),
            (twin.mug_link, kin.cup_pose(q)),
        ):
            position, quaternion = twin.link_pose(link)
            assert np.allclose(position, expected[:3, 3], atol=1e-5)
            assert np.allclose(kin.quaternion_matrix(quaternion), expected[:3, :3], atol=1e-5)


def test_jacobian_matches_finite_differences_of_the_kinematics(twin):
    q = kin.HOME + 0.1
    jacobian = twin.jacobian(twin.tool_link, q)
    eps = 1e-6
    for j in range(7):
        dq = np.zeros(7)
        dq[j] = eps
        numeric = (kin.tool_pose(q + dq)[:3, 3] - kin.tool_pose(q - dq)[:3, 3]) / (2 * eps)
        assert np.allclose(jacobian[:3, j], numeric, atol=1e-5)


def test_euler_and_rpy_conversions_round_trip_including_gimbal_lock():
    rng = np.random.default_rng(1)
    for _ in range(200):
        roll, pitch, yaw = rng.uniform(-math.pi, math.pi, 3)
        for p in (pitch / 2, math.pi / 2, -math.pi / 2):
            rotation = kin.rpy_matrix((roll, p, yaw))
            assert np.allclose(kin.rpy_matrix(kin.matrix_rpy(rotation)), rotation, atol=1e-9)
        psi, theta, phi = kin.euler_zyx(kin.matrix_euler_zyx(yaw, pitch / 2, roll))
        assert np.allclose([psi, theta, phi], [yaw, pitch / 2, roll], atol=1e-9)
        rotation = kin.matrix_euler_zyx(yaw, pitch / 2, roll)
        assert np.allclose(kin.quaternion_matrix(kin.matrix_quaternion(rotation)), rotation)


def test_twin_tracks_a_commanded_twist(twin):
    twin.reset(kin.HOME)
    twist = np.array([0.05, -0.1, 0.03, 0.0, 0.0, 0.3])
    for _ in range(PHYSICS_HZ // 4):  # 0.25 s
        twin.set_joint_velocities(twin.twist_to_joint_velocities(twist, 4 / PHYSICS_HZ))
        twin.step(1)
    linear, angular = twin.link_velocity(twin.tool_link)
    assert np.allclose(linear, twist[:3], atol=2e-3)
    assert np.allclose(angular, twist[3:], atol=1e-2)


def test_resolved_rate_respects_position_and_velocity_limits():
    lower, upper = kin.JOINT_LOWER, kin.JOINT_UPPER
    q = kin.HOME.copy()
    q[3] = upper[3] - 0.01  # joint 4 at its limit
    jacobian = np.eye(6, 7)
    jacobian[3, 3] = 1.0  # a twist that only joint 4 would realise, pushing it further
    twist = np.array([0, 0, 0, 5.0, 0, 0])
    qdot = resolved_rate(
        jacobian, twist, q, lower=lower, upper=upper, velocity_limits=kin.JOINT_VELOCITY_LIMITS,
        dt=0.05, rest=None,
    )  # fmt: skip
    assert qdot[3] <= 0.0
    assert np.all(np.abs(qdot) <= kin.JOINT_VELOCITY_LIMITS + 1e-12)
    # A huge twist is scaled down as a whole (the direction is kept).
    big = resolved_rate(
        jacobian, np.array([10.0, 0, 0, 0, 0, 0]), kin.HOME, lower=lower, upper=upper,
        velocity_limits=kin.JOINT_VELOCITY_LIMITS, dt=0.05,
    )  # fmt: skip
    assert np.max(np.abs(big) / kin.JOINT_VELOCITY_LIMITS) == pytest.approx(1.0)


def test_long_push_keeps_joints_within_limits(twin):
    twin.reset(kin.HOME)
    limited = np.isfinite(kin.JOINT_UPPER)
    for _ in range(3 * PHYSICS_HZ // 4):  # 3 s upward and forward at 0.3 m/s: out of reach
        qdot = twin.twist_to_joint_velocities(np.array([0.2, 0, 0.22, 0, 0, 0]), 4 / PHYSICS_HZ)
        assert np.all(np.abs(qdot) <= kin.JOINT_VELOCITY_LIMITS + 1e-9)
        twin.set_joint_velocities(qdot)
        twin.step(4)
        q, _, _ = twin.joint_state()
        assert np.all(np.abs(q[limited]) <= kin.JOINT_UPPER[limited])
    # The arm ends stretched out: joint 4 (the elbow) at ≈ 0, unable to go further.
    assert abs(q[3]) < 0.1


def test_contacts_self_and_table(twin):
    twin.reset(np.zeros(7))
    assert twin.contacts() == []
    twin.reset(kin.HOME)
    assert twin.contacts() == []
    twin.reset(np.array([0, 0.5, 0, 2.57, 0, 2.0, 0]))  # forearm folded back onto the arm
    assert {c.kind for c in twin.contacts()} == {"self"}
    twin.reset(np.array([0, 2.0, 0, 0, 0, 0, 0]))  # leaning forward into the table
    assert {c.kind for c in twin.contacts()} == {"table"}
