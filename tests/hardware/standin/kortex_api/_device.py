"""The simulated arm behind the stand-in: the twin, with Kinova-like firmware behaviour.

A test registers an arm in its own process with :func:`register_device`. A process that has not
(e.g. the Ray worker of the arm actor) finds the arm described by the JSON file at
``$KORTEX_STANDIN_ARM`` (``{"host", "port", "username", "password"}``): like an arm switched on at
that address with that account, it is created on the first connection to that address.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from safemeta.environments.pour_coffee.kinematics import HOME
from safemeta.environments.pour_coffee.twin import PHYSICS_HZ, KinovaTwin

DEVICES: dict[tuple[str, int], Device] = {}
CONFIG_VAR = "KORTEX_STANDIN_ARM"


class Device:
    """One simulated Gen3: the twin, a held twist (SI), a fault latch, what it received."""

    def __init__(self, username: str, password: str, period: float = 0.05) -> None:
        self.username, self.password = username, password
        self.period = period
        self.twin = KinovaTwin()
        self.twist: np.ndarray | None = None  # (v m/s, ω rad/s) in the base frame
        self.fault = 0  # fault bank a
        self.received: list[dict] = []  # raw twist commands, as sent
        self.sessions_open = 0

    def tool_rotation(self) -> np.ndarray:
        _, quaternion = self.twin.link_pose(self.twin.tool_link)
        return Rotation.from_quat(quaternion).as_matrix()

    def command_twist(self, linear_ms, angular_degs, frame_is_tool: bool) -> None:
        linear = np.asarray(linear_ms, dtype=float)
        angular = np.radians(np.asarray(angular_degs, dtype=float))  # firmware: deg/s -> rad/s
        if frame_is_tool:
            rotation = self.tool_rotation()
            linear, angular = rotation @ linear, rotation @ angular
        self.twist = np.concatenate([linear, angular])

    def advance(self) -> None:
        substeps = round(self.period * PHYSICS_HZ)
        for _ in range(0, substeps, 4):
            if self.twist is None or self.fault:
                self.twin.set_joint_velocities(np.zeros(7))
            else:
                self.twin.set_joint_velocities(
                    self.twin.twist_to_joint_velocities(self.twist, 4 / PHYSICS_HZ)
                )
            self.twin.step(4)
        if self.twin.contacts():  # Kinova's collision detection faults the arm
            self.fault |= 0x1
            self.twist = None

    def home(self) -> None:
        self.twist = None
        self.twin.reset(HOME)

    @property
    def time(self) -> float:
        return self.twin.time


def register_device(host: str, port: int, username: str, password: str) -> Device:
    device = Device(username, password)
    DEVICES[(host, port)] = device
    return device


def find_device(host: str, port: int) -> Device | None:
    """The arm at ``(host, port)``: registered here, or configured by ``$KORTEX_STANDIN_ARM``."""
    device = DEVICES.get((host, port))
    path = os.environ.get(CONFIG_VAR)
    if device is None and path:
        config = json.loads(Path(path).read_text())
        if (config["host"], int(config["port"])) == (host, port):
            device = register_device(host, port, config["username"], config["password"])
    return device


def clear_devices() -> None:
    for device in DEVICES.values():
        device.twin.close()
    DEVICES.clear()
