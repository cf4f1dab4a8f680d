"""The ``twin`` backend: the PyBullet Gen3 twin behind the arm backend interface.

Same units and semantics as the real arm: a twist command is held until the next one (the twin's
resolved-rate controller turns it into joint velocities at ``ik_hz``), ``stop`` brings the arm to
rest, ``estop`` latches a fault until ``clear_faults``, and commands sent while in fault raise
``BackendError("in_fault")`` as Kinova's firmware refuses them. Optional command latency and
Gaussian sensor noise (seeded) make it a less polite arm. Its clock is simulated: nothing moves
until :meth:`advance`.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from safemeta.environments.hardware.backend import ArmBackend, BackendError, Feedback, Twist
from safemeta.environments.pour_coffee.kinematics import HOME
from safemeta.environments.pour_coffee.kinematics import JOINT_VELOCITY_LIMITS as VELOCITY_LIMITS
from safemeta.environments.pour_coffee.twin import PHYSICS_HZ, KinovaTwin

REFERENCE_GAIN = 20.0  # 1/s, joint-reference servo on top of the resolved-rate velocities
LEASH = 0.05  # rad, largest reference lead over the measured joint angle


class TwinBackend(ArmBackend):
    """A simulated Gen3 with the spec's joint table, gripper and full mug."""

    simulated = True

    def __init__(
        self,
        *,
        latency: float = 0.0,
        position_noise: float = 0.0,
        velocity_noise: float = 0.0,
        ik_hz: int = 60,
        seed: int | None = None,
    ) -> None:
        if latency < 0 or position_noise < 0 or velocity_noise < 0:
            raise ValueError(
                "latency, position_noise and velocity_noise must be >= 0, got "
                f"{latency}, {position_noise}, {velocity_noise}"
            )
        if ik_hz <= 0 or PHYSICS_HZ % ik_hz:
            raise ValueError(f"ik_hz must divide {PHYSICS_HZ} (e.g. 60, 120, 240), got {ik_hz}")
        self.latency = float(latency)
        self.position_noise = float(position_noise)
        self.velocity_noise = float(velocity_noise)
        self.substeps_per_ik = PHYSICS_HZ // ik_hz
        self.rng = np.random.default_rng(seed)
        self.twin: KinovaTwin | None = None
        self._pending: deque[tuple[float, Twist | None]] = deque()
        self._twist: Twist | None = None  # None: stopped (joint velocities held at zero)
        self._fault = ""
        self._q_ref = HOME.copy()

    def __repr__(self) -> str:
        return f"TwinBackend(latency={self.latency}, noise=({self.position_noise}, ...))"

    # -- session ------------------------------------------------------------------------------
    def connect(self) -> None:
        if self.twin is None:
            self.twin = KinovaTwin()
            self._q_ref = self.twin.joint_state()[0]

    def close(self) -> None:
        if self.twin is not None:
            self.twin.close()
            self.twin = None

    def _world(self) -> KinovaTwin:
        if self.twin is None:
            raise BackendError("not_connected", "call connect() before using the twin backend")
        return self.twin

    # -- commands -------------------------------------------------------------------------------
    def send_twist(self, twist: Twist) -> None:
        world = self._world()
        if self._fault:
            raise BackendError("in_fault", f"arm is in fault ({self._fault}); clear_faults first")
        self._pending.append((world.time + self.latency, twist))

    def stop(self) -> None:
        world = self._world()
        self._pending.clear()
        self._twist = None
        world.set_joint_velocities(np.zeros(7))
        self._q_ref = world.joint_state()[0]

    def estop(self) -> None:
        self.stop()
        self._fault = "emergency_stop"

    def clear_faults(self) -> None:
        self._fault = ""

    def home(self) -> None:
        self.reset_joints(HOME)

    def reset_joints(self, q: np.ndarray) -> None:
        """Twin only: teleport to joint angles ``q`` at rest (seeded episode starts)."""
        world = self._world()
        self._pending.clear()
        self._twist = None
        world.reset(q)
        self._q_ref = np.array(q, dtype=float)

    # -- clock ----------------------------------------------------------------------------------
    def advance(self, dt: float) -> None:
        world = self._world()
        steps = round(dt * PHYSICS_HZ)
        if steps < 1 or abs(steps - dt * PHYSICS_HZ) > 1e-6:
            raise ValueError(f"dt must be a positive multiple of 1/{PHYSICS_HZ} s, got {dt}")
        done = 0
        while done < steps:
            while self._pending and self._pending[0][0] <= world.time + 1e-9:
                self._twist = self._pending.popleft()[1]
            chunk = min(self.substeps_per_ik, steps - done)
            q, moving, _ = world.joint_state()
            if self._twist is None:
                qdot = np.zeros(7)
                if np.max(np.abs(moving)) > 0.02:  # braking: hold where the arm comes to rest
                    self._q_ref = q
            else:
                qdot = world.twist_to_joint_velocities(self._twist.as_vector(), chunk / PHYSICS_HZ)
            # Servo to the integrated joint reference (no drift at rest, none along a path); the
            # reference stays within LEASH of the arm, so a blocked arm does not wind up.
            self._q_ref = q + np.clip(self._q_ref - q, -LEASH, LEASH)
            command = qdot + REFERENCE_GAIN * (self._q_ref - q)
            world.set_joint_velocities(np.clip(command, -VELOCITY_LIMITS, VELOCITY_LIMITS))
            self._q_ref = self._q_ref + qdot * chunk / PHYSICS_HZ
            world.step(chunk)
            done += chunk

    # -- state ----------------------------------------------------------------------------------
    def feedback(self) -> Feedback:
        world = self._world()
        q, qdot, torques = world.joint_state()
        position, quaternion = world.link_pose(world.tool_link)
        linear, angular = world.link_velocity(world.tool_link)
        if self.position_noise:
            position = position + self.rng.normal(0.0, self.position_noise, 3)
            q = q + self.rng.normal(0.0, self.position_noise, 7)
        if self.velocity_noise:
            linear = linear + self.rng.normal(0.0, self.velocity_noise, 3)
            angular = angular + self.rng.normal(0.0, self.velocity_noise, 3)
        contacts = world.contacts()
        return Feedback(
            time=world.time,
            tool_position=position,
            tool_quaternion=quaternion,
            tool_linear_velocity=linear,
            tool_angular_velocity=angular,
            joint_positions=q,
            joint_velocities=qdot,
            joint_torques=torques,
            in_fault=bool(self._fault),
            fault=self._fault,
            collision=bool(contacts),
            extra={"contacts": sorted({c.kind for c in contacts})},
        )
