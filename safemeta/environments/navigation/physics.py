"""One compiled world and the index arrays the environment reads every step.

:class:`NavPhysics` owns an ``MjModel``/``MjData`` pair for one :class:`~.world.Structure`. Reset
moves bodies (joint ``qpos``, static ``body_pos``, mocap targets) instead of recompiling.
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
        self.gremlin_bodies = np.array([body(f"gremlin{i}obj") for i in range(s.num_gremlins)],
                                       np.intp)
        self.gremlin_qpos = np.array([qpos_adr(f"gremlin{i}") for i in range(s.num_gremlins)],
                                     np.intp)
        self.gremlin_mocap = np.array(
            [m.body_mocapid[body(f"gremlin{i}mocap")] for i in range(s.num_gremlins)], np.intp)

        agent_geoms = [g for g in range(m.ngeom) if _is_descendant(m, m.geom_bodyid[g],
                                                                   self.agent_body)]
        if len(agent_geoms) != robot.num_agent_geoms:
            raise RuntimeError(f"{robot.name}: expected {robot.num_agent_geoms} agent geoms, "
                               f"found {len(agent_geoms)}")
        self.geom_tag = np.zeros(m.ngeom, np.int8)
        self.geom_index = np.full(m.ngeom, -1, np.intp)
        self.geom_tag[agent_geoms] = TAG_AGENT
        for tag, prefix, count in ((TAG_VASE, "vase", s.num_vases),
                                   (TAG_BUTTON, "button", s.num_buttons),
                                   (TAG_GREMLIN, "gremlin", s.num_gremlins)):
            for i in range(count):
                g = geom(f"{prefix}{i}")
                self.geom_tag[g] = tag
                self.geom_index[g] = i
        self.ball_qvel = dof_adr("rear") if robot.ball_sensors else -1
        self.gremlin_xy = np.zeros((s.num_gremlins, 2))

    # -- placing a layout ----------------------------------------------------------------------

    def place(self, task: NavTask, layout: Layout) -> None:
        """Reset the data and move every body to ``layout``; visual sizes from ``task``."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        x, y = layout.agent_xy
        a = self.agent_qpos
        if self.robot.free_joint:
            d.qpos[a:a + 7] = (x, y, 0.1, *yaw_quat(layout.agent_yaw))
        else:
            d.qpos[a:a + 3] = (x, y, layout.agent_yaw)
        if self.goal_body >= 0:
            height = 0.1 if task.kind == "button" else 0.15  # cylinder half-height (spec §3)
            m.geom_size[self.goal_geom] = (task.goal_size, height, 0.0)
            m.geom_rbound[self.goal_geom] = math.hypot(task.goal_size, height)
            self.move_goal(layout.goal_xy, z=height + 0.01)
        if self.circle_geom >= 0:
            m.geom_size[self.circle_geom, 0] = task.circle_radius
            m.geom_rbound[self.circle_geom] = math.hypot(task.circle_radius, 0.01)
        for i, b in enumerate(self.wall_bodies):
            sign = 1.0 if i % 2 == 0 else -1.0
            if i < 2:
                m.body_pos[b] = (sign * task.wall_distance, 0.0, 0.25)
                m.body_quat[b] = (1.0, 0.0, 0.0, 0.0)
            else:
                m.body_pos[b] = (0.0, sign * task.wall_distance, 0.25)
                m.body_quat[b] = yaw_quat(math.pi / 2)
        for i, b in enumerate(self.hazard_bodies):
            m.body_pos[b] = (*layout.hazards_xy[i], 0.02)
            g = self.hazard_geoms[i]
            m.geom_size[g, 0] = task.hazard_size
            m.geom_rbound[g] = math.hypot(task.hazard_size, 0.01)
        h = self.structure.vase_size
        for i, q in enumerate(self.vase_qpos):
            d.qpos[q:q + 7] = (*layout.vases_xy[i], h - 4e-5, *yaw_quat(layout.vases_yaw[i]))
        for i, b in enumerate(self.button_bodies):
            m.body_pos[b] = (*layout.buttons_xy[i], self.structure.button_size)
        self.gremlin_xy = layout.gremlins_xy.copy()
        hg = self.structure.gremlin_size
        for i, q in enumerate(self.gremlin_qpos):
            quat = yaw_quat(layout.gremlins_yaw[i])
            d.qpos[q:q + 7] = (*layout.gremlins_xy[i], hg, *quat)
            d.mocap_quat[self.gremlin_mocap[i]] = quat
        self.travel = task.gremlin_travel
        if len(self.gremlin_mocap):
            self.set_gremlin_targets()
        mujoco.mj_forward(m, d)

    def move_goal(self, xy: np.ndarray, z: float | None = None) -> None:
        """Move the goal marker to ``xy`` now (model ``body_pos`` and the current ``xpos``)."""
        b = self.goal_body
        height = self.model.body_pos[b, 2] if z is None else z
        self.model.body_pos[b] = (xy[0], xy[1], height)
        self.data.xpos[b, :2] = xy

    # -- stepping ------------------------------------------------------------------------------

    def set_gremlin_targets(self) -> None:
        """Mocap targets (x + t·sin t, y + t·cos t, 2·size) for travel t at the current time."""
        t = self.data.time
        target = self.data.mocap_pos[self.gremlin_mocap]
        target[:, 0] = self.gremlin_xy[:, 0] + self.travel * math.sin(t)
        target[:, 1] = self.gremlin_xy[:, 1] + self.travel * math.cos(t)
        target[:, 2] = 2.0 * self.structure.gremlin_size
        self.data.mocap_pos[self.gremlin_mocap] = target

    def advance(self, ctrl: np.ndarray) -> None:
        """Write ``ctrl``, run the substeps (gremlin targets before each), then ``mj_forward``."""
        m, d = self.model, self.data
        d.ctrl[:] = ctrl
        if len(self.gremlin_mocap):
            for _ in range(SUBSTEPS):
                self.set_gremlin_targets()
                mujoco.mj_step(m, d)
        else:
            mujoco.mj_step(m, d, SUBSTEPS)
        mujoco.mj_forward(m, d)

    def agent_contacts(self) -> np.ndarray:
        """Geom ids touched by an agent geom in the current contacts (one entry per contact)."""
        d = self.data
        if d.ncon == 0:
            return np.zeros(0, np.intp)
        pairs = d.contact.geom
        tags = self.geom_tag[pairs]
        first = tags[:, 0] == TAG_AGENT
        second = tags[:, 1] == TAG_AGENT
        return np.concatenate([pairs[first & ~second, 1], pairs[second & ~first, 0]])


def _is_descendant(model: mujoco.MjModel, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = int(model.body_parentid[body])
    return False
