"""The kortex backend's translation, tested on a stand-in ``kortex_api`` driven by the twin."""

from __future__ import annotations

import json
import logging
import math
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from safemeta.environments.hardware.backend import BackendError, Twist
from safemeta.environments.hardware.controller import ArmController
from safemeta.environments.hardware.credentials import Secret, load_credentials
from safemeta.environments.pour_coffee import kinematics as kin

STANDIN = Path(__file__).with_name("standin")
HOST, PORT = "192.168.1.10", 10000
PASSWORD = "s3cr3t-Pw-4711"


@pytest.fixture()
def device(monkeypatch):
    """A stand-in arm at the default address; credentials in the environment."""
    monkeypatch.syspath_prepend(str(STANDIN))
    monkeypatch.setenv("KINOVA_USERNAME", "operator")
    monkeypatch.setenv("KINOVA_PASSWORD", PASSWORD)
    monkeypatch.delenv("KINOVA_SECRETS_FILE", raising=False)
    from kortex_api._device import clear_devices, register_device

    arm = register_device(HOST, PORT, "operator", PASSWORD)
    yield arm
    clear_devices()
    for name in [m for m in sys.modules if m == "kortex_api" or m.startswith("kortex_api.")]:
        del sys.modules[name]


@pytest.fixture()
def backend(device):
    from safemeta.environments.hardware.kortex import KortexBackend

    arm = KortexBackend(host=HOST, port=PORT, clock=lambda: device.time)
    arm.connect()
    arm.home()
    yield arm
    arm.close()


def test_missing_kortex_api_says_how_to_install(monkeypatch):
    from safemeta.environments.hardware.kortex import KortexBackend

    monkeypatch.setitem(sys.modules, "kortex_api", None)  # makes `import kortex_api` fail
    with pytest.raises(ImportError, match=r"pip install --no-deps kortex_api-2\.6"):
        KortexBackend()


def test_twist_units_and_frame_reach_the_physics(device, backend):
    twist = Twist(np.array([0.05, -0.1, 0.02]), np.array([0.0, 0.0, 0.3]))  # m/s, rad/s
    backend.send_twist(twist)
    sent = device.received[-1]
    assert sent["frame"] == 3 and sent["duration"] == 0  # BASE frame, no duration limit
    assert sent["linear"] == pytest.approx((0.05, -0.1, 0.02))
    assert sent["angular"] == pytest.approx((0.0, 0.0, math.degrees(0.3)))  # deg/s on the wire
    for _ in range(4):
        feedback = backend.feedback()  # each refresh advances the stand-in one 50 ms period
    # The twin moves at the commanded SI twist (measured in PyBullet, not echoed)...
    linear, angular = device.twin.link_velocity(device.twin.tool_link)
    assert np.allclose(linear, twist.linear, atol=3e-3)
    assert np.allclose(angular, twist.angular, atol=1e-2)
    # ... and the backend reads it back in SI units.
    assert np.allclose(feedback.tool_linear_velocity, linear, atol=1e-6)
    assert np.allclose(feedback.tool_angular_velocity, angular, atol=1e-6)


def test_feedback_pose_and_joints_are_parsed_in_si_units(device, backend):
    feedback = backend.feedback()
    position, quaternion = device.twin.link_pose(device.twin.tool_link)
    assert np.allclose(feedback.tool_position, position, atol=1e-6)
    assert np.allclose(
        kin.quaternion_matrix(feedback.tool_quaternion),
        kin.quaternion_matrix(quaternion),
        atol=1e-6,
    )
    # Kinova's Home reads (90°, 0°, 90°) with the documented convention; ours agrees.
    assert np.allclose(kin.quaternion_matrix(feedback.tool_quaternion)[:, 2], [1, 0, 0], atol=1e-3)
    # Actuators report [0°, 360°): joint 4 at −130° arrives as 230° and must come back as −130°.
    assert np.allclose(np.degrees(feedback.joint_positions)[[0, 1, 3, 5, 6]],
                       [0, 15, -130, 55, 90], atol=0.05)  # fmt: skip
    assert abs(abs(feedback.joint_positions[2]) - math.pi) < 1e-3  # 180°
    assert not feedback.in_fault and not feedback.collision


def test_errors_and_faults_map_to_backend_errors(device, backend):
    backend.estop()
    feedback = backend.feedback()
    assert feedback.in_fault and feedback.collision and "fault banks a=0x2" in feedback.fault
    with pytest.raises(BackendError) as refused:
        backend.send_twist(Twist(np.array([0.01, 0, 0]), np.zeros(3)))
    assert refused.value.code == "kortex_server" and "error 5" in str(refused.value)
    backend.clear_faults()
    backend.send_twist(Twist(np.array([0.01, 0, 0]), np.zeros(3)))
    assert not backend.feedback().in_fault


def test_session_errors(device, monkeypatch):
    from safemeta.environments.hardware.kortex import KortexBackend

    monkeypatch.setenv("KINOVA_PASSWORD", "wrong-" + PASSWORD)
    with pytest.raises(BackendError) as refused:
        KortexBackend(host=HOST, port=PORT).connect()
    assert refused.value.code == "kortex_server" and PASSWORD not in str(refused.value)
    with pytest.raises(BackendError) as unreachable:
        KortexBackend(host="10.0.0.99", port=PORT).connect()
    assert unreachable.value.code == "kortex_client"
    monkeypatch.delenv("KINOVA_PASSWORD")
    with pytest.raises(ValueError, match="KINOVA_PASSWORD"):
        KortexBackend(host=HOST, port=PORT).connect()


def test_home_action_and_session_lifecycle(device, backend):
    backend.send_twist(Twist(np.array([0.0, 0.1, 0.0]), np.zeros(3)))
    for _ in range(3):
        backend.feedback()
    assert not np.allclose(device.twin.joint_state()[0], kin.HOME, atol=1e-3)
    backend.home()
    assert np.allclose(device.twin.joint_state()[0], kin.HOME, atol=1e-9)
    assert device.sessions_open == 1
    backend.close()
    assert device.sessions_open == 0
    backend.close()  # idempotent


def test_shield_latches_when_the_arm_faults_on_a_collision(device, backend):
    controller = ArmController(backend, realtime=False, clock=lambda: device.time)
    controller.reset()
    down = Twist(np.array([0.0, 0.0, -0.3]), np.zeros(3))
    shield = controller.shield
    shield.low[:] = -1.0  # let the tool reach the table for this test
    for _ in range(40):
        reply = controller.step(down)
        if reply.latched:
            break
    assert reply.latched.startswith("fault: arm state 3")
    assert not controller.command(down).as_vector().any()  # refused until reset
    controller.reset()
    assert not controller.shield.latched and not backend.feedback().in_fault


def test_credentials_never_reach_logs_or_reprs(device, backend, caplog, tmp_path, monkeypatch):
    from safemeta.environments.hardware.actor import ArmActor, make_backend

    caplog.set_level(logging.DEBUG)
    credentials = load_credentials()
    assert PASSWORD not in repr(credentials) and PASSWORD not in str(credentials)
    assert credentials.password.reveal() == PASSWORD
    with pytest.raises(TypeError, match="not sent between processes"):
        pickle.dumps(Secret(PASSWORD))
    assert PASSWORD not in repr(backend)
    actor = ArmActor("kortex", {"host": HOST, "port": PORT}, realtime=False)
    actor.step(Twist(np.array([0.0, 0.01, 0.0]), np.zeros(3)))
    assert PASSWORD not in repr(actor) and PASSWORD not in repr(actor.status())
    actor.close()
    assert PASSWORD not in caplog.text
    with pytest.raises(ValueError, match="must not carry"):
        make_backend("kortex", {"password": PASSWORD})
    secrets = tmp_path / "arm.json"
    secrets.write_text(json.dumps({"username": "operator", "password": PASSWORD}))
    monkeypatch.delenv("KINOVA_PASSWORD")
    assert load_credentials(secrets).password.reveal() == PASSWORD
