"""Resolved-rate inverse kinematics: a Cartesian twist -> joint velocities that respect the limits.

This is the twin's stand-in for the arm's own Cartesian controller (Kinova's firmware maps a
``SendTwistCommand`` to joint motion the same way in spirit): damped least squares on the tool
Jacobian, a null-space pull towards a rest posture for the redundant 7th DoF, joints at a position
limit locked when the motion would push them further, and the joint velocities scaled down together
(direction kept) to the velocity limits.
"""

from __future__ import annotations

import numpy as np


def damped_pseudo_inverse(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """``Jᵀ (J Jᵀ + λ² I)⁻¹``: the damped least-squares inverse (well-behaved at singularities)."""
    rows = jacobian.shape[0]
    gram = jacobian @ jacobian.T + (damping**2) * np.eye(rows)
    return np.linalg.solve(gram, jacobian).T  # gram is symmetric


def wrap_angle(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to (−π, π]."""
    return -((-np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi)


def resolved_rate(
    jacobian: np.ndarray,
    twist: np.ndarray,
    q: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    velocity_limits: np.ndarray,
    dt: float,
    rest: np.ndarray | None = None,
    rest_gain: float = 0.5,
    damping: float = 0.02,
    limit_margin: float = 0.03,
) -> np.ndarray:
    """Joint velocities realising ``twist = (v, ω)`` (6,) with the 6×n ``jacobian`` at ``q``.

    A joint whose next position ``q + q̇·dt`` would pass ``limit ∓ limit_margin`` in the direction
    it moves is locked (its Jacobian column removed) and the rest re-solved; ``rest`` (joint angles,
    continuous joints compared modulo 2π) adds ``rest_gain · (rest − q)`` in the Jacobian's null
    space. Finally all velocities are scaled by one factor so none exceeds its limit.
    """
    n = jacobian.shape[1]
    free = np.ones(n, dtype=bool)
    qdot = np.zeros(n)
    for _ in range(n):
        jac = jacobian[:, free]
        pinv = damped_pseudo_inverse(jac, damping)
        solution = pinv @ twist
        if rest is not None and rest_gain > 0.0:
            pull = rest_gain * wrap_angle(rest[free] - q[free])
            solution += (np.eye(int(free.sum())) - pinv @ jac) @ pull
        qdot = np.zeros(n)
        qdot[free] = solution
        next_q = q + qdot * dt
        blocked = free & (
            ((next_q > upper - limit_margin) & (qdot > 0))
            | ((next_q < lower + limit_margin) & (qdot < 0))
        )
        if not blocked.any():
            break
        free &= ~blocked
        if not free.any():
            return np.zeros(n)
    scale = float(np.max(np.abs(qdot) / velocity_limits))
    return qdot / scale if scale > 1.0 else qdot
