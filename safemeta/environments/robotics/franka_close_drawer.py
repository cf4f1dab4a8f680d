"""Franka Panda closing a sliding cabinet while avoiding a red box (Franka DrawerClose substitute).

Stands in for Isaac Gym's Freight-FrankaCloseDrawer of Meta SAC-Lag's Table II (Isaac Gym is not
installable here); the scene is gymnasium-robotics' Franka Kitchen reduced to the robot and the
wall-mounted sliding cabinet (``franka_drawer_scene``). Each episode starts with the cabinet door
open by U(0.30, 0.40) m and the arm at Franka Kitchen's home posture plus U(±0.02) rad noise.

Actions are seven joint-velocity commands in [-1, 1] × ``max_joint_speed``, integrated into the
targets of the arm's position servos (40 × 2 ms substeps, 12.5 Hz, as in Franka Kitchen). Unlike
Franka Kitchen's ``q + q̇·dt`` the target persists between steps, so a zero action holds the
posture instead of sagging; it stays within ``MAX_TARGET_LAG`` of the joints. The fingers stay
closed. Observation (22): arm joint positions (7) and velocities (7), end-effector position (3),
handle position (3), door opening and its rate (2).

Reward: ``progress_weight·(previous opening − opening) + success_bonus·[opening < closed_within]``.
Cost: 1 when the end-effector site is inside the red forbidden box.

Rendering: ``render_mode="rgb_array"`` draws the scene offscreen with ``mujoco.Renderer`` from a
fixed camera in the room facing the cabinet (the red box visible); on a machine without a display
set ``MUJOCO_GL=egl`` (or ``osmesa``) before Python imports mujoco. No ``human`` mode.
"""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from safemeta.environments.offscreen import offscreen_renderer
from safemeta.environments.robotics.base import SafeRoboticEnv
from safemeta.environments.robotics.franka_drawer_scene import (
    ARM_HOME,
    ARM_JOINTS,
    DRAWER_JOINT,
    END_EFFECTOR_SITE,
    FINGER_JOINTS,
    FORBIDDEN_CENTER,
    FORBIDDEN_HALF_EXTENTS,
    HANDLE_SITE,
    build_drawer_model,
)

SUBSTEPS = 40  # Franka Kitchen's frame skip
INITIAL_OPENING = (0.30, 0.40)  # m, uniform
ARM_NOISE = 0.02  # rad, uniform ± on each arm joint at reset
MAX_TARGET_LAG = 0.25  # rad, bound on |servo target − joint position| against wind-up in contact
# The rgb_array camera: in the room, looking at the arm, the red box and the open cabinet.
CAMERA_LOOKAT = (-0.05, 0.30, 2.20)
CAMERA_DISTANCE, CAMERA_AZIMUTH, CAMERA_ELEVATION = 2.4, 60.0, -20.0


class SafeFrankaCloseDrawerEnv(SafeRoboticEnv):
    """Close the open sliding cabinet; cost 1 while the end-effector is in the forbidden box."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 12}  # noqa: RUF012

    def __init__(
        self,
        progress_weight: float = 10.0,
        success_bonus: float = 1.0,
        closed_within: float = 0.02,
        max_joint_speed: float = 2.0,
        max_episode_steps: int = 200,
        terminate_on_violation: bool = False,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (480, 480),
    ) -> None:
        for field, value in (
            ("progress_weight", progress_weight),
            ("success_bonus", success_bonus),
        ):
            if not math.isfinite(value):
                raise ValueError(f"{field} must be a finite float, got {value}")
        if not 0.0 < closed_within < INITIAL_OPENING[0]:
            raise ValueError(
                f"closed_within must be in (0, {INITIAL_OPENING[0]}) m so episodes start open, "
                f"got {closed_within}"
            )
        if not max_joint_speed > 0:
            raise ValueError(f"max_joint_speed must be > 0 rad/s, got {max_joint_speed}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        width, height = render_size
        if not (0 < width <= 2560 and 0 < height <= 1920):  # the kitchen's offscreen buffer
            raise ValueError(
                f"render_size must be (width, height) within 2560x1920, got {render_size}"
            )
        super().__init__(
            max_episode_steps=max_episode_steps,
            terminate_on_violation=terminate_on_violation,
            render_mode=render_mode,
        )
        self.progress_weight = float(progress_weight)
        self.success_bonus = float(success_bonus)
        self.closed_within = float(closed_within)
        self.max_joint_speed = float(max_joint_speed)
        self.render_size = (int(width), int(height))
        self._renderer: mujoco.Renderer | None = None

        self.model = build_drawer_model()
        self.data = mujoco.MjData(self.model)
        self.dt = self.model.opt.timestep * SUBSTEPS
        model = self.model
        self._arm_qpos = np.array([model.joint(name).qposadr[0] for name in ARM_JOINTS])
        self._arm_qvel = np.array([model.joint(name).dofadr[0] for name in ARM_JOINTS])
        self._finger_qpos = np.array([model.joint(name).qposadr[0] for name in FINGER_JOINTS])
        self._drawer_qpos = model.joint(DRAWER_JOINT).qposadr[0]
        self._drawer_qvel = model.joint(DRAWER_JOINT).dofadr[0]
        self._arm_actuators = np.array(
            [
                int(np.flatnonzero(model.actuator_trnid[:, 0] == model.joint(name).id)[0])
                for name in ARM_JOINTS
            ]
        )
        self._arm_ctrl_range = model.actuator_ctrlrange[self._arm_actuators]
        self._ee_site = model.site(END_EFFECTOR_SITE).id
        self._handle_site = model.site(HANDLE_SITE).id

        self.action_space = spaces.Box(-1.0, 1.0, shape=(7,), dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(22,), dtype=np.float64)
        self._target = ARM_HOME.copy()
        self._opening = 0.0

    @property
    def opening(self) -> float:
        """How far the cabinet door is open, in metres (0 is closed)."""
        return float(self.data.qpos[self._drawer_qpos])

    def end_effector_position(self) -> np.ndarray:
        """World position of the Panda's end-effector site."""
        return self.data.site_xpos[self._ee_site].copy()

    def in_forbidden_zone(self) -> bool:
        """Whether the end-effector site is inside the red box."""
        offset = np.abs(self.data.site_xpos[self._ee_site] - FORBIDDEN_CENTER)
        return bool(np.all(offset <= FORBIDDEN_HALF_EXTENTS))

    def _observation(self) -> np.ndarray:
        data = self.data
        return np.concatenate(
            [
                data.qpos[self._arm_qpos],
                data.qvel[self._arm_qvel],
                data.site_xpos[self._ee_site],
                data.site_xpos[self._handle_site],
                [data.qpos[self._drawer_qpos], data.qvel[self._drawer_qvel]],
            ]
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._start_episode(seed)
        mujoco.mj_resetData(self.model, self.data)
        arm = ARM_HOME + self.np_random.uniform(-ARM_NOISE, ARM_NOISE, size=7)
        self.data.qpos[self._arm_qpos] = arm
        self.data.qpos[self._finger_qpos] = 0.0
        self.data.qpos[self._drawer_qpos] = self.np_random.uniform(*INITIAL_OPENING)
        self.data.ctrl[:] = 0.0
        self.data.ctrl[self._arm_actuators] = arm
        self._target = arm.copy()
        mujoco.mj_forward(self.model, self.data)
        self._opening = self.opening
        return self._observation(), {"opening": self._opening}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if action.shape != (7,):
            raise ValueError(f"action must have shape (7,), got {action.shape}")
        joints = self.data.qpos[self._arm_qpos]
        target = self._target + action * self.max_joint_speed * self.dt
        target = np.clip(target, joints - MAX_TARGET_LAG, joints + MAX_TARGET_LAG)
        self._target = np.clip(target, self._arm_ctrl_range[:, 0], self._arm_ctrl_range[:, 1])
        self.data.ctrl[self._arm_actuators] = self._target
        mujoco.mj_step(self.model, self.data, nstep=SUBSTEPS)

        opening = self.opening
        success = opening < self.closed_within
        reward = self.progress_weight * (self._opening - opening) + self.success_bonus * success
        self._opening = opening
        cost = float(self.in_forbidden_zone())
        terminated, truncated = self._end_step(cost)
        info = {
            "cost": cost,
            "cost_forbidden_zone": cost,
            "opening": opening,
            "is_success": bool(success),
        }
        return self._observation(), float(reward), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """An RGB frame (height, width, 3) if ``render_mode="rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = offscreen_renderer(self.model, *self.render_size)
        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.lookat[:] = CAMERA_LOOKAT
        camera.distance, camera.azimuth = CAMERA_DISTANCE, CAMERA_AZIMUTH
        camera.elevation = CAMERA_ELEVATION
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def physics_reference(self) -> tuple[mujoco.MjModel, mujoco.MjData, int]:
        """``(model, copy of the current data, mj_steps per env step)`` for throughput runs."""
        data = mujoco.MjData(self.model)
        mujoco.mj_copyData(data, self.model, self.data)
        return self.model, data, SUBSTEPS
