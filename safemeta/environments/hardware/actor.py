"""The Ray actor that owns one arm, placed by the custom resource ``kinova_gen3``.

Start it on a cluster whose arm node was started with ``ray start ... --resources='{"kinova_gen3":
1}'``: the actor asks for that one unit, so Ray places it on that node and can never start a second
one (a sweep's env runners all talk to the same named actor). The actor is threaded: ``status`` and
``estop`` answer while a ``step`` waits for its control tick. Credentials are read on the arm node
(see ``credentials.py``); nothing secret passes through the actor's arguments, repr or logs.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from safemeta.environments.hardware.backend import ArmBackend, Feedback, Twist
from safemeta.environments.hardware.controller import ArmController, StepReply
from safemeta.environments.hardware.credentials import Credentials, Secret
from safemeta.environments.hardware.shield import ShieldConfig

ARM_RESOURCE = "kinova_gen3"
DEFAULT_ACTOR_NAME = "kinova_gen3"
BACKENDS = ("twin", "kortex")


# Option names that would carry an account or a secret ("secrets_file", a path, is allowed).
SECRET_OPTION_PARTS = ("password", "passwd", "username", "credential", "token", "api_key")
PUBLIC_OPTIONS = frozenset({"secrets_file"})


def check_backend_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``options``, refused if any name or value could carry credentials.

    Backend options travel as actor arguments and are logged as ``backend/*`` MLflow params by
    ``safemeta deploy``; credentials never do (the kortex backend reads them on the arm node).
    """
    options = dict(options or {})
    secret_keys = sorted(
        key
        for key, value in options.items()
        if isinstance(value, (Secret, Credentials))
        or (
            str(key).lower() not in PUBLIC_OPTIONS
            and any(part in str(key).lower() for part in SECRET_OPTION_PARTS)
        )
    )
    if secret_keys:
        raise ValueError(
            f"backend options must not carry {secret_keys}: the kortex backend reads "
            "credentials on the arm node ($KINOVA_USERNAME/$KINOVA_PASSWORD or secrets_file=)"
        )
    return options


def make_backend(backend: str, options: dict[str, Any] | None = None) -> ArmBackend:
    """A backend by name: ``twin`` (PyBullet) or ``kortex`` (the real arm; needs kortex_api)."""
    options = check_backend_options(options)
    if backend == "twin":
        from safemeta.environments.hardware.twin import TwinBackend

        return TwinBackend(**options)
    if backend == "kortex":
        from safemeta.environments.hardware.kortex import KortexBackend

        return KortexBackend(**options)
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


class ArmActor:
    """One arm behind the shield; wrap with ``ray.remote`` (see :func:`start_arm_actor`)."""

    def __init__(
        self,
        backend: str = "twin",
        backend_options: dict[str, Any] | None = None,
        control_hz: int = 20,
        shield: dict[str, Any] | None = None,
        realtime: bool = True,
    ) -> None:
        self.backend_name = backend
        self.control_hz = control_hz
        self.controller = ArmController(
            make_backend(backend, backend_options),
            control_hz=control_hz,
            shield=ShieldConfig(**(shield or {})),
            realtime=realtime,
        )
        self._owner: str | None = None  # the env whose episode the arm is in (see reset)
        self.controller.start()

    def __repr__(self) -> str:
        return f"ArmActor(backend={self.backend_name!r}, control_hz={self.control_hz})"

    def step(self, twist: Twist, owner: str | None = None) -> StepReply:
        """Command ``twist`` for one control period; ``owner``: see :meth:`reset`."""
        if owner is not None and owner != self._owner:
            raise RuntimeError(
                f"{self!r}: another env reset the arm during this env's episode (two env "
                "runners, or num_envs_per_env_runner > 1, stepping one arm). One arm serves one "
                "env at a time: train with num_env_runners <= 1 and num_envs_per_env_runner=1, "
                "or start one arm actor per env"
            )
        return self.controller.step(twist)

    def command(self, twist: Twist) -> Twist:
        return self.controller.command(twist)

    def feedback(self) -> Feedback:
        return self.controller.last_feedback

    def reset(self, start: Any = None, owner: str | None = None) -> Feedback:
        """Explicit reset; ``start`` joint angles are honoured by the twin only (real arm: Home).

        ``owner`` (an env's token) makes the arm that env's until the next reset: its steps, and
        every step without a token, are served; a step with another env's token is refused.
        """
        feedback = self.controller.reset(start)
        self._owner = owner
        return feedback

    def stop(self) -> None:
        self.controller.stop()

    def estop(self) -> None:
        self.controller.estop()

    def status(self) -> dict[str, Any]:
        status = self.controller.status()
        status["events"] = [asdict(e) for e in status["events"]]
        status["backend"] = self.backend_name
        return status

    def close(self) -> None:
        self.controller.close()


def arm_actor_options(
    name: str = DEFAULT_ACTOR_NAME, namespace: str | None = None, *, on_arm_node: bool = True
) -> dict[str, Any]:
    """Ray options of the arm actor: named, threaded, 0 CPUs, one ``kinova_gen3`` unit."""
    options: dict[str, Any] = {"name": name, "max_concurrency": 4, "num_cpus": 0}
    if namespace is not None:
        options["namespace"] = namespace
    if on_arm_node:
        options["resources"] = {ARM_RESOURCE: 1}
    return options


def start_arm_actor(
    backend: str = "twin",
    *,
    backend_options: dict[str, Any] | None = None,
    control_hz: int = 20,
    shield: dict[str, Any] | None = None,
    realtime: bool = True,
    name: str = DEFAULT_ACTOR_NAME,
    namespace: str | None = None,
    on_arm_node: bool | None = None,
) -> Any:
    """Start the named arm actor and wait until it is ready; returns its handle.

    ``on_arm_node`` (default: True for ``kortex``, False for ``twin``) requests the ``kinova_gen3``
    resource; if the cluster has none, this fails at once instead of waiting forever.
    """
    import ray

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if on_arm_node is None:
        on_arm_node = backend == "kortex"
    if on_arm_node and ray.cluster_resources().get(ARM_RESOURCE, 0) < 1:
        raise RuntimeError(
            f"no node of this Ray cluster offers the {ARM_RESOURCE!r} resource. Start the node "
            f'wired to the arm with `ray start --address=HEAD --resources=\'{{"{ARM_RESOURCE}": '
            f"1}}'` (or ray.init(resources={{'{ARM_RESOURCE}': 1}}) locally), or pass "
            "on_arm_node=False for a twin"
        )
    options = arm_actor_options(name, namespace, on_arm_node=on_arm_node)
    handle = (
        ray.remote(ArmActor)
        .options(**options)
        .remote(backend, backend_options, control_hz, shield, realtime)
    )
    ray.get(handle.status.remote())  # surfaces constructor errors (e.g. kortex_api missing)
    return handle


def stop_arm_actor(handle: Any) -> None:
    """Stop the arm, close the backend, and end the actor."""
    import ray

    try:
        ray.get(handle.close.remote())
    finally:
        ray.kill(handle)
