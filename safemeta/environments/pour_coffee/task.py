"""Task geometry of Pour Coffee and the mapping between the task (the mug) and the arm (the tool).

The agent acts on the mug: ``(ẋ, ẏ, ż)`` of its centre and the pouring rate ``φ̇`` (its roll, the
last of the ZYX angles); yaw and pitch are held at the goal's by a proportional term. The arm is
commanded in the tool frame (Kinova's twist semantics), so the mug twist is moved to the tool:
``v_tool = v_cup + ω × (p_tool − p_cup)``. Everything here is plain numpy on a ``Feedback``, so the
env, the hardware actor's shield and the deploy command share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safemeta.environments.hardware.backend import Feedback, Twist
from safemeta.environments.pour_coffee.kinematics import (
    CUP_OFFSET,
    TOOL_TO_CUP_ROTATION,
    angular_velocity_from_zyx_rates,
    euler_zyx,
    quaternion_matrix,
)
from safemeta.environments.pour_coffee.reward import wrapped_difference

# Decided here (the paper gives no coordinates): the mug's centre 8 cm beside and 12 cm above the
# rim of the target cup (at x = 0.55, y = −0.25 on the table), rolled by 1.4 rad (≈ 80°) about the
# forward axis so that its opening faces the target cup.
GOAL_POSITION = np.array([0.55, -0.17, 0.22])
GOAL_EULER = np.array([0.0, 0.0, 1.4])  # (ψ, θ, φ)
HOLD_GAIN = 2.0  # 1/s, proportional hold of yaw and pitch


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3-vector cross product (``np.cross`` costs ~10× more on one pair)."""
    return np.array(
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    )


@dataclass(frozen=True)
class CupState:
    """The mug in the BASE frame."""

    position: np.ndarray
    rotation: np.ndarray
    euler: np.ndarray  # (ψ, θ, φ), ZYX intrinsic
    linear_velocity: np.ndarray
    angular_velocity: np.ndarray

    @property
    def axis(self) -> np.ndarray:
        """The mug's axis (its z), pointing out of the opening."""
        return self.rotation[:, 2]


def cup_state(feedback: Feedback) -> CupState:
    """The mug's pose and velocity from the tool's (the mug is rigidly held)."""
    tool_rotation = quaternion_matrix(feedback.tool_quaternion)
    position = feedback.tool_position + tool_rotation[:, 2] * CUP_OFFSET
    rotation = tool_rotation @ TOOL_TO_CUP_ROTATION
    omega = np.asarray(feedback.tool_angular_velocity, dtype=float)
    velocity = feedback.tool_linear_velocity + cross(omega, position - feedback.tool_position)
    return CupState(position, rotation, euler_zyx(rotation), velocity, omega)


def tool_twist(
    cup: CupState,
    tool_position: np.ndarray,
    linear: np.ndarray,
    pour_rate: float,
    goal_euler: np.ndarray = GOAL_EULER,
    hold_gain: float = HOLD_GAIN,
) -> Twist:
    """The tool twist that moves the mug at ``linear`` (m/s) and rolls it at ``pour_rate``."""
    rates = np.array(
        [
            -hold_gain * wrapped_difference(cup.euler[0], goal_euler[0]),
            -hold_gain * wrapped_difference(cup.euler[1], goal_euler[1]),
            pour_rate,
        ]
    )
    omega = angular_velocity_from_zyx_rates(cup.euler, rates)
    return Twist(
        np.asarray(linear, dtype=float) + cross(omega, tool_position - cup.position), omega
    )
