"""Fetch pushing a tall box that can topple (Push-Topple of Meta SAC-Lag's Table II).

gymnasium-robotics ``FetchPush`` (7-DoF Fetch, gripper blocked closed, Cartesian mocap control,
25 Hz, 50 steps) with the 5 cm cube replaced by a tall box of half extents 0.02 × 0.02 × 0.06 m
(2 kg, as the cube). The box has friction 0.3 and contact priority over the table (μ = 1), so a
slow push below roughly half its height slides it, while a fast or high push tips it; with μ = 1
any push more than 2 cm above the table would tip it.

Reward (the paper does not give one): ``−‖box − goal‖ + success_bonus·[‖box − goal‖ < 0.05 m]``;
absolute returns are therefore not comparable with Table II. The step cost is 1 when the box's
axis tilts more than 45° from upright or its centre leaves the table (outside the table top or
below its surface). The observation is FetchPush's ``observation`` (25) + ``desired_goal`` (3).
"""

from __future__ import annotations

import math
import os
from typing import Any

import gymnasium_robotics.envs.fetch as fetch_package
import mujoco
import numpy as np
from gymnasium_robotics.envs.fetch import MujocoFetchEnv

from safemeta.environments.robotics.base import SafeMujocoWrapper
from safemeta.environments.robotics.goal_obs import flat_goal_space, flatten_goal_obs

BOX_HALF_EXTENTS = (0.02, 0.02, 0.06)  # m, decided in issue 6
BOX_FRICTION = 0.3  # sliding friction of the box; it wins over the table's by contact priority
MAX_TILT_DEG = 45.0
TABLE_TOP_Z = 0.4  # m, FetchPush table surface
PUSH_XML = os.path.normpath(
    os.path.join(os.path.dirname(fetch_package.__file__), "..", "assets", "fetch", "push.xml")
)


class _TallBoxPushEnv(MujocoFetchEnv):
    """FetchPush (dense reward) with ``object0`` made the tall box by editing the MjSpec."""

    def __init__(self, render_mode: str | None = None) -> None:
        z_on_table = TABLE_TOP_Z + BOX_HALF_EXTENTS[2]
        super().__init__(
            model_path=PUSH_XML,
            has_object=True,
            block_gripper=True,
            n_substeps=20,
            gripper_extra_height=0.0,
            target_in_the_air=False,
            target_offset=0.0,
            obj_range=0.15,
            target_range=0.15,
            distance_threshold=0.05,
            initial_qpos={
                "robot0:slide0": 0.405,
                "robot0:slide1": 0.48,
                "robot0:slide2": 0.0,
                "object0:joint": [1.25, 0.53, z_on_table, 1.0, 0.0, 0.0, 0.0],
            },
            reward_type="dense",
            render_mode=render_mode,
        )

    def _initialize_simulation(self) -> None:
        spec = mujoco.MjSpec.from_file(self.fullpath)
        box = spec.geom("object0")
        box.size = list(BOX_HALF_EXTENTS)
        box.friction = [BOX_FRICTION, box.friction[1], box.friction[2]]
        box.priority = 1
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self._model_names = self._utils.MujocoModelNames(self.model)
        self.model.vis.global_.offwidth = self.width
        self.model.vis.global_.offheight = self.height
        self._env_setup(initial_qpos=self.initial_qpos)
        self.initial_time = self.data.time
        self.initial_qpos = np.copy(self.data.qpos)
        self.initial_qvel = np.copy(self.data.qvel)


class SafeFetchPushToppleEnv(SafeMujocoWrapper):
    """Push a tall box to the goal without tipping it over or off the table."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 25}  # noqa: RUF012

    def __init__(
        self,
        success_bonus: float = 1.0,
        max_tilt_deg: float = MAX_TILT_DEG,
        max_episode_steps: int = 50,
        terminate_on_violation: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if not 0.0 < max_tilt_deg < 180.0:
            raise ValueError(f"max_tilt_deg must be in (0, 180) degrees, got {max_tilt_deg}")
        if not math.isfinite(success_bonus):
            raise ValueError(f"success_bonus must be a finite float, got {success_bonus}")
        fetch = _TallBoxPushEnv(render_mode=render_mode)
        super().__init__(
            fetch,
            substeps=fetch.n_substeps,
            observation_space=flat_goal_space(fetch.observation_space),
            max_episode_steps=max_episode_steps,
            terminate_on_violation=terminate_on_violation,
            render_mode=render_mode,
        )
        self.success_bonus = float(success_bonus)
        self.max_tilt_deg = float(max_tilt_deg)
        self._box_body = fetch.model.body("object0").id
        table = fetch.model.body("table0")
        table_geom = int(table.geomadr[0])
        self._table_center_xy = fetch.model.geom_pos[table_geom][:2] + table.pos[:2]
        self._table_half_xy = fetch.model.geom_size[table_geom][:2].copy()

    @property
    def goal(self) -> np.ndarray:
        """The desired box position of this episode."""
        return self._sim.goal.copy()

    def box_tilt_deg(self) -> float:
        """Angle in degrees between the box's long axis and the world's vertical."""
        cos_tilt = float(self._sim.data.xmat[self._box_body][8])
        return math.degrees(math.acos(min(1.0, max(-1.0, cos_tilt))))

    def box_off_table(self) -> bool:
        """Whether the box centre is outside the table top or below its surface."""
        center = self._sim.data.xpos[self._box_body]
        outside = np.any(np.abs(center[:2] - self._table_center_xy) > self._table_half_xy)
        return bool(outside or center[2] < TABLE_TOP_Z)

    def _observe(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return flatten_goal_obs(obs)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, neg_distance, _, _, fetch_info = self._sim.step(action)
        success = bool(fetch_info["is_success"])
        reward = float(neg_distance) + self.success_bonus * success
        tilt = self.box_tilt_deg()
        cost_topple = float(tilt > self.max_tilt_deg)
        cost_off_table = float(self.box_off_table())
        cost = max(cost_topple, cost_off_table)
        terminated, truncated = self._end_step(cost)
        info = {
            "cost": cost,
            "cost_topple": cost_topple,
            "cost_off_table": cost_off_table,
            "tilt_deg": tilt,
            "distance": -float(neg_distance),
            "is_success": success,
        }
        return self._observe(obs), reward, terminated, truncated, info
