"""The PyBullet digital twin: Gen3 + gripper + full mug on a table, with the target cup.

DIRECT mode (no GUI), one physics client per twin, 240 Hz fixed step. The arm is driven by joint
velocity motors limited to the joints' efforts (what a Cartesian twist becomes after
:func:`~safemeta.environments.pour_coffee.ik.resolved_rate`); self-collision is on for links that
are not parent and child. Scene frame = the arm's base frame (the table top is z = 0).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pybullet as p

from safemeta.environments.pour_coffee.ik import resolved_rate
from safemeta.environments.pour_coffee.kinematics import (
    HOME,
    JOINT_EFFORT_LIMITS,
    JOINT_LOWER,
    JOINT_UPPER,
    JOINT_VELOCITY_LIMITS,
    N_JOINTS,
)
from safemeta.environments.pour_coffee.urdf import MUG_HEIGHT, MUG_INNER_RADIUS, URDF_PATH

PHYSICS_HZ = 240
TABLE_HALF_EXTENTS = (0.5, 0.7, 0.02)  # m; top at z = 0, front edge 0.9 m ahead of the base
TABLE_CENTRE = (0.4, 0.0, -0.02 - 1e-3)
TARGET_CUP_RADIUS = 0.045
TARGET_CUP_HEIGHT = 0.10
TARGET_CUP_XY = (0.55, -0.25)  # m, decided here: ahead and to the right of the base


@dataclass(frozen=True)
class Contact:
    """One touching pair: ``kind`` is ``self``, ``table``, ``target_cup`` or ``particle``."""

    kind: str
    arm_link: int
    other_link: int
    distance: float


class KinovaTwin:
    """One PyBullet world with the arm, table and target cup; low-level, SI units and radians."""

    def __init__(self, target_cup_xy: tuple[float, float] = TARGET_CUP_XY) -> None:
        self.client = p.connect(p.DIRECT)
        cid = self.client
        p.setGravity(0, 0, -9.81, physicsClientId=cid)
        p.setPhysicsEngineParameter(fixedTimeStep=1.0 / PHYSICS_HZ, physicsClientId=cid)
        flags = (
            p.URDF_USE_SELF_COLLISION
            | p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
            | p.URDF_USE_INERTIA_FROM_FILE
        )
        self.arm = p.loadURDF(str(URDF_PATH), useFixedBase=True, flags=flags, physicsClientId=cid)
        names = [
            p.getJointInfo(self.arm, i, physicsClientId=cid)[12].decode()
            for i in range(p.getNumJoints(self.arm, physicsClientId=cid))
        ]
        self.joints = list(range(N_JOINTS))
        self.tool_link = names.index("end_effector_link")
        self.mug_link = names.index("mug_link")
        self.gripper_link = names.index("gripper_link")
        table_shape = p.createCollisionShape(
            p.GEOM_BOX, halfExtents=TABLE_HALF_EXTENTS, physicsClientId=cid
        )
        self.table = p.createMultiBody(0, table_shape, -1, TABLE_CENTRE, physicsClientId=cid)
        cup_shape = p.createCollisionShape(
            p.GEOM_CYLINDER,
            radius=TARGET_CUP_RADIUS,
            height=TARGET_CUP_HEIGHT,
            physicsClientId=cid,
        )
        self.target_cup_position = np.array([*target_cup_xy, TARGET_CUP_HEIGHT / 2])
        self.target_cup = p.createMultiBody(
            0, cup_shape, -1, self.target_cup_position.tolist(), physicsClientId=cid
        )
        self.particles: list[int] = []
        self.time = 0.0
        self.reset(HOME)

    # -- state -------------------------------------------------------------------------------
    def reset(self, q: np.ndarray) -> None:
        """Put the arm at joint angles ``q`` (rad), at rest; the clock restarts at 0."""
        for joint, angle in zip(self.joints, q, strict=True):
            p.resetJointState(self.arm, joint, float(angle), 0.0, physicsClientId=self.client)
        self.set_joint_velocities(np.zeros(N_JOINTS))
        p.performCollisionDetection(physicsClientId=self.client)  # contacts of the new pose
        self.time = 0.0

    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(positions rad, velocities rad/s, applied motor torques N·m)`` of joints 1–7."""
        states = p.getJointStates(self.arm, self.joints, physicsClientId=self.client)
        return (
            np.array([s[0] for s in states]),
            np.array([s[1] for s in states]),
            np.array([s[3] for s in states]),
        )

    def link_pose(self, link: int) -> tuple[np.ndarray, np.ndarray]:
        """``(position, quaternion xyzw)`` of a link's URDF frame."""
        state = p.getLinkState(
            self.arm, link, computeForwardKinematics=1, physicsClientId=self.client
        )
        return np.array(state[4]), np.array(state[5])

    def link_velocity(self, link: int) -> tuple[np.ndarray, np.ndarray]:
        """``(linear m/s, angular rad/s)`` of a link's centre of mass, world frame."""
        state = p.getLinkState(
            self.arm,
            link,
            computeLinkVelocity=1,
            computeForwardKinematics=1,
            physicsClientId=self.client,
        )
        return np.array(state[6]), np.array(state[7])

    def jacobian(self, link: int, q: np.ndarray) -> np.ndarray:
        """6×7 geometric Jacobian (linear rows first) of ``link``'s centre of mass at ``q``."""
        zeros = [0.0] * N_JOINTS
        linear, angular = p.calculateJacobian(
            self.arm, link, [0.0, 0.0, 0.0], list(map(float, q)), zeros, zeros,
            physicsClientId=self.client,
        )  # fmt: skip
        return np.vstack([np.array(linear), np.array(angular)])

    # -- motion ------------------------------------------------------------------------------
    def set_joint_velocities(self, qdot: np.ndarray) -> None:
        """Velocity motors on joints 1–7, each limited to its effort."""
        p.setJointMotorControlArray(
            self.arm,
            self.joints,
            p.VELOCITY_CONTROL,
            targetVelocities=list(map(float, qdot)),
            forces=JOINT_EFFORT_LIMITS.tolist(),
            physicsClientId=self.client,
        )

    def twist_to_joint_velocities(self, twist: np.ndarray, dt: float) -> np.ndarray:
        """Resolved-rate IK of a tool-frame twist (6,), base frame, at the current joint angles."""
        q, _, _ = self.joint_state()
        return resolved_rate(
            self.jacobian(self.tool_link, q),
            twist,
            q,
            lower=JOINT_LOWER,
            upper=JOINT_UPPER,
            velocity_limits=JOINT_VELOCITY_LIMITS,
            dt=dt,
            rest=HOME,
        )

    def step(self, substeps: int = 1) -> None:
        """Advance the physics by ``substeps`` fixed steps of 1/240 s."""
        for _ in range(substeps):
            p.stepSimulation(physicsClientId=self.client)
        self.time += substeps / PHYSICS_HZ

    # -- contacts ----------------------------------------------------------------------------
    def contacts(self) -> list[Contact]:
        """Touching pairs involving the arm (the mounted base on the table is not a contact)."""
        out = []
        for point in p.getContactPoints(bodyA=self.arm, physicsClientId=self.client):
            other, link_a, link_b, distance = point[2], point[3], point[4], point[8]
            if distance > 0.0:
                continue
            if other == self.arm:
                out.append(Contact("self", link_a, link_b, distance))
            elif other == self.table and link_a != -1:
                out.append(Contact("table", link_a, link_b, distance))
            elif other == self.target_cup:
                out.append(Contact("target_cup", link_a, link_b, distance))
        return out

    def in_collision(self) -> bool:
        """Self-collision or the arm (gripper, mug) touching the table or the target cup."""
        return bool(self.contacts())

    # -- particles (slow validation of the spill model) ---------------------------------------
    def fill_with_particles(self, count: int = 40, radius: float = 0.006) -> None:
        """Put ``count`` spheres in the mug, layered in its frame (40 fill it ≈ 7 cm deep)."""
        self.remove_particles()
        shape = p.createCollisionShape(p.GEOM_SPHERE, radius=radius, physicsClientId=self.client)
        position, quaternion = self.link_pose(self.mug_link)
        rotation = np.array(p.getMatrixFromQuaternion(quaternion)).reshape(3, 3)
        ring = MUG_INNER_RADIUS - radius - 0.004
        per_layer = 8
        for k in range(count):
            layer, slot = divmod(k, per_layer)
            angle = 2 * np.pi * slot / per_layer + 0.3 * layer
            local = np.array(
                [
                    ring * np.cos(angle) * (0.4 + 0.6 * (slot % 2)),
                    ring * np.sin(angle) * (0.4 + 0.6 * (slot % 2)),
                    -MUG_HEIGHT / 2 + 0.01 + 2.1 * radius * (layer + 0.5),
                ]
            )
            world = position + rotation @ local
            body = p.createMultiBody(0.01, shape, -1, world.tolist(), physicsClientId=self.client)
            # Frictionless, never asleep: the particles flow like a liquid (a sleeping particle
            # would not notice the mug turning under it).
            p.changeDynamics(
                body,
                -1,
                lateralFriction=0.0,
                restitution=0.0,
                activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING,
                physicsClientId=self.client,
            )
            self.particles.append(body)

    def particles_outside_mug(self) -> int:
        """How many particles are outside the mug's inner cylinder (i.e. were spilled)."""
        position, quaternion = self.link_pose(self.mug_link)
        rotation = np.array(p.getMatrixFromQuaternion(quaternion)).reshape(3, 3)
        outside = 0
        for body in self.particles:
            world, _ = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
            local = rotation.T @ (np.array(world) - position)
            radial = float(np.hypot(local[0], local[1]))
            if radial > MUG_INNER_RADIUS or abs(local[2]) > MUG_HEIGHT / 2:
                outside += 1
        return outside

    def remove_particles(self) -> None:
        for body in self.particles:
            p.removeBody(body, physicsClientId=self.client)
        self.particles = []

    def close(self) -> None:
        if self.client >= 0:
            p.disconnect(physicsClientId=self.client)
            self.client = -1

    def __del__(self) -> None:  # best effort at interpreter exit
        with contextlib.suppress(Exception):
            self.close()
