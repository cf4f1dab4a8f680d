"""Eq. 17 of Meta SAC-Lag, the Table III reward/constraint settings, the Fig. 4 effort metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

R1_DISTANCE = -2.0
R2_ACCELERATION = -0.05
R3_SPILL = -1.0
D_THRESH = 0.05  # m
POUR_BONUS = 10.0
SUCCESS_ANGLE = 0.1  # rad, |φ_cup − φ_goal| for success (spec §1)


@dataclass(frozen=True)
class Setting:
    """One row of Table III: which reward terms are on and which violations cost."""

    acceleration_term: bool
    spill_term: bool
    collision_cost: bool
    spill_cost: bool


SETTINGS: dict[str, Setting] = {
    "sim1": Setting(
        acceleration_term=False, spill_term=False, collision_cost=True, spill_cost=True
    ),
    "sim2": Setting(
        acceleration_term=True, spill_term=False, collision_cost=True, spill_cost=False
    ),
    "sim3": Setting(acceleration_term=True, spill_term=True, collision_cost=True, spill_cost=True),
    "sim4": Setting(acceleration_term=True, spill_term=True, collision_cost=True, spill_cost=True),
    "real": Setting(
        acceleration_term=False, spill_term=False, collision_cost=True, spill_cost=True
    ),
}


def wrapped_difference(a: float, b: float) -> float:
    """``a − b`` wrapped to (−π, π]."""
    return -((b - a + math.pi) % (2 * math.pi) - math.pi)


def pour_reward(
    distance: float,
    acceleration_norm: float,
    spilled: bool,
    phi: float,
    phi_goal: float,
    setting: Setting,
    d_thresh: float = D_THRESH,
) -> float:
    """Eq. 17: ``r1·d + r2·‖Ẍ‖ + r3·1[spill]`` if ``d > d_thresh``, else ``−|φ − φ_goal| + 10``.

    Terms a setting switches off (Table III) contribute 0; ``φ − φ_goal`` is wrapped to (−π, π].
    """
    if distance > d_thresh:
        reward = R1_DISTANCE * distance
        if setting.acceleration_term:
            reward += R2_ACCELERATION * acceleration_norm
        if setting.spill_term and spilled:
            reward += R3_SPILL
        return reward
    return -abs(wrapped_difference(phi, phi_goal)) + POUR_BONUS


class EffortMeter:
    """Running mean/max of the end-effector acceleration and jerk norms over one episode (Fig. 4).

    Finite differences at the control period ``dt`` of the measured velocity; the arm starts at rest
    (zero velocity and acceleration before the first step).
    """

    def __init__(self, dt: float) -> None:
        self.dt = dt
        self.reset()

    def reset(self) -> None:
        self.velocity = np.zeros(3)
        self.acceleration = np.zeros(3)
        self.steps = 0
        self.acc_sum = self.acc_max = self.jerk_sum = self.jerk_max = 0.0

    def update(self, velocity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Record the velocity after one step; returns ``(acceleration, jerk)`` vectors."""
        acceleration = (velocity - self.velocity) / self.dt
        jerk = (acceleration - self.acceleration) / self.dt
        self.velocity, self.acceleration = velocity.copy(), acceleration
        a, j = float(np.linalg.norm(acceleration)), float(np.linalg.norm(jerk))
        self.steps += 1
        self.acc_sum += a
        self.jerk_sum += j
        self.acc_max = max(self.acc_max, a)
        self.jerk_max = max(self.jerk_max, j)
        return acceleration, jerk

    def summary(self) -> dict[str, float]:
        n = max(self.steps, 1)
        return {
            "ee_acc_mean": self.acc_sum / n,
            "ee_acc_max": self.acc_max,
            "ee_jerk_mean": self.jerk_sum / n,
            "ee_jerk_max": self.jerk_max,
        }
