"""The safety shield, run by the arm controller against the twin backend (lockstep, fake clock)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments.hardware.backend import BackendError, Twist
from safemeta.environments.hardware.controller import ArmController
from safemeta.environments.hardware.shield import SafetyShield, ShieldConfig
from safemeta.environments.hardware.twin import TwinBackend
from safemeta.environments.pour_coffee import kinematics as kin


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_controller(**shield) -> tuple[ArmController, TwinBackend, FakeClock]:
    clock = FakeClock()
    backend = TwinBackend()
    controller = ArmController(
        backend, control_hz=20, shield=ShieldConfig(**shield), realtime=False, clock=clock
    )
    controller.reset()
    return controller, backend, clock


def step(controller: ArmController, clock: FakeClock, twist: Twist | None):
    """One control period: command (if any) and tick, the clock moving with the twin."""
    clock.now += controller.period
    if twist is None:
        return controller.tick()
    return controller.step(twist).feedback


def tool_speed(feedback) -> float:
    return float(np.linalg.norm(feedback.tool_linear_velocity))


def test_twists_beyond_the_limits_are_clipped_and_the_arm_obeys():
    controller, _, clock = make_controller()
    reply = controller.step(Twist(np.array([0.0, -2.0, 0.0]), np.array([0.0, 0.0, 5.0])))
    assert np.linalg.norm(reply.command.linear) == pytest.approx(0.5)
    assert np.linalg.norm(reply.command.angular) == pytest.approx(1.74)
    assert reply.command.linear[1] < 0 and reply.command.angular[2] > 0  # direction kept
    assert any(e.kind == "clip" for e in controller.events)
    # Non-finite commands become a stop.
    nan = Twist(np.full(3, np.nan), np.zeros(3))
    assert not controller.shield.clip(nan, reply.feedback).as_vector().any()
    controller.close()
    # With a 0.2 m/s limit, the twin's measured tool speed settles at the clipped speed.
    controller, _, clock = make_controller(max_linear_speed=0.2)
    for _ in range(4):
        feedback = step(controller, clock, Twist(np.array([0.0, -2.0, 0.0]), np.zeros(3)))
    assert tool_speed(feedback) == pytest.approx(0.2, abs=0.01)
    assert feedback.tool_linear_velocity[1] < -0.19
    controller.close()


def test_the_workspace_box_holds_the_tool():
    controller, _, clock = make_controller(workspace_high=(0.5, 0.6, 0.9))  # home x = 0.457
    for _ in range(20):  # 1 s of +x at 0.3 m/s would reach x = 0.757
        feedback = step(controller, clock, Twist(np.array([0.3, 0.0, 0.0]), np.zeros(3)))
        assert feedback.tool_position[0] <= 0.5 + 0.005
    assert feedback.tool_position[0] > 0.49
    controller.close()


def test_watchdog_stops_the_arm_within_one_control_period_of_silence():
    controller, _, clock = make_controller(watchdog_timeout=0.2)
    moving = Twist(np.array([0.0, 0.1, 0.0]), np.zeros(3))
    for _ in range(3):
        step(controller, clock, moving)
    last_command = clock.now
    silent_ticks = 0
    while not any(e.kind == "watchdog_stop" for e in controller.events):
        feedback = step(controller, clock, None)
        silent_ticks += 1
        assert silent_ticks < 20, "the watchdog never fired"
    stop = next(e for e in controller.events if e.kind == "watchdog_stop")
    # Fired at the first tick after the timeout: no later than timeout + one period.
    assert 0.2 < stop.time - last_command <= 0.2 + controller.period + 1e-9
    assert tool_speed(feedback) < 0.02  # braking from 0.1 m/s within that same period
    feedback = step(controller, clock, None)
    assert tool_speed(feedback) < 5e-3  # settling one period later
    for _ in range(3):
        feedback = step(controller, clock, None)
    assert tool_speed(feedback) < 1e-3  # and at rest
    controller.close()


def test_emergency_stop_latches_until_an_explicit_reset():
    controller, backend, clock = make_controller()
    moving = Twist(np.array([0.0, 0.1, 0.0]), np.zeros(3))
    step(controller, clock, moving)
    controller.estop()
    assert controller.shield.latched == "emergency stop"
    for _ in range(4):  # commands are refused: the arm stays put
        reply = controller.step(moving)
        clock.now += controller.period
        assert reply.latched and np.all(reply.command.as_vector() == 0)
    assert tool_speed(reply.feedback) < 1e-3 and reply.feedback.in_fault
    with pytest.raises(BackendError, match="in_fault"):
        backend.send_twist(moving)  # the twin itself refuses too, like the arm
    controller.reset()
    assert not controller.shield.latched
    for _ in range(3):
        feedback = step(controller, clock, moving)
    assert tool_speed(feedback) == pytest.approx(0.1, abs=0.01)
    controller.close()


def test_collision_and_spill_latch_and_stop_the_arm():
    controller, backend, clock = make_controller()
    backend.reset_joints(np.array([0, 2.0, 0, 0, 0, 0, 0]))  # into the table
    step(controller, clock, None)
    assert controller.shield.latched == "collision"
    assert not controller.command(Twist(np.ones(3) * 0.1, np.zeros(3))).as_vector().any()

    controller.reset()
    tipped = kin.HOME.copy()
    tipped[6] += math.radians(60)  # the mug rolled 60° far from the goal: the liquid is out
    backend.reset_joints(tipped)
    step(controller, clock, None)
    assert controller.shield.latched == "spill"
    controller.close()


class FailingTwin(TwinBackend):
    def send_twist(self, twist: Twist) -> None:
        raise ConnectionError("link down")


def test_a_backend_exception_stops_and_latches():
    clock = FakeClock()
    controller = ArmController(FailingTwin(), realtime=False, clock=clock)
    controller.reset()
    reply = controller.step(Twist(np.array([0.1, 0, 0]), np.zeros(3)))
    assert reply.latched == "error in send_twist: ConnectionError"
    assert any(e.kind == "error" and "link down" in e.detail for e in controller.events)
    controller.close()


def test_shield_config_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"max_linear_speed must be in \(0, 0.5\]"):
        ShieldConfig(max_linear_speed=1.0)
    with pytest.raises(ValueError, match="workspace_low"):
        ShieldConfig(workspace_low=(1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="period"):
        SafetyShield(ShieldConfig(), period=0.0)
    with pytest.raises(ValueError, match=r"control_hz must be in 10\.\.40"):
        ArmController(TwinBackend(), control_hz=100, realtime=False)
