"""The quasi-static spill model agrees with the slow particle check on the clear cases (spec §2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments.pour_coffee import kinematics as kin
from safemeta.environments.pour_coffee.spillage import CupGeometry, spills
from safemeta.environments.pour_coffee.twin import PHYSICS_HZ, KinovaTwin


@pytest.fixture()
def twin():
    world = KinovaTwin()
    yield world
    world.close()


def _roll_then_hold(twin: KinovaTwin, degrees: float) -> None:
    """Fill the upright mug, roll it by ``degrees`` at 1 rad/s (joint 7), hold 0.5 s."""
    twin.reset(kin.HOME)
    twin.fill_with_particles(40)
    twin.step(PHYSICS_HZ // 4)  # settle
    qdot = np.zeros(7)
    qdot[6] = 1.0
    twin.set_joint_velocities(qdot)
    twin.step(round(math.radians(degrees) * PHYSICS_HZ))
    twin.set_joint_velocities(np.zeros(7))
    twin.step(PHYSICS_HZ // 2)


def _model_spills(twin: KinovaTwin) -> bool:
    _, quaternion = twin.link_pose(twin.mug_link)
    axis = kin.quaternion_matrix(quaternion)[:, 2]
    return spills(axis, np.zeros(3), CupGeometry(), at_goal=False)  # held still


def test_upright_still_mug_spills_in_neither_model(twin):
    _roll_then_hold(twin, 0.0)
    assert twin.particles_outside_mug() == 0
    assert not _model_spills(twin)


def test_mug_tipped_90_degrees_spills_in_both_models(twin):
    _roll_then_hold(twin, 90.0)
    assert twin.particles_outside_mug() >= 4  # of 40
    assert _model_spills(twin)
