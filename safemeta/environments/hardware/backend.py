"""The arm backend interface (spec §5) and its data: one twist in, one feedback out, SI units.

Every backend speaks the same units whatever the hardware does internally: metres, seconds,
radians; twists are the tool frame's, expressed in the BASE frame; orientations are unit
quaternions ``(x, y, z, w)``. Backends raise :class:`BackendError` (with a stable ``code``) for
anything the arm refused or failed to do.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np


class BackendError(RuntimeError):
    """A backend operation failed; ``code`` is a short stable name (e.g. ``"in_fault"``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


@dataclass(frozen=True)
class Twist:
    """Tool twist in the BASE frame: linear (m/s) and angular (rad/s)."""

    linear: np.ndarray
    angular: np.ndarray

    @classmethod
    def zero(cls) -> Twist:
        return cls(np.zeros(3), np.zeros(3))

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> Twist:
        """From ``(vx, vy, vz, wx, wy, wz)``."""
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (6,):
            raise ValueError(f"a twist vector has 6 values (v, ω), got shape {vector.shape}")
        return cls(vector[:3].copy(), vector[3:].copy())

    def as_vector(self) -> np.ndarray:
        return np.concatenate([self.linear, self.angular])


@dataclass(frozen=True)
class Feedback:
    """One state reading of the arm (BASE frame, SI units)."""

    time: float  # s, the backend's clock
    tool_position: np.ndarray  # m
    tool_quaternion: np.ndarray  # (x, y, z, w)
    tool_linear_velocity: np.ndarray  # m/s
    tool_angular_velocity: np.ndarray  # rad/s
    joint_positions: np.ndarray  # rad
    joint_velocities: np.ndarray  # rad/s
    joint_torques: np.ndarray  # N·m
    in_fault: bool = False
    fault: str = ""  # why, when in_fault
    collision: bool = False  # detected contact (twin) or a collision fault (real arm)
    extra: dict = field(default_factory=dict)  # backend-specific diagnostics


class ArmBackend(abc.ABC):
    """What the hardware actor and the Pour Coffee env need from an arm.

    ``simulated`` backends have their own clock and move only when :meth:`advance` is called; real
    ones move in wall-clock time.
    """

    simulated: bool = False

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the connection/session (idempotent)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the arm if possible, then close the session and disconnect (idempotent)."""

    @abc.abstractmethod
    def feedback(self) -> Feedback:
        """The latest state."""

    @abc.abstractmethod
    def send_twist(self, twist: Twist) -> None:
        """Command a tool twist (held until the next command or stop)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Bring the arm to rest (not latched)."""

    @abc.abstractmethod
    def estop(self) -> None:
        """Emergency stop: latches a fault until :meth:`clear_faults`."""

    @abc.abstractmethod
    def clear_faults(self) -> None:
        """Clear latched faults (after an estop or a detected fault)."""

    @abc.abstractmethod
    def home(self) -> None:
        """Move to the home pose and wait until there (blocking)."""

    def advance(self, dt: float) -> None:
        """Simulated backends: move the clock and the physics on by ``dt`` seconds."""
        raise NotImplementedError(f"{type(self).__name__} runs in real time; nothing to advance")
