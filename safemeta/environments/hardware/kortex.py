"""The ``kortex`` backend: a real Kinova Gen3 through Kinova's Python API (``kortex_api``).

``kortex_api`` is not on PyPI and pins an old protobuf, so it is imported lazily, here only, with an
error that says how to install it. The translation between the backend interface (SI units,
radians, quaternions) and kortex (degrees, deg/s for angular twist, Euler angles, actuator angles in
[0°, 360°)) is in small pure functions, tested against a stand-in module driven by the twin.

The tool pose's Euler convention is not documented by Kinova; we read ``theta_x/y/z`` as
``R = Rz(θz) · Ry(θy) · Rx(θx)`` (extrinsic X-Y-Z), which reproduces Kinova's documented Home pose
(90°, 0°, 90°) with our kinematics — verify it on your arm (docs/pour_coffee.md).
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from typing import Any

import numpy as np

from safemeta.environments.hardware.backend import ArmBackend, BackendError, Feedback, Twist
from safemeta.environments.hardware.credentials import Credentials, load_credentials
from safemeta.environments.pour_coffee.kinematics import (
    matrix_quaternion,
    matrix_rpy,
    quaternion_matrix,
    rpy_matrix,
)

INSTALL_HINT = (
    "kortex_api (Kinova's Python API) is not installed. It is not on PyPI: download the wheel "
    "kortex_api-2.6.0.post3-py3-none-any.whl from Kinova's Kortex releases "
    "(github.com/Kinovarobotics/kortex, 'Download links'), then on the node wired to the arm run "
    "`pip install protobuf==3.20.3` and "
    "`pip install --no-deps kortex_api-2.6.0.post3-py3-none-any.whl` "
    "(--no-deps: it pins an old protobuf). Or use backend='twin'."
)
DEFAULT_HOST = "192.168.1.10"
DEFAULT_PORT = 10000


def import_kortex() -> dict[str, Any]:
    """The kortex modules this backend uses (raises ``ImportError`` with the install hint)."""
    names = {
        "TCPTransport": "kortex_api.TCPTransport",
        "RouterClient": "kortex_api.RouterClient",
        "SessionManager": "kortex_api.SessionManager",
        "BaseClientRpc": "kortex_api.autogen.client_stubs.BaseClientRpc",
        "BaseCyclicClientRpc": "kortex_api.autogen.client_stubs.BaseCyclicClientRpc",
        "Base_pb2": "kortex_api.autogen.messages.Base_pb2",
        "Session_pb2": "kortex_api.autogen.messages.Session_pb2",
        "KServerException": "kortex_api.Exceptions.KServerException",
        "KClientException": "kortex_api.Exceptions.KClientException",
    }
    try:
        return {key: importlib.import_module(path) for key, path in names.items()}
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error


# -- unit and frame translation (pure) ------------------------------------------------------------
def twist_to_kortex(twist: Twist) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """``(linear m/s, angular deg/s)`` for ``TwistCommand.twist`` (BASE frame)."""
    linear = tuple(float(v) for v in twist.linear)
    angular = tuple(math.degrees(float(w)) for w in twist.angular)
    return linear, angular  # type: ignore[return-value]


def kortex_euler_to_matrix(theta_x: float, theta_y: float, theta_z: float) -> np.ndarray:
    """Tool orientation from kortex's ``tool_pose_theta_x/y/z`` (degrees), see module docstring."""
    return rpy_matrix((math.radians(theta_x), math.radians(theta_y), math.radians(theta_z)))


def matrix_to_kortex_euler(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`kortex_euler_to_matrix` (degrees)."""
    roll, pitch, yaw = matrix_rpy(rotation)
    return math.degrees(roll), math.degrees(pitch), math.degrees(yaw)


def actuator_degrees_to_radians(degrees: np.ndarray) -> np.ndarray:
    """Actuator angles (kortex: degrees in [0, 360)) as radians in (−π, π]."""
    radians = np.radians(np.asarray(degrees, dtype=float))
    return -((-radians + np.pi) % (2 * np.pi) - np.pi)


def translate_error(error: Exception, kortex: dict[str, Any]) -> BackendError:
    """A kortex exception as a ``BackendError`` with a stable code (no credentials in it)."""
    server = kortex["KServerException"].KServerException
    client = kortex["KClientException"].KClientException
    if isinstance(error, server):
        code, sub = error.get_error_code(), error.get_error_sub_code()
        return BackendError("kortex_server", f"arm refused the request (error {code}, sub {sub})")
    if isinstance(error, client):
        return BackendError(
            "kortex_client", f"client-side failure (error {error.get_error_code()})"
        )
    return BackendError("kortex", f"{type(error).__name__}: {error}")


class KortexBackend(ArmBackend):
    """A Gen3 over TCP with a kortex session; credentials from the node's environment."""

    simulated = False

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        secrets_file: str | None = None,
        session_inactivity_timeout_ms: int = 60_000,
        connection_inactivity_timeout_ms: int = 2_000,
        home_timeout: float = 30.0,
        clock: Any = time.monotonic,
    ) -> None:
        self._kortex = import_kortex()
        self.clock = clock  # the feedback's time stamp (injectable for the stand-in's sim clock)
        self.host, self.port = host, int(port)
        self._secrets_file = secrets_file
        self.session_inactivity_timeout_ms = session_inactivity_timeout_ms
        self.connection_inactivity_timeout_ms = connection_inactivity_timeout_ms
        self.home_timeout = home_timeout
        self._transport = self._router = self._session = None
        self._base = self._cyclic = None

    def __repr__(self) -> str:
        return f"KortexBackend(host={self.host!r}, port={self.port})"

    def _call(self, function, *args):
        try:
            return function(*args)
        except Exception as error:
            if isinstance(error, BackendError):
                raise
            raise translate_error(error, self._kortex) from None

    # -- session ------------------------------------------------------------------------------
    def connect(self) -> None:
        if self._base is not None:
            return
        k = self._kortex
        credentials: Credentials = load_credentials(self._secrets_file)
        transport = k["TCPTransport"].TCPTransport()
        router = k["RouterClient"].RouterClient(transport, lambda _error: None)
        self._call(transport.connect, self.host, self.port)
        info = k["Session_pb2"].CreateSessionInfo()
        info.username = credentials.username
        info.password = credentials.password.reveal()
        info.session_inactivity_timeout = self.session_inactivity_timeout_ms
        info.connection_inactivity_timeout = self.connection_inactivity_timeout_ms
        session = k["SessionManager"].SessionManager(router)
        try:
            self._call(session.CreateSession, info)
        except BackendError:
            self._call(transport.disconnect)
            raise
        finally:
            info.password = ""
        self._transport, self._router, self._session = transport, router, session
        self._base = k["BaseClientRpc"].BaseClient(router)
        self._cyclic = k["BaseCyclicClientRpc"].BaseCyclicClient(router)

    def close(self) -> None:
        if self._base is None:
            return
        try:
            self._call(self._base.Stop)
        finally:
            try:
                self._call(self._session.CloseSession)
            finally:
                self._call(self._transport.disconnect)
                self._base = self._cyclic = self._session = self._router = self._transport = None

    def _connected(self):
        if self._base is None:
            raise BackendError("not_connected", "call connect() before using the kortex backend")
        return self._base

    # -- commands ---------------------------------------------------------------------------------
    def send_twist(self, twist: Twist) -> None:
        base = self._connected()
        pb = self._kortex["Base_pb2"]
        command = pb.TwistCommand()
        command.reference_frame = pb.CARTESIAN_REFERENCE_FRAME_BASE
        command.duration = 0
        linear, angular = twist_to_kortex(twist)
        command.twist.linear_x, command.twist.linear_y, command.twist.linear_z = linear
        command.twist.angular_x, command.twist.angular_y, command.twist.angular_z = angular
        self._call(base.SendTwistCommand, command)

    def stop(self) -> None:
        self._call(self._connected().Stop)

    def estop(self) -> None:
        self._call(self._connected().ApplyEmergencyStop)

    def clear_faults(self) -> None:
        self._call(self._connected().ClearFaults)

    def home(self) -> None:
        """Run the arm's stored "Home" action and wait for its end notification."""
        base = self._connected()
        pb = self._kortex["Base_pb2"]
        request = pb.RequestedActionType()
        request.action_type = pb.REACH_JOINT_ANGLES
        actions = self._call(base.ReadAllActions, request)
        handle = next((a.handle for a in actions.action_list if a.name == "Home"), None)
        if handle is None:
            raise BackendError("no_home", "the arm has no stored action named 'Home'")
        done = threading.Event()
        outcome: list[int] = []

        def on_action(notification) -> None:
            if notification.action_event in (pb.ACTION_END, pb.ACTION_ABORT):
                outcome.append(notification.action_event)
                done.set()

        subscription = self._call(
            base.OnNotificationActionTopic, on_action, pb.NotificationOptions()
        )
        try:
            self._call(base.ExecuteActionFromReference, handle)
            if not done.wait(self.home_timeout):
                raise BackendError("timeout", f"Home did not finish in {self.home_timeout} s")
        finally:
            self._call(base.Unsubscribe, subscription)
        if outcome[0] != pb.ACTION_END:
            raise BackendError("aborted", "the Home action was aborted by the arm")

    # -- state ------------------------------------------------------------------------------------
    def feedback(self) -> Feedback:
        self._connected()
        pb = self._kortex["Base_pb2"]
        raw = self._call(self._cyclic.RefreshFeedback)
        now = float(self.clock())
        b = raw.base
        rotation = kortex_euler_to_matrix(
            b.tool_pose_theta_x, b.tool_pose_theta_y, b.tool_pose_theta_z
        )
        actuators = list(raw.actuators)
        in_fault = bool(b.active_state == pb.ARMSTATE_IN_FAULT or b.fault_bank_a or b.fault_bank_b)
        fault = (
            f"arm state {b.active_state}, fault banks a={b.fault_bank_a:#x} b={b.fault_bank_b:#x}"
            if in_fault
            else ""
        )
        return Feedback(
            time=now,
            tool_position=np.array([b.tool_pose_x, b.tool_pose_y, b.tool_pose_z], dtype=float),
            tool_quaternion=matrix_quaternion(rotation),
            tool_linear_velocity=np.array(
                [b.tool_twist_linear_x, b.tool_twist_linear_y, b.tool_twist_linear_z], dtype=float
            ),
            tool_angular_velocity=np.radians(
                [b.tool_twist_angular_x, b.tool_twist_angular_y, b.tool_twist_angular_z]
            ),
            joint_positions=actuator_degrees_to_radians([a.position for a in actuators]),
            joint_velocities=np.radians([a.velocity for a in actuators]),
            joint_torques=np.array([a.torque for a in actuators], dtype=float),
            in_fault=in_fault,
            fault=fault,
            # The Gen3 faults on a detected collision; any fault is treated as one (conservative).
            collision=in_fault,
        )


def tool_matrix(feedback: Feedback) -> np.ndarray:
    """The tool orientation of a feedback as a rotation matrix."""
    return quaternion_matrix(feedback.tool_quaternion)
