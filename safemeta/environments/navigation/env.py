"""The safe-navigation env: Point/Car × Goal/Button/Circle (``shared/specs/safe_navigation.md``).

Rendering (``render_mode="rgb_array"``) is offscreen MuJoCo; on a machine without a display set
``MUJOCO_GL=egl`` (GPU or Mesa EGL) or ``MUJOCO_GL=osmesa`` (software) before importing mujoco.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import OrderedDict
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from safemeta.environments.navigation.layout import LayoutError, respawn_goal, sample_layout
from safemeta.environments.navigation.lidar import NUM_BINS, PseudoLidar
from safemeta.environments.navigation.physics import (
    SUBSTEPS,
    TAG_BUTTON,
    TAG_GREMLIN,
    TAG_VASE,
    NavPhysics,
)
from safemeta.environments.navigation.robots import get_robot
from safemeta.environments.navigation.tasks import NavTask, level_task
from safemeta.environments.navigation.world import Structure, structure_of
from safemeta.environments.offscreen import offscreen_renderer

REWARD_CLIP = 10.0
BUTTON_RESAMPLE_STEPS = 10
"""Steps after a button success during which button costs are off and the button lidar is 0."""
_MODEL_CACHE_SIZE = 8


class SafeNavigationEnv(gym.Env):
    """A Safety-Gymnasium navigation task on MuJoCo, with switchable tasks and fast resets.

    Step ``info`` holds ``cost`` (0/1), ``cost_sum`` (same value) and one 0/1 ``cost_<source>``
    per active source (``cost_hazards``, ``cost_vases_contact``, ``cost_vases_velocity``,
    ``cost_buttons``, ``cost_gremlins``, ``cost_out_of_boundary``), plus ``goal_met=True`` on
    success steps. The episode is truncated after ``task.max_episode_steps`` steps.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        robot: str = "point",
        task: NavTask | None = None,
        *,
        terminate_on_violation: bool = False,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (256, 256),
        camera: str = "overview",
    ) -> None:
        if task is not None and not isinstance(task, NavTask):
            raise TypeError(f"task must be a NavTask, got {type(task).__name__}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if camera not in ("overview", "track", "vision"):
            raise ValueError(f"camera must be 'overview', 'track' or 'vision', got {camera!r}")
        self.robot = get_robot(robot)
        control_dt = self.robot.timestep * SUBSTEPS
        self.metadata = {**self.metadata, "render_fps": round(1.0 / control_dt)}
        self.terminate_on_violation = bool(terminate_on_violation)
        self.render_mode = render_mode
        self.render_size = render_size
        self.camera = camera
        self._task = task if task is not None else level_task("goal", 1)
        self._next_task: NavTask | None = None
        self._physics_cache: OrderedDict[Structure, NavPhysics] = OrderedDict()
        self._renderer: mujoco.Renderer | None = None
        self._layout_rng: np.random.Generator | None = None
        self._episode_rng: np.random.Generator | None = None
        self._use(self._task)
        self._blocks = self._task.lidar_blocks
        dim = self.robot.sensor_dim + NUM_BINS * len(self._blocks)
        low = np.full(dim, -np.inf)
        high = np.full(dim, np.inf)
        low[self.robot.sensor_dim :] = 0.0
        high[self.robot.sensor_dim :] = 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), dtype=np.float64)
        self._needs_reset = True

    # -- tasks ---------------------------------------------------------------------------------

    def set_task(self, task: NavTask) -> None:
        """Use ``task`` from the next ``reset()``; its observation layout must match this env's."""
        if not isinstance(task, NavTask):
            raise TypeError(f"task must be a NavTask, got {type(task).__name__}")
        if task.lidar_blocks != self._blocks:
            raise ValueError(
                f"task observes lidar blocks {task.lidar_blocks} but this env's observation space "
                f"has {self._blocks}; keep the same kind and non-zero object types, or build a "
                f"new env for this task"
            )
        self._next_task = task

    def get_task(self) -> NavTask:
        """The task of the next episode (the pending one if ``set_task`` was called)."""
        return self._next_task if self._next_task is not None else self._task

    def physics_reference(self) -> tuple[mujoco.MjModel, mujoco.MjData, int]:
        """(model, a copy of the current data to step, substeps per env step) for benchmarks."""
        return self._physics.model, copy.copy(self._physics.data), SUBSTEPS

    @property
    def physics(self) -> NavPhysics:
        """The current model/data and index arrays."""
        return self._physics

    def _use(self, task: NavTask) -> None:
        """Switch to ``task``: reuse or build the compiled world for its structure."""
        key = structure_of(self.robot, task)
        physics = self._physics_cache.pop(key, None)
        if physics is None:
            physics = NavPhysics(self.robot, key)
            if len(self._physics_cache) >= _MODEL_CACHE_SIZE:
                self._physics_cache.popitem(last=False)
        self._physics_cache[key] = physics
        if getattr(self, "_physics", None) is not physics and self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._physics = physics
        self._task = task
        p = physics
        self._lidar_bodies = np.concatenate(
            [self._block_bodies(name) for name in task.lidar_blocks]
        ).astype(np.intp)
        self._lidar = PseudoLidar(
            [len(self._block_bodies(n)) for n in task.lidar_blocks], task.lidar_max_dist
        )
        self._distances = np.zeros(len(self._lidar_bodies))
        """World-xy agent-to-object distances (lidar rows) of the last sensing: goal reward,
        goal reached and hazard cost use these, as Safety-Gymnasium does."""
        rows: dict[str, slice] = {}
        start = 0
        for name in task.lidar_blocks:
            rows[name] = slice(start, start + len(self._block_bodies(name)))
            start = rows[name].stop
        self._goal_row = rows["goal"].start if "goal" in rows else -1
        self._hazard_rows = rows.get("hazards", slice(0, 0))
        offset = self.robot.sensor_dim
        blocks = {
            name: slice(offset + i * NUM_BINS, offset + (i + 1) * NUM_BINS)
            for i, name in enumerate(task.lidar_blocks)
        }
        self._buttons_slice = blocks.get("buttons")
        self._goal_slice = blocks.get("goal")
        self._obs_dim = offset + NUM_BINS * len(task.lidar_blocks)
        self._ball_mat = np.zeros(9)
        self._needs_contacts = (
            task.kind == "button"
            or task.num_gremlins > 0
            or (task.num_vases > 0 and task.vases_constrained)
        )
        # Views into MjData (its buffers never move), read every step.
        self._xpos = p.data.xpos
        self._sensordata = p.data.sensordata
        self._agent_xy = p.data.xpos[p.agent_body, :2]
        self._agent_pos = p.data.xpos[p.agent_body]
        self._agent_rot3 = p.data.xmat[p.agent_body].reshape(3, 3)

    def _block_bodies(self, name: str) -> np.ndarray:
        p = self._physics
        return {
            "goal": np.array([p.goal_body]),
            "circle": np.array([mujoco.mj_name2id(p.model, mujoco.mjtObj.mjOBJ_BODY, "circle")]),
            "hazards": p.hazard_bodies,
            "vases": p.vase_bodies,
            "buttons": p.button_bodies,
            "gremlins": p.gremlin_bodies,
        }[name]

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``reset(seed=s)`` reproduces layout and trajectory exactly.

        The layout RNG and the episode RNG (goal respawns, button picks) are separate streams, so
        the next layout never depends on the previous episode's length. A task with a
        ``layout_seed`` has the same layout every episode. ``options={"task": task}`` is
        ``set_task(task)`` before resetting.
        """
        super().reset(seed=seed)
        if options and "task" in options:
            self.set_task(options["task"])
        if self._next_task is not None:
            self._use(self._next_task)
            self._next_task = None
        if seed is not None or self._layout_rng is None:
            layout_seq, episode_seq = np.random.SeedSequence(
                int(self.np_random.integers(2**63))
            ).spawn(2)
            self._layout_rng = np.random.default_rng(layout_seq)
            self._episode_rng = np.random.default_rng(episode_seq)
        task = self._task
        layout_rng = (
            self._layout_rng
            if task.layout_seed is None
            else np.random.default_rng(task.layout_seed)
        )
        layout = sample_layout(task, layout_rng)
        self._layout = layout
        self._physics.place(task, layout)
        self._goal_xy = layout.goal_xy.copy()
        self._goal_button = layout.goal_button
        self._button_timer = 0
        self._steps = 0
        obs = np.empty(self._obs_dim)
        self._sense(obs)
        self._last_dist = self._goal_distance()
        self._finish_observation(obs)
        self._needs_reset = False
        return obs, {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance 10 substeps; reward, 0/1 cost in ``info["cost"]``, goal respawn (spec §6)."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (and after an episode ends)")
        task = self._task
        p = self._physics
        p.advance(action)  # MuJoCo clamps ctrl to ctrlrange [-1, 1]
        contacts = p.agent_contacts() if self._needs_contacts else None
        obs = np.empty(self._obs_dim)
        self._sense(obs)

        goal_met = False
        if task.kind == "circle":
            reward = self._circle_reward()
        else:
            dist = float(self._distances[self._goal_row])
            reward = self._last_dist - dist
            self._last_dist = dist
            if task.kind == "goal":
                goal_met = dist <= task.goal_size
            else:
                tags, index = contacts
                goal_met = bool(((tags == TAG_BUTTON) & (index == self._goal_button)).any())
            if goal_met:
                reward += 1.0
        if not -REWARD_CLIP < reward < REWARD_CLIP:
            warnings.warn(f"reward {reward} clipped to ±{REWARD_CLIP}", stacklevel=2)
            reward = min(max(reward, -REWARD_CLIP), REWARD_CLIP)

        info = self._costs(contacts)
        cost = info["cost"]
        if self._button_timer:
            self._button_timer -= 1

        terminated = False
        if goal_met:
            info["goal_met"] = True
            terminated = not self._next_goal()
            self._sense(obs)
        self._finish_observation(obs)
        self._steps += 1
        if self.terminate_on_violation and cost > 0:
            terminated = True
        truncated = self._steps >= task.max_episode_steps and not terminated
        self._needs_reset = terminated or truncated
        return obs, float(reward), terminated, truncated, info

    # -- pieces of a step ----------------------------------------------------------------------

    def _goal_distance(self) -> float:
        if self._goal_row < 0:
            return 0.0
        return float(self._distances[self._goal_row])

    def _circle_reward(self) -> float:
        """0.1·[(−u·y + v·x)/r] / (1 + |r − r_c|); counter-clockwise is positive."""
        p = self._physics
        x, y = self._agent_xy
        u, v = p.data.qvel[p.agent_dof : p.agent_dof + 2]
        radius = math.hypot(x, y)
        if radius == 0.0:
            return 0.0
        return 0.1 * ((-u * y + v * x) / radius) / (1.0 + abs(radius - self._task.circle_radius))

    def _costs(self, contacts: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
        """Per-source 0/1 costs (spec §5) and their indicator sum ``cost``."""
        task, p = self._task, self._physics
        info: dict[str, Any] = {}
        tags, index = contacts if contacts is not None else (None, None)
        if task.num_hazards:
            nearest = self._distances[self._hazard_rows].min()
            info["cost_hazards"] = float(nearest < task.hazard_size)
        if task.num_vases and task.vases_constrained:
            info["cost_vases_contact"] = float((tags == TAG_VASE).any())
            velocity = p.data.qvel[p.vase_linvel]
            info["cost_vases_velocity"] = float(
                ((velocity * velocity).reshape(-1, 3).sum(1) >= 1e-8).any()
            )
        if task.kind == "button" and task.buttons_constrained:
            hit = 0.0
            if self._button_timer == 0:
                hit = float(((tags == TAG_BUTTON) & (index != self._goal_button)).any())
            info["cost_buttons"] = hit
        if task.num_gremlins:
            info["cost_gremlins"] = float((tags == TAG_GREMLIN).any())
        if task.walls:
            x, y = self._agent_xy
            out = abs(x) > task.wall_distance or (
                task.walls == "xy" and abs(y) > task.wall_distance
            )
            info["cost_out_of_boundary"] = float(out)
        cost = 1.0 if any(info.values()) else 0.0
        info["cost_sum"] = cost
        info["cost"] = cost
        return info

    def _next_goal(self) -> bool:
        """Respawn the goal or pick the next goal button; False if no goal position was found."""
        task, p = self._task, self._physics
        rng = self._episode_rng
        if task.kind == "button":
            self._button_timer = BUTTON_RESAMPLE_STEPS
            if task.allow_same_button or task.num_buttons == 1:
                self._goal_button = int(rng.integers(task.num_buttons))
            else:
                shift = int(rng.integers(1, task.num_buttons))
                self._goal_button = (self._goal_button + shift) % task.num_buttons
            self._goal_xy = p.data.mocap_pos[p.button_mocap[self._goal_button], :2].copy()
        else:
            d = p.data
            entries = [
                self._agent_xy[None],
                d.xpos[p.hazard_bodies, :2],
                d.xpos[p.vase_bodies, :2],
                d.xpos[p.button_bodies, :2],
            ]
            keepouts = [
                np.array([task.agent_keepout]),
                np.full(task.num_hazards, task.hazard_keepout),
                np.full(task.num_vases, task.vase_keepout),
                np.full(task.num_buttons, task.button_keepout),
            ]
            found = respawn_goal(task, np.concatenate(entries), np.concatenate(keepouts), rng)
            if found is None:
                return False
            self._goal_xy = found
        p.move_goal(self._goal_xy)
        self._sense_lidar(np.empty(self._obs_dim - self.robot.sensor_dim))
        self._last_dist = self._goal_distance()
        return True

    def _sense(self, obs: np.ndarray) -> None:
        """Sensors and lidar into ``obs`` (world-xy distances into ``self._distances``)."""
        sensors = self._sensordata
        obs[:12] = sensors[:12]
        if self.robot.ball_sensors:
            obs[12:15] = sensors[12:15]
            mujoco.mju_quat2Mat(self._ball_mat, sensors[15:19])
            obs[15:24] = self._ball_mat
        self._sense_lidar(obs[self.robot.sensor_dim :])

    def _sense_lidar(self, out: np.ndarray) -> None:
        rel = self._xpos[self._lidar_bodies, :2]
        rel -= self._agent_xy
        np.hypot(rel[:, 0], rel[:, 1], out=self._distances)
        self._lidar(rel, float(self._agent_pos[2]), self._agent_rot3, out)

    def _finish_observation(self, obs: np.ndarray) -> None:
        """Blank the button lidar while the button timer runs, and a hidden goal lidar."""
        if self._button_timer and self._buttons_slice is not None:
            obs[self._buttons_slice] = 0.0
        if self._task.hide_goal_lidar and self._goal_slice is not None:
            obs[self._goal_slice] = 0.0

    # -- rendering -----------------------------------------------------------------------------

    def render(self) -> np.ndarray | None:
        """An RGB frame (height, width, 3) if ``render_mode="rgb_array"``, else None."""
        if self.render_mode != "rgb_array":
            return None
        p = self._physics
        if self._renderer is None:
            self._renderer = offscreen_renderer(p.model, *self.render_size)
        cam: mujoco.MjvCamera | str
        if self.camera == "vision":
            cam = "vision"
        else:
            cam = mujoco.MjvCamera()
            cam.type = mujoco.mjtCamera.mjCAMERA_FREE
            if self.camera == "track":
                cam.lookat[:] = p.data.xpos[p.agent_body]
                cam.distance, cam.elevation, cam.azimuth = 2.5, -45.0, 90.0
            else:
                extent = max(
                    self._task.placement_extent,
                    self._task.start_extent,
                    self._task.circle_radius if self._task.kind == "circle" else 0.0,
                )
                cam.lookat[:] = (0.0, 0.0, 0.0)
                cam.distance, cam.elevation, cam.azimuth = 2.6 * extent + 1.5, -70.0, 90.0
        self._renderer.update_scene(p.data, camera=cam)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        super().close()


def make_navigation_env(
    robot: str,
    kind: str,
    level: int | None = None,
    *,
    task: NavTask | None = None,
    terminate_on_violation: bool = False,
    render_mode: str | None = None,
    render_size: tuple[int, int] = (256, 256),
    camera: str = "overview",
    **task_fields: Any,
) -> SafeNavigationEnv:
    """Registry entry point: the ``{kind}{level}`` preset (or ``task``), with fields overridden."""
    if task is None:
        if kind == "circle_hazard":
            from safemeta.environments.navigation.tasks import circle_hazard_task

            task = circle_hazard_task()
        else:
            if level is None:
                raise ValueError("give level=0, 1 or 2 (or an explicit task=NavTask(...))")
            task = level_task(kind, level)  # type: ignore[arg-type]
    if task_fields:
        task = task.replace(**task_fields)
    return SafeNavigationEnv(
        robot,
        task,
        terminate_on_violation=terminate_on_violation,
        render_mode=render_mode,
        render_size=render_size,
        camera=camera,
    )


make_navigation_env.keyword_fields = NavTask  # type: ignore[attr-defined]
"""``**task_fields`` are ``NavTask`` fields: experiment-file checks read their names and types."""

__all__ = ["LayoutError", "SafeNavigationEnv", "make_navigation_env"]
