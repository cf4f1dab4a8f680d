"""One compiled world and the index arrays the environment reads every step.

:class:`NavPhysics` owns an ``MjModel``/``MjData`` pair for one :class:`~.world.Structure`. Reset
moves bodies (joint ``qpos`` and mocap positions) instead of recompiling.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from safemeta.environments.navigation.layout import Layout
from safemeta.environments.navigation.robots import Robot
from safemeta.environments.navigation.tasks import NavTask
from safemeta.environments.navigation.world import Structure, build_model

SUBSTEPS = 10
"""``mj_step`` calls per environment step (spec §1: Binomial(10, 1.0) = 10)."""

# Geom tags used to classify contacts.
TAG_OTHER, TAG_AGENT, TAG_VASE, TAG_BUTTON, TAG_GREMLIN = 0, 1, 2, 3, 4


_NO_CONTACTS = (np.zeros(0, np.int8), np.zeros(0, np.intp))


def yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    """Quaternion (w, x, y, z) of a rotation by ``yaw`` about +z."""
    return (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))


class NavPhysics:
    """Model, data and indices for one structure."""

    def __init__(self, robot: Robot, structure: Structure) -> None:
        self.robot = robot
        self.structure = structure
        m = self.model = build_model(robot, structure)
        self.data = mujoco.MjData(m)
        s = structure

        def body(name: str) -> int:
            return mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name)

        def geom(name: str) -> int:
            return mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, name)

        def qpos_adr(joint: str) -> int:
            return int(m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, joint)])

        def dof_adr(joint: str) -> int:
            return int(m.jnt_dofadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, joint)])

        self.agent_body = body("agent")
        self.agent_qpos = qpos_adr("agent" if robot.free_joint else "x")
        self.agent_dof = dof_adr("agent" if robot.free_joint else "x")
        self.goal_body = body("goal") if s.has_goal else -1
        self.goal_geom = geom("goal") if s.has_goal else -1
        self.circle_geom = geom("circle") if s.has_circle else -1
        self.wall_bodies = np.array([body(f"sigwall{i}") for i in range(s.num_walls)], np.intp)
        self.wall_geoms = np.array([geom(f"sigwall{i}") for i in range(s.num_walls)], np.intp)
        self.hazard_bodies = np.array([body(f"hazard{i}") for i in range(s.num_hazards)], np.intp)
        self.hazard_geoms = np.array([geom(f"hazard{i}") for i in range(s.num_hazards)], np.intp)
        self.vase_bodies = np.array([body(f"vase{i}") for i in range(s.num_vases)], np.intp)
        self.vase_qpos = np.array([qpos_adr(f"vase{i}") for i in range(s.num_vases)], np.intp)
        vase_dofs = [dof_adr(f"vase{i}") for i in range(s.num_vases)]
        self.vase_linvel = (np.array(vase_dofs, np.intp)[:, None] + np.arange(3)).ravel()
        self.button_bodies = np.array([body(f"button{i}") for i in range(s.num_buttons)], np.intp)
        self.gremlin_bodies = np.array(
            [body(f"gremlin{i}obj") for i in range(s.num_gremlins)], np.intp
        )
        self.gremlin_qpos = np.array(
            [qpos_adr(f"gremlin{i}") for i in range(s.num_gremlins)], np.intp
        )
        self.gremlin_mocap = np.array(
            [m.body_mocapid[body(f"gremlin{i}mocap")] for i in range(s.num_gremlins)], np.intp
        )

        agent_geoms = [
            g for g in range(m.ngeom) if _is_descendant(m, m.geom_bodyid[g], self.agent_body)
        ]
        if len(agent_geoms) != robot.num_agent_geoms:
            raise RuntimeError(
                f"{robot.name}: expected {robot.num_agent_geoms} agent geoms, "
                f"found {len(agent_geoms)}"
            )
        self.geom_tag = np.zeros(m.ngeom, np.int8)
        self.geom_index = np.full(m.ngeom, -1, np.intp)
        self.geom_tag[agent_geoms] = TAG_AGENT
        for tag, prefix, count in (
            (TAG_VASE, "vase", s.num_vases),
            (TAG_BUTTON, "button", s.num_buttons),
            (TAG_GREMLIN, "gremlin", s.num_gremlins),
        ):
            for i in range(count):
                g = geom(f"{prefix}{i}")
                self.geom_tag[g] = tag
                self.geom_index[g] = i
        # Contact lookups: for a geom pair with exactly one agent geom, the other geom's tag/index.
        agent = self.geom_tag == TAG_AGENT
        self.pair_tag = np.zeros((m.ngeom, m.ngeom), np.int8)
        self.pair_index = np.full((m.ngeom, m.ngeom), -1, np.intp)
        for g in np.flatnonzero(~agent):
            self.pair_tag[agent, g] = self.pair_tag[g, agent] = self.geom_tag[g]
            self.pair_index[agent, g] = self.pair_index[g, agent] = self.geom_index[g]
        self.ball_qvel = dof_adr("rear") if robot.ball_sensors else -1
        self.gremlin_xy = np.zeros((s.num_gremlins, 2))
        self.travel = 0.0
        self._substep_index = np.arange(SUBSTEPS, dtype=float)

        def mocap(bodies: np.ndarray) -> np.ndarray:
            return np.asarray(m.body_mocapid[bodies], np.intp)

        first = int(self.gremlin_mocap[0]) if s.num_gremlins else 0
        if not np.array_equal(self.gremlin_mocap, np.arange(first, first + s.num_gremlins)):
            raise RuntimeError("gremlin mocap bodies must be the last, contiguous mocap bodies")
        self.gremlin_rows = slice(first, first + s.num_gremlins)
        self.goal_mocap = int(m.body_mocapid[self.goal_body]) if s.has_goal else -1
        self.wall_mocap = mocap(self.wall_bodies)
        self.hazard_mocap = mocap(self.hazard_bodies)
        self.button_mocap = mocap(self.button_bodies)

    # -- placing a layout ----------------------------------------------------------------------

    def place(self, task: NavTask, layout: Layout) -> None:
        """Reset the data and move every body to ``layout``; visual sizes from ``task``."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        x, y = layout.agent_xy
        a = self.agent_qpos
        if self.robot.free_joint:
            d.qpos[a : a + 7] = (x, y, 0.1, *yaw_quat(layout.agent_yaw))
        else:
            d.qpos[a : a + 3] = (x, y, layout.agent_yaw)
        mocap_pos, mocap_quat = d.mocap_pos, d.mocap_quat
        if self.goal_body >= 0:
            height = 0.1 if task.kind == "button" else 0.15  # cylinder half-height (spec §3)
            m.geom_size[self.goal_geom] = (task.goal_size, height, 0.0)
            m.geom_rbound[self.goal_geom] = math.hypot(task.goal_size, height)
            mocap_pos[self.goal_mocap] = (*layout.goal_xy, height + 0.01)
        if self.circle_geom >= 0:
            m.geom_size[self.circle_geom, 0] = task.circle_radius
            m.geom_rbound[self.circle_geom] = math.hypot(task.circle_radius, 0.01)
        for i, k in enumerate(self.wall_mocap):
            sign = 1.0 if i % 2 == 0 else -1.0
            if i < 2:
                mocap_pos[k] = (sign * task.wall_distance, 0.0, 0.25)
            else:
                mocap_pos[k] = (0.0, sign * task.wall_distance, 0.25)
                mocap_quat[k] = yaw_quat(math.pi / 2)
        for i, k in enumerate(self.hazard_mocap):
            mocap_pos[k] = (*layout.hazards_xy[i], 0.02)
            g = self.hazard_geoms[i]
            m.geom_size[g, 0] = task.hazard_size
            m.geom_rbound[g] = math.hypot(task.hazard_size, 0.01)
        h = self.structure.vase_size
        for i, q in enumerate(self.vase_qpos):
            d.qpos[q : q + 7] = (*layout.vases_xy[i], h - 4e-5, *yaw_quat(layout.vases_yaw[i]))
        for i, k in enumerate(self.button_mocap):
            mocap_pos[k] = (*layout.buttons_xy[i], self.structure.button_size)
        self.gremlin_xy = layout.gremlins_xy.copy()
        hg = self.structure.gremlin_size
        for i, q in enumerate(self.gremlin_qpos):
            quat = yaw_quat(layout.gremlins_yaw[i])
            d.qpos[q : q + 7] = (*layout.gremlins_xy[i], hg, *quat)
            mocap_quat[self.gremlin_mocap[i]] = quat
        self.travel = task.gremlin_travel
        if len(self.gremlin_mocap):
            self.set_gremlin_targets()
        mujoco.mj_forward(m, d)

    def move_goal(self, xy: np.ndarray) -> None:
        """Move the goal marker to ``xy`` now (its mocap target and the current ``xpos``)."""
        self.data.mocap_pos[self.goal_mocap, :2] = xy
        self.data.xpos[self.goal_body, :2] = xy

    # -- stepping ------------------------------------------------------------------------------

    def set_gremlin_targets(self) -> None:
        """Mocap targets (x + l·sin t, y + l·cos t, 2·size) for travel l at the current time."""
        self.data.mocap_pos[self.gremlin_mocap] = self._gremlin_targets(np.array([self.data.time]))[
            0
        ]

    def _gremlin_targets(self, times: np.ndarray) -> np.ndarray:
        """Targets for every gremlin at each time, shape (len(times), gremlins, 3)."""
        out = np.empty((len(times), len(self.gremlin_mocap), 3))
        out[:, :, 0] = self.gremlin_xy[:, 0] + self.travel * np.sin(times)[:, None]
        out[:, :, 1] = self.gremlin_xy[:, 1] + self.travel * np.cos(times)[:, None]
        out[:, :, 2] = 2.0 * self.structure.gremlin_size
        return out

    def advance(self, ctrl: np.ndarray) -> None:
        """Write ``ctrl``, run the substeps (gremlin targets before each), then ``mj_forward``.

        Without gremlins the first substep is ``mj_step2``: position and velocity stages of the
        state are unchanged since the last ``mj_forward`` (only ``ctrl`` changed), so this equals a
        full ``mj_step`` and saves one collision/kinematics pass per env step.
        """
        m, d = self.model, self.data
        d.ctrl[:] = ctrl
        if len(self.gremlin_mocap):
            times = d.time + m.opt.timestep * self._substep_index
            targets = self._gremlin_targets(times)
            gremlins = d.mocap_pos[self.gremlin_rows]  # a view: the gremlin rows are contiguous
            step = mujoco.mj_step
            for k in range(SUBSTEPS):
                gremlins[:] = targets[k]
                step(m, d)
        else:
            mujoco.mj_step2(m, d)
            mujoco.mj_step(m, d, SUBSTEPS - 1)
        mujoco.mj_forward(m, d)

    def agent_contacts(self) -> tuple[np.ndarray, np.ndarray]:
        """(tag, object index) of the geom each agent contact touches, one entry per contact."""
        d = self.data
        if d.ncon == 0:
            return _NO_CONTACTS
        pairs = d.contact.geom
        first, second = pairs[:, 0], pairs[:, 1]
        return self.pair_tag[first, second], self.pair_index[first, second]


def _is_descendant(model: mujoco.MjModel, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = int(model.body_parentid[body])
    return False
