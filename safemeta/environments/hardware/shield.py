"""The safety shield of the arm actor (spec §5), whatever the backend.

Plain logic with an explicit clock, so every rule is testable without Ray or hardware:

- **clip**: a commanded tool twist is scaled down to the linear/angular speed limits (Kinova's ROS
  driver: 0.5 m/s, 1.74 rad/s), and its linear part is cut so that the tool stays inside the
  workspace box during the next control period;
- **watchdog**: :meth:`SafetyShield.watchdog_expired` is true once no command arrived for
  ``watchdog_timeout`` seconds (the controller then stops the arm at its next tick, i.e. within
  one control period);
- **latch**: a fault reported by the arm, a collision, a spill (spec §2 model, except at the goal)
  or any backend exception latches the shield; while latched no motion command is accepted, until an
  explicit :meth:`SafetyShield.reset`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from safemeta.environments.hardware.backend import Feedback, Twist
from safemeta.environments.pour_coffee.reward import D_THRESH
from safemeta.environments.pour_coffee.spillage import CupGeometry, spills
from safemeta.environments.pour_coffee.task import GOAL_POSITION, cup_state


@dataclass(frozen=True)
class ShieldConfig:
    """Shield limits (defaults: Kinova's twist limits, a box around the Pour Coffee scene)."""

    max_linear_speed: float = 0.5  # m/s
    max_angular_speed: float = 1.74  # rad/s
    workspace_low: tuple[float, float, float] = (0.15, -0.6, 0.15)  # m, tool position
    workspace_high: tuple[float, float, float] = (0.9, 0.6, 0.9)
    watchdog_timeout: float = 0.25  # s of command silence before the arm is stopped
    stop_on_spill: bool = True
    goal_position: tuple[float, float, float] = tuple(GOAL_POSITION)  # spill exempt near it
    goal_radius: float = D_THRESH
    cup: CupGeometry = field(default_factory=CupGeometry)

    def __post_init__(self) -> None:
        if not 0 < self.max_linear_speed <= 0.5:
            raise ValueError(
                f"max_linear_speed must be in (0, 0.5] m/s (Kinova's limit), got "
                f"{self.max_linear_speed}"
            )
        if not 0 < self.max_angular_speed <= 1.74:
            raise ValueError(
                f"max_angular_speed must be in (0, 1.74] rad/s (Kinova's limit), got "
                f"{self.max_angular_speed}"
            )
        if not np.all(np.less(self.workspace_low, self.workspace_high)):
            raise ValueError(
                f"workspace_low {self.workspace_low} must be below workspace_high "
                f"{self.workspace_high} on every axis"
            )
        if self.watchdog_timeout <= 0:
            raise ValueError(f"watchdog_timeout must be > 0 s, got {self.watchdog_timeout}")


class SafetyShield:
    """Clips commands, watches for silence, latches on faults; see the module docstring."""

    def __init__(self, config: ShieldConfig, period: float) -> None:
        if period <= 0:
            raise ValueError(f"period must be > 0 s, got {period}")
        self.config = config
        self.period = period
        self.low = np.asarray(config.workspace_low, dtype=float)
        self.high = np.asarray(config.workspace_high, dtype=float)
        self.goal = np.asarray(config.goal_position, dtype=float)
        self.latched = ""
        self.last_command_time: float | None = None
        self._previous: tuple[float, np.ndarray] | None = None  # (time, mug velocity)

    # -- commands -------------------------------------------------------------------------------
    def clip(self, twist: Twist, feedback: Feedback) -> Twist:
        """The twist limited to the speed limits and to the workspace box for one period."""
        linear = np.asarray(twist.linear, dtype=float).copy()
        angular = np.asarray(twist.angular, dtype=float).copy()
        if not (np.all(np.isfinite(linear)) and np.all(np.isfinite(angular))):
            return Twist.zero()
        speed = float(np.linalg.norm(linear))
        if speed > self.config.max_linear_speed:
            linear *= self.config.max_linear_speed / speed
        rate = float(np.linalg.norm(angular))
        if rate > self.config.max_angular_speed:
            angular *= self.config.max_angular_speed / rate
        position = np.asarray(feedback.tool_position, dtype=float)
        upper = np.maximum(self.high - position, 0.0) / self.period
        lower = np.minimum(self.low - position, 0.0) / self.period
        linear = np.clip(linear, lower, upper)
        return Twist(linear, angular)

    def accept(self, now: float) -> bool:
        """Record a command at ``now``; False (and nothing recorded) while latched."""
        if self.latched:
            return False
        self.last_command_time = now
        return True

    def watchdog_expired(self, now: float) -> bool:
        """A command was sent, and none since ``watchdog_timeout`` seconds."""
        last = self.last_command_time
        return last is not None and now - last > self.config.watchdog_timeout

    def forget_command(self) -> None:
        """After a watchdog stop: nothing is commanded any more."""
        self.last_command_time = None

    # -- state ----------------------------------------------------------------------------------
    def check(self, feedback: Feedback) -> str:
        """Why the arm must stop now (``""``: no reason): fault, collision or spill."""
        if feedback.in_fault:
            return f"fault: {feedback.fault or 'reported by the arm'}"
        if feedback.collision:
            return "collision"
        cup = cup_state(feedback)
        previous, self._previous = self._previous, (feedback.time, cup.linear_velocity)
        if not self.config.stop_on_spill or previous is None:
            return ""
        elapsed = feedback.time - previous[0]
        if elapsed <= 0 or not math.isfinite(elapsed):
            return ""
        acceleration = (cup.linear_velocity - previous[1]) / elapsed
        at_goal = float(np.linalg.norm(cup.position - self.goal)) <= self.config.goal_radius
        return "spill" if spills(cup.axis, acceleration, self.config.cup, at_goal=at_goal) else ""

    def latch(self, reason: str) -> None:
        """Refuse motion until :meth:`reset` (the first reason is kept)."""
        if not self.latched:
            self.latched = reason

    def reset(self) -> None:
        """The explicit reset: accept commands again, forget the motion history."""
        self.latched = ""
        self.last_command_time = None
        self._previous = None
