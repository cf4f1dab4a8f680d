"""Quasi-static free-surface spillage model (spec §2; the paper does not give one).

The liquid in an accelerating cup sits level with respect to the effective gravity: its surface
normal is ``n ∝ (a_x, a_y, g + a_z)`` (tilted by ``β = atan2(‖a_⊥‖, g + a_z)`` from the vertical).
In a cylinder of inner diameter D and height H filled to h, a surface tilted by γ relative to the
cup's cross-section climbs the wall by ``(D/2)·tan γ``; it reaches the rim when
``γ > atan(2 (H − h) / D)``. Spillage is that event, except near the goal cup where pouring is the
task. The particle check of ``twin.KinovaTwin.fill_with_particles`` validates the clear cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GRAVITY = 9.81


@dataclass(frozen=True)
class CupGeometry:
    """Inner diameter, height and fill height of the carried mug, in metres."""

    diameter: float = 0.08
    height: float = 0.10
    fill: float = 0.07

    def __post_init__(self) -> None:
        if not (self.diameter > 0 and self.height > 0):
            raise ValueError(
                f"cup diameter and height must be > 0, got {self.diameter}, {self.height}"
            )
        if not 0 < self.fill < self.height:
            raise ValueError(
                f"cup fill must be in (0, height={self.height}) m, got {self.fill}; "
                "a full-to-the-brim cup spills at any tilt"
            )

    @property
    def rim_angle(self) -> float:
        """Largest surface-to-cup angle (rad) before the liquid reaches the rim."""
        return math.atan(2.0 * (self.height - self.fill) / self.diameter)


def surface_normal(acceleration: np.ndarray) -> np.ndarray:
    """Unit normal of the free surface for cup acceleration ``a`` (world frame, m/s²)."""
    normal = np.array([acceleration[0], acceleration[1], GRAVITY + acceleration[2]], dtype=float)
    norm = float(np.linalg.norm(normal))
    return normal / norm if norm > 1e-12 else np.array([0.0, 0.0, 1.0])


def surface_tilt(acceleration: np.ndarray) -> float:
    """``β = atan2(‖a_⊥‖, g + a_z)``: the surface's tilt from the horizontal (rad)."""
    return math.atan2(math.hypot(acceleration[0], acceleration[1]), GRAVITY + acceleration[2])


def liquid_angle(cup_axis: np.ndarray, acceleration: np.ndarray) -> float:
    """Angle (rad) between the cup's axis (unit, world) and the free-surface normal."""
    cosine = float(np.dot(cup_axis, surface_normal(acceleration)))
    return math.acos(max(-1.0, min(1.0, cosine)))


def spills(
    cup_axis: np.ndarray, acceleration: np.ndarray, geometry: CupGeometry, *, at_goal: bool
) -> bool:
    """Whether the liquid reaches the rim (never counted while pouring ``at_goal``)."""
    return (not at_goal) and liquid_angle(cup_axis, acceleration) > geometry.rim_angle
