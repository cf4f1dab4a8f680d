"""Point and Car robots: MJCF fragments and the facts the environment needs about them.

Written from the robot description in ``shared/specs/safe_navigation.md`` §1. The Point's yaw is the
hinge ``z`` and its slides run along the world axes (the spec bakes the spawn yaw into the body and
slides along the rotated axes; both slides have the same damping, so the dynamics are identical).
"""

from __future__ import annotations

from dataclasses import dataclass

_POINT_BODY = """
    <body name="agent" pos="0 0 0.1">
      <joint name="x" type="slide" axis="1 0 0" damping="0.01"/>
      <joint name="y" type="slide" axis="0 1 0" damping="0.01"/>
      <joint name="z" type="hinge" axis="0 0 1" damping="0.005"/>
      <geom name="agent" type="sphere" size="0.1" friction="1 0.01 0.01" rgba="0.7 0.2 0.8 1"/>
      <geom name="pointarrow" type="box" size="0.05 0.05 0.05" pos="0.1 0 0"
            rgba="0.7 0.2 0.8 1"/>
      <site name="agent" pos="0 0 0" size="0.02"/>
      <camera name="vision" pos="0.16 0 0.05" xyaxes="0 -1 0 0 0 1" fovy="90"/>
    </body>
"""

_POINT_ACTUATORS = """
    <motor name="x" site="agent" gear="0.3 0 0 0 0 0" ctrllimited="true" ctrlrange="-1 1"
           forcelimited="true" forcerange="-0.05 0.05"/>
    <velocity name="z" joint="z" gear="0.3" kv="1" ctrllimited="true" ctrlrange="-1 1"
              forcelimited="true" forcerange="-0.05 0.05"/>
"""

_CAR_BODY = """
    <body name="agent" pos="0 0 0.1">
      <freejoint name="agent"/>
      <geom name="agent" type="box" size="0.1 0.1 0.05" rgba="0.7 0.2 0.8 1"/>
      <geom name="back_bumper" type="box" size="0.1 0.01 0.05" pos="0 0.15 0"
            rgba="0.7 0.2 0.8 1"/>
      <geom name="back_connector" type="box" size="0.01 0.025 0.03" pos="0 0.125 0"
            rgba="0.7 0.2 0.8 1"/>
      <geom name="front_bumper" type="box" size="0.05 0.01 0.05" pos="0 -0.165 0"
            rgba="0.7 0.2 0.8 1"/>
      <geom name="front_connector" type="box" size="0.05 0.03 0.01" pos="0 -0.13 0.04"
            rgba="0.7 0.2 0.8 1"/>
      <site name="agent" pos="0 0 0" size="0.02"/>
      <camera name="vision" pos="0 -0.2 0.1" xyaxes="-1 0 0 0 0 1" fovy="90"/>
      <body name="left" pos="-0.1 0.1 -0.05">
        <joint name="left" type="hinge" axis="1 0 0" damping="0.001"/>
        <geom name="left" type="cylinder" size="0.05" fromto="-0.055 0 0 -0.005 0 0"
              rgba="0.2 0.2 0.2 1"/>
      </body>
      <body name="right" pos="0.1 0.1 -0.05">
        <joint name="right" type="hinge" axis="1 0 0" damping="0.001"/>
        <geom name="right" type="cylinder" size="0.05" fromto="0.005 0 0 0.055 0 0"
              rgba="0.2 0.2 0.2 1"/>
      </body>
      <body name="rear" pos="0 -0.1 -0.05">
        <joint name="rear" type="ball" damping="0.001"/>
        <geom name="rear" type="sphere" size="0.05" rgba="0.2 0.2 0.2 1"/>
      </body>
    </body>
"""

_CAR_ACTUATORS = """
    <motor name="left" joint="left" gear="1" ctrllimited="true" ctrlrange="-1 1"
           forcelimited="true" forcerange="-0.02 0.02"/>
    <motor name="right" joint="right" gear="1" ctrllimited="true" ctrlrange="-1 1"
           forcelimited="true" forcerange="-0.02 0.02"/>
"""

_COMMON_SENSORS = """
    <accelerometer name="accelerometer" site="agent"/>
    <velocimeter name="velocimeter" site="agent"/>
    <gyro name="gyro" site="agent"/>
    <magnetometer name="magnetometer" site="agent"/>
"""

_CAR_SENSORS = """
    <ballangvel name="ballangvel_rear" joint="rear"/>
    <ballquat name="ballquat_rear" joint="rear"/>
"""


@dataclass(frozen=True)
class Robot:
    """One robot: its MJCF pieces, timing and observation facts."""

    name: str
    timestep: float
    geom_density: float
    body: str
    actuators: str
    sensors: str
    free_joint: bool
    """True if the base is a free joint (Car); False for the planar x/y/yaw joints (Point)."""
    ball_sensors: bool
    """True if the obs adds ``ballangvel_rear`` (3) and ``ballquat_rear`` as a 3×3 matrix."""
    num_agent_geoms: int

    @property
    def sensor_dim(self) -> int:
        """Observation entries before the lidar blocks (12, or 24 with the ball sensors)."""
        return 24 if self.ball_sensors else 12


POINT = Robot(
    name="point",
    timestep=0.002,
    geom_density=1.0,
    body=_POINT_BODY,
    actuators=_POINT_ACTUATORS,
    sensors=_COMMON_SENSORS,
    free_joint=False,
    ball_sensors=False,
    num_agent_geoms=2,
)

CAR = Robot(
    name="car",
    timestep=0.004,
    geom_density=5.0,
    body=_CAR_BODY,
    actuators=_CAR_ACTUATORS,
    sensors=_COMMON_SENSORS + _CAR_SENSORS,
    free_joint=True,
    ball_sensors=True,
    num_agent_geoms=8,
)

ROBOTS: dict[str, Robot] = {"point": POINT, "car": CAR}


def get_robot(name: str) -> Robot:
    """The robot called ``name`` ("point" or "car")."""
    try:
        return ROBOTS[name]
    except KeyError:
        raise ValueError(f"robot must be one of {sorted(ROBOTS)}, got {name!r}") from None
