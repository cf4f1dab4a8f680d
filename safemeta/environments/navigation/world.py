"""The MJCF world for one task *structure*: robot, floor and every object, compiled once.

A structure fixes what needs a recompile (robot, object counts, sizes of colliding objects).
Object positions, and the sizes of the visual-only objects (goal, hazards, circle, sigwalls), are
set at reset, so switching between tasks of one structure never recompiles. Static objects are
mocap bodies: with MuJoCo's sleeping enabled (resting vases cost nothing), the kinematics of plain
static bodies are only computed at ``mj_resetData``, while mocap bodies follow ``mocap_pos``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from safemeta.environments.navigation.robots import Robot
from safemeta.environments.navigation.tasks import NavTask

# Collision bits: robot geoms collide with everything; floor with robot, vases, gremlins;
# buttons (static) only with robot, vases and gremlins, so button-floor pairs are never tested.
_ROBOT = 'contype="1" conaffinity="3"'
_FLOOR = 'contype="1" conaffinity="1"'
_MOVABLE = 'contype="1" conaffinity="3"'
_STATIC = 'contype="2" conaffinity="0"'
_VISUAL = 'contype="0" conaffinity="0"'


@dataclass(frozen=True)
class Structure:
    """The part of a task that is baked into the compiled model."""

    robot: str
    has_goal: bool
    has_circle: bool
    num_walls: int
    num_hazards: int
    num_vases: int
    vase_size: float
    num_buttons: int
    button_size: float
    num_gremlins: int
    gremlin_size: float


def structure_of(robot: Robot, task: NavTask) -> Structure:
    """The structure of ``task`` on ``robot``."""
    return Structure(
        robot=robot.name,
        has_goal=task.kind != "circle",
        has_circle=task.kind == "circle",
        num_walls={"": 0, "x": 2, "xy": 4}[task.walls],
        num_hazards=task.num_hazards,
        num_vases=task.num_vases,
        vase_size=task.vase_size,
        num_buttons=task.num_buttons,
        button_size=task.button_size,
        num_gremlins=task.num_gremlins,
        gremlin_size=task.gremlin_size,
    )


def build_model(robot: Robot, structure: Structure) -> mujoco.MjModel:
    """Compile the world for ``structure``; every object sits at the origin until reset."""
    return mujoco.MjModel.from_xml_string(world_xml(robot, structure))


def world_xml(robot: Robot, s: Structure) -> str:
    """The MJCF text of the world."""

    def static(name: str, z: float, geom: str, collision: str = _VISUAL) -> str:
        return (
            f'<body name="{name}" pos="0 0 {z}" mocap="true">'
            f'<geom name="{name}" {geom} {collision}/></body>'
        )

    bodies: list[str] = []
    if s.has_goal:
        bodies.append(static("goal", 0.16, 'type="cylinder" size="0.3 0.15" rgba="0 1 0 0.25"'))
    if s.has_circle:
        bodies.append(static("circle", 0.01, 'type="cylinder" size="1.5 0.01" rgba="0 1 0 0.1"'))
    for i in range(s.num_walls):
        bodies.append(
            static(f"sigwall{i}", 0.25, 'type="box" size="0.05 3.5 0.3" rgba="1 0.5 0 0.3"')
        )
    for i in range(s.num_hazards):
        bodies.append(
            static(f"hazard{i}", 0.02, 'type="cylinder" size="0.2 0.01" rgba="0 0 1 0.25"')
        )
    for i in range(s.num_vases):
        h = s.vase_size
        bodies.append(
            f'<body name="vase{i}" pos="0 0 {h - 4e-5}"><freejoint name="vase{i}"/>'
            f'<geom name="vase{i}" type="box" size="{h} {h} {h}" density="0.001" '
            f'rgba="0 1 1 1" {_MOVABLE}/></body>'
        )
    for i in range(s.num_buttons):
        bodies.append(
            static(
                f"button{i}",
                s.button_size,
                f'type="sphere" size="{s.button_size}" rgba="1 0.5 0 1"',
                _STATIC,
            )
        )
    for i in range(s.num_gremlins):
        h = s.gremlin_size
        bodies.append(
            f'<body name="gremlin{i}obj" pos="0 0 0" sleep="never">'
            f'<freejoint name="gremlin{i}"/>'
            f'<geom name="gremlin{i}" type="box" size="{h} {h} {h}" density="0.001" '
            f'rgba="0.5 0 1 1" {_MOVABLE}/></body>'
            f'<body name="gremlin{i}mocap" mocap="true" pos="0 0 0"/>'
        )
    welds = "".join(
        f'<weld body1="gremlin{i}mocap" body2="gremlin{i}obj" solref="0.02 1.5"/>'
        for i in range(s.num_gremlins)
    )
    return f"""<mujoco model="safe_navigation_{robot.name}">
  <compiler angle="radian"/>
  <option timestep="{robot.timestep}" magnetic="0 -0.5 0" integrator="Euler">
    <flag sleep="enable"/>
  </option>
  <visual><global offwidth="1024" offheight="1024"/><quality shadowsize="2048"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.85 0.85 0.85" rgb2="0.75 0.75 0.75"
             width="512" height="512"/>
    <material name="grid" texture="grid" texrepeat="7 7"/>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.6 0.7 0.9" rgb2="0.2 0.2 0.3"
             width="256" height="256"/>
  </asset>
  <default>
    <default class="robot">
      <geom condim="6" density="{robot.geom_density}" size="0.05" {_ROBOT}/>
      <joint damping="0.001"/>
    </default>
    <geom condim="6" density="1"/>
  </default>
  <worldbody>
    <light pos="0 0 6" dir="0 0 -1" directional="true" diffuse="0.8 0.8 0.8"/>
    <geom name="floor" type="plane" size="3.5 3.5 0.1" condim="6" friction="1 0.005 0.0001"
          material="grid" {_FLOOR}/>
    {robot.body.replace('<body name="agent"', '<body name="agent" childclass="robot"', 1)}
    {"".join(bodies)}
  </worldbody>
  <equality>{welds}</equality>
  <actuator>{robot.actuators}</actuator>
  <sensor>{robot.sensors}</sensor>
</mujoco>
"""
