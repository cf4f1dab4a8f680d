"""``SafetyPourCoffee-v0``: carry a full mug to the target cup and pour, without collision or spill.

State (15): mug position, mug ZYX Euler angles (ψ, θ, φ), mug linear velocity, goal position, goal
Euler angles. Action (4) in [−1, 1]: mug velocity (ẋ, ẏ, ż) × ``max_linear_speed`` and pouring rate
φ̇ × ``max_pour_rate``, turned into a tool twist (``task.tool_twist``) and then into joint motion by
the twin's resolved-rate controller (or the real arm's own). Reward: Eq. 17 with the Table III
``setting``. Costs: ``cost_collision`` (self-collision, or the arm/gripper/mug touching the table or
the target cup; on the real arm a fault) and ``cost_spill`` (spec §2 model), each counted only if
the setting has that constraint; ``cost`` is their maximum. The episode is not ended by success (the
pour is held until the time limit); ``terminate_on_violation`` ends it at a cost, and through the
actor a shield stop always ends it.

``backend="twin"`` steps the PyBullet twin in-process (training); ``backend="actor"`` steps the arm
owned by the named hardware actor (``safemeta.environments.hardware.actor``), whatever that arm is.
"""

from __future__ import annotations

import uuid
from typing import Any

import gymnasium as gym
import numpy as np

from safemeta.environments.hardware.backend import Feedback, Twist
from safemeta.environments.pour_coffee.kinematics import HOME
from safemeta.environments.pour_coffee.reward import (
    D_THRESH,
    SETTINGS,
    SUCCESS_ANGLE,
    EffortMeter,
    pour_reward,
    wrapped_difference,
)
from safemeta.environments.pour_coffee.spillage import CupGeometry, spills
from safemeta.environments.pour_coffee.task import (
    GOAL_EULER,
    GOAL_POSITION,
    CupState,
    cup_state,
    tool_twist,
)
from safemeta.environments.pour_coffee.twin import PHYSICS_HZ

BACKENDS = ("twin", "actor")
OBS_BOUND = 10.0  # positions (m), angles (rad) and velocities (m/s) are far inside; clipped


class _TwinLink:
    """The twin backend stepped in-process: send, advance one control period, read."""

    def __init__(self, dt: float, latency: float, noise: float, seed: int | None) -> None:
        from safemeta.environments.hardware.twin import TwinBackend

        self.backend = TwinBackend(latency=latency, position_noise=noise, seed=seed)
        self.backend.connect()
        self.dt = dt

    def reset(self, q: np.ndarray) -> Feedback:
        self.backend.reset_joints(q)
        return self.backend.feedback()

    def step(self, twist: Twist) -> tuple[Feedback, str]:
        self.backend.send_twist(twist)
        self.backend.advance(self.dt)
        return self.backend.feedback(), ""

    def close(self) -> None:
        self.backend.close()


class _ActorLink:
    """The arm of a running hardware actor, found by name (one control period per step).

    Ray scopes actor names by namespace, and a driver without one (``safemeta run``, a script)
    gets its own anonymous namespace: with ``namespace=None`` the actor is looked up in this job's
    namespace first, then in every namespace of the cluster, so that env runners of an experiment
    find the actor another driver started. The link's ``owner`` token marks the arm as this env's
    from its ``reset`` on: the actor refuses a step from an env whose episode another env has
    interrupted by a reset (two env runners, or vector sub-envs, on one arm).
    """

    def __init__(self, actor_name: str, namespace: str | None) -> None:
        import ray

        if not ray.is_initialized():
            raise RuntimeError(
                "backend='actor' steps the arm of a Ray actor: connect to the cluster where it "
                "runs first (ray.init(address=...)); RLlib env runners and `safemeta run` / "
                "`safemeta deploy` are connected already"
            )
        self._ray = ray
        self.actor = self._find(actor_name, namespace)
        self.owner = uuid.uuid4().hex

    def _find(self, name: str, namespace: str | None) -> Any:
        ray = self._ray
        try:
            return ray.get_actor(name, namespace=namespace)
        except ValueError as error:
            missing = error
        found = []
        if namespace is None:
            found = sorted(
                entry["namespace"]
                for entry in ray.util.list_named_actors(all_namespaces=True)
                if entry["name"] == name
            )
        if len(found) == 1:
            return ray.get_actor(name, namespace=found[0])
        if len(found) > 1:
            raise ValueError(
                f"backend='actor': hardware actors named {name!r} run in the namespaces "
                f"{found}; pass actor_namespace= to choose one"
            )
        where = f"namespace {namespace!r}" if namespace is not None else "any namespace"
        raise ValueError(
            f"backend='actor': no running hardware actor named {name!r} in {where} of this Ray "
            "cluster. Start one first with safemeta.environments.hardware.actor."
            "start_arm_actor(...) (or `safemeta deploy`) and keep its driver running, or pass "
            "backend='twin'"
        ) from missing

    def reset(self, q: np.ndarray) -> Feedback:
        # a real arm ignores q: Home action
        return self._ray.get(self.actor.reset.remote(q, owner=self.owner))

    def step(self, twist: Twist) -> tuple[Feedback, str]:
        reply = self._ray.get(self.actor.step.remote(twist, owner=self.owner))
        return reply.feedback, reply.latched

    def close(self) -> None:
        """The actor outlives the env: it owns the arm."""


class PourCoffeeEnv(gym.Env):
    """Pour Coffee on the Kinova Gen3 twin or, through the hardware actor, on any arm backend."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        setting: str = "sim1",
        control_hz: int = 20,
        max_episode_steps: int = 100,
        terminate_on_violation: bool = False,
        backend: str = "twin",
        actor_name: str = "kinova_gen3",
        actor_namespace: str | None = None,
        max_linear_speed: float = 0.15,
        max_pour_rate: float = 1.0,
        cup_diameter: float = 0.08,
        cup_height: float = 0.10,
        cup_fill: float = 0.07,
        d_thresh: float = D_THRESH,
        init_joint_noise: float = 0.02,
        latency: float = 0.0,
        sensor_noise: float = 0.0,
    ) -> None:
        if setting not in SETTINGS:
            raise ValueError(
                f"setting must be one of {', '.join(SETTINGS)} (Table III), got {setting!r}"
            )
        if isinstance(control_hz, bool) or not isinstance(control_hz, int):
            raise ValueError(f"control_hz must be an int, got {control_hz!r}")
        if not 10 <= control_hz <= 40 or PHYSICS_HZ % control_hz:
            raise ValueError(
                f"control_hz must be in 10..40 Hz and divide the {PHYSICS_HZ} Hz physics "
                f"(10, 12, 15, 16, 20, 24, 30 or 40), got {control_hz}"
            )
        if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int):
            raise ValueError(f"max_episode_steps must be an int >= 1, got {max_episode_steps!r}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'twin' or 'actor', got {backend!r}")
        if not 0 < max_linear_speed <= 0.5:
            raise ValueError(
                f"max_linear_speed must be in (0, 0.5] m/s (Kinova's twist limit), got "
                f"{max_linear_speed}"
            )
        if not 0 < max_pour_rate <= 1.74:
            raise ValueError(
                f"max_pour_rate must be in (0, 1.74] rad/s (Kinova's twist limit), got "
                f"{max_pour_rate}"
            )
        if d_thresh <= 0 or init_joint_noise < 0:
            raise ValueError(
                f"d_thresh must be > 0 and init_joint_noise >= 0, got {d_thresh}, "
                f"{init_joint_noise}"
            )
        self.setting_name = setting
        self.setting = SETTINGS[setting]
        self.control_hz = control_hz
        self.dt = 1.0 / control_hz
        self.max_episode_steps = max_episode_steps
        self.terminate_on_violation = bool(terminate_on_violation)
        self.backend_name = backend
        self.max_linear_speed = float(max_linear_speed)
        self.max_pour_rate = float(max_pour_rate)
        self.cup = CupGeometry(cup_diameter, cup_height, cup_fill)
        self.d_thresh = float(d_thresh)
        self.init_joint_noise = float(init_joint_noise)
        self.goal_position = GOAL_POSITION.copy()
        self.goal_euler = GOAL_EULER.copy()
        self.action_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (15,), np.float32)
        if backend == "twin":
            self.link: _TwinLink | _ActorLink = _TwinLink(self.dt, latency, sensor_noise, None)
        else:
            self.link = _ActorLink(actor_name, actor_namespace)
        self.effort = EffortMeter(self.dt)
        self._feedback: Feedback | None = None
        self._cup: CupState | None = None
        self._steps = 0
        self._success = False
        self._violated = False

    # -- helpers --------------------------------------------------------------------------------
    @property
    def twin_backend(self) -> Any:
        """The in-process ``TwinBackend`` (``backend="twin"`` only), to construct situations."""
        if not isinstance(self.link, _TwinLink):
            raise AttributeError("twin_backend exists only with backend='twin'")
        return self.link.backend

    def _observation(self, cup: CupState) -> np.ndarray:
        obs = np.concatenate(
            [cup.position, cup.euler, cup.linear_velocity, self.goal_position, self.goal_euler]
        )
        return np.clip(obs, -OBS_BOUND, OBS_BOUND).astype(np.float32)

    # -- gymnasium ------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        noise = self.np_random.uniform(-self.init_joint_noise, self.init_joint_noise, HOME.shape)
        self._feedback = self.link.reset(HOME + noise)
        self.effort.reset()
        self._steps = 0
        self._success = False
        self._violated = False
        cup = self._cup = cup_state(self._feedback)
        self.effort.velocity = cup.linear_velocity.copy()
        info = {"distance": float(np.linalg.norm(cup.position - self.goal_position))}
        return self._observation(cup), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._feedback is None or self._cup is None:
            raise RuntimeError("call reset() before step()")
        action = np.clip(np.asarray(action, dtype=float), -1.0, 1.0)
        twist = tool_twist(
            self._cup,
            self._feedback.tool_position,
            action[:3] * self.max_linear_speed,
            float(action[3]) * self.max_pour_rate,
            self.goal_euler,
        )
        feedback, latched = self.link.step(twist)
        self._feedback = feedback
        self._steps += 1
        cup = self._cup = cup_state(feedback)
        acceleration, _ = self.effort.update(cup.linear_velocity)
        distance = float(np.linalg.norm(cup.position - self.goal_position))
        phi_error = abs(wrapped_difference(float(cup.euler[2]), float(self.goal_euler[2])))
        at_goal = distance <= self.d_thresh
        spilled = spills(cup.axis, acceleration, self.cup, at_goal=at_goal)
        collided = bool(feedback.collision or feedback.in_fault)
        reward = pour_reward(
            distance,
            float(np.linalg.norm(acceleration)),
            spilled,
            float(cup.euler[2]),
            float(self.goal_euler[2]),
            self.setting,
            self.d_thresh,
        )
        cost_collision = float(collided and self.setting.collision_cost)
        cost_spill = float(spilled and self.setting.spill_cost)
        cost = max(cost_collision, cost_spill)
        self._violated |= cost > 0.0
        self._success |= at_goal and phi_error <= SUCCESS_ANGLE and not self._violated
        terminated = bool((self.terminate_on_violation and cost > 0.0) or latched)
        truncated = bool(self._steps >= self.max_episode_steps and not terminated)
        info = {
            "cost": cost,
            "cost_collision": cost_collision,
            "cost_spill": cost_spill,
            "collided": collided,
            "spilled": spilled,
            "distance": distance,
            "phi_error": phi_error,
            "is_success": self._success,
            "shield_stop": latched,
            **self.effort.summary(),
        }
        return self._observation(cup), float(reward), terminated, truncated, info

    def close(self) -> None:
        self.link.close()

    def bullet_reference(self) -> tuple[Any, int]:
        """``(KinovaTwin, 240 Hz physics steps per env step)`` (twin backend).

        The bare-physics reference of ``benchmarks/pour_coffee_throughput.py``; deliberately not
        named ``physics_reference`` (that one returns MuJoCo objects).
        """
        return self.twin_backend.twin, round(PHYSICS_HZ / self.control_hz)
