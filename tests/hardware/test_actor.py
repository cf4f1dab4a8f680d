"""The arm actor on Ray: placement by the ``kinova_gen3`` resource, real-time shield, env access.

The session's shared local Ray (``local_ray``) has no ``kinova_gen3`` resource: there,
``start_arm_actor`` on the arm node must fail at once with the fix, and the twin actors are started
with ``on_arm_node=False``. Placement by the resource is tested on the ``arm_node`` cluster (a
separate Ray head with one unit, see ``arm_node.py``) from a driver subprocess.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from safemeta.environments import make
from safemeta.environments.hardware.actor import (
    ARM_RESOURCE,
    arm_actor_options,
    start_arm_actor,
    stop_arm_actor,
)
from safemeta.environments.hardware.backend import Twist
from tests.hardware.arm_node import run_driver


def unique_name() -> str:
    return f"arm-test-{uuid.uuid4().hex[:8]}"


def test_actor_options_request_the_arm_resource():
    options = arm_actor_options("arm", "lab")
    assert options["resources"] == {ARM_RESOURCE: 1}
    assert options["num_cpus"] == 0 and options["max_concurrency"] >= 2
    assert options["name"] == "arm" and options["namespace"] == "lab"
    assert "resources" not in arm_actor_options(on_arm_node=False)


def test_without_an_arm_node_start_fails_at_once_with_the_fix(local_ray):
    import ray

    name = unique_name()
    if ray.cluster_resources().get(ARM_RESOURCE, 0) >= 1:  # RAY_ADDRESS: a cluster with an arm
        pytest.skip("this cluster has an arm node (placement: the arm_node test below)")
    with pytest.raises(RuntimeError, match=re.escape("ray start --address=HEAD --resources=")):
        start_arm_actor("twin", name=name, on_arm_node=True)
    with pytest.raises(ValueError, match=r"not found|Failed to look up"):
        ray.get_actor(name)  # nothing was left pending


PLACEMENT_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import ray
    from safemeta.environments.hardware.actor import (
        ARM_RESOURCE, ArmActor, arm_actor_options, start_arm_actor, stop_arm_actor)

    def free_units(expected, timeout=30.0):
        deadline = time.monotonic() + timeout  # the resource view is eventually consistent
        while True:
            free = ray.available_resources().get(ARM_RESOURCE, 0.0)
            if free == expected or time.monotonic() > deadline:
                return free

    ray.init(address=sys.argv[1], log_to_driver=False)
    out = {"total": ray.cluster_resources().get(ARM_RESOURCE, 0.0), "free": free_units(1.0)}
    first = start_arm_actor("twin", name="arm-first", on_arm_node=True, realtime=False)
    out["first_backend"] = ray.get(first.status.remote())["backend"]
    out["free_while_held"] = free_units(0.0)
    second = ray.remote(ArmActor).options(**arm_actor_options("arm-second")).remote(
        "twin", None, 20, None, False)
    ready, _ = ray.wait([second.status.remote()], timeout=5.0)
    out["second_placed_while_held"] = bool(ready)
    stop_arm_actor(first)
    out["second_backend_after_release"] = ray.get(second.status.remote(), timeout=120)["backend"]
    out["free_while_second_holds"] = free_units(0.0)
    stop_arm_actor(second)
    out["free_after"] = free_units(1.0)
    ray.shutdown()
    print(json.dumps(out))
""")


def test_the_arm_actor_is_placed_by_and_holds_the_arm_resource(arm_node):
    done = run_driver(arm_node, sys.executable, "-c", PLACEMENT_SCRIPT, arm_node.address)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["total"] == 1.0 and out["free"] == 1.0
    assert out["first_backend"] == "twin"
    assert out["free_while_held"] == 0.0  # the first actor holds the node's one unit...
    assert not out["second_placed_while_held"]  # ... so a second arm actor cannot be placed
    assert out["second_backend_after_release"] == "twin"  # until the first one is stopped
    assert out["free_while_second_holds"] == 0.0
    assert out["free_after"] == 1.0


def test_realtime_twin_actor_watchdog_and_latch(local_ray):
    import ray

    handle = start_arm_actor(
        "twin", name=unique_name(), shield={"watchdog_timeout": 0.15}, realtime=True
    )
    try:
        twist = Twist(np.array([0.0, 0.1, 0.0]), np.zeros(3))
        start = ray.get(handle.feedback.remote()).tool_position
        for _ in range(6):
            reply = ray.get(handle.step.remote(twist))
        assert reply.feedback.tool_position[1] - start[1] > 0.01  # moved along +y
        time.sleep(0.8)  # silence: several times the watchdog timeout
        status = ray.get(handle.status.remote())
        assert any(e["kind"] == "watchdog_stop" for e in status["events"])
        feedback = ray.get(handle.feedback.remote())
        assert np.linalg.norm(feedback.tool_linear_velocity) < 5e-3
        ray.get(handle.estop.remote())  # answered while the control loop runs
        reply = ray.get(handle.step.remote(twist))
        assert reply.latched == "emergency stop" and not reply.command.as_vector().any()
        ray.get(handle.reset.remote())
        assert not ray.get(handle.step.remote(twist)).latched
    finally:
        stop_arm_actor(handle)


def test_env_steps_the_arm_through_the_actor_from_a_ray_worker(local_ray):
    import ray

    name = unique_name()
    handle = start_arm_actor("twin", name=name, realtime=False)
    try:

        @ray.remote(num_cpus=0)
        def rollout(actor_name: str) -> tuple[list[float], bool, float]:
            env = make("SafetyPourCoffee-v0", backend="actor", actor_name=actor_name,
                       max_episode_steps=8)  # fmt: skip
            obs, _ = env.reset(seed=0)
            distances = []
            for _ in range(8):
                goal_dir = obs[9:12] - obs[:3]
                action = np.array([*(goal_dir / np.linalg.norm(goal_dir)), 0.0], np.float32)
                obs, _, _, truncated, info = env.step(action)
                distances.append(info["distance"])
            return distances, truncated, info["cost"]

        distances, truncated, cost = ray.get(rollout.remote(name))
        assert truncated and cost == 0.0
        assert distances[-1] < distances[0] - 0.03  # 8 × 50 ms at 0.15 m/s towards the goal
        # Seeded starts are the same through the actor (twin backend) as in-process.
        env = make("SafetyPourCoffee-v0", backend="actor", actor_name=name)
        direct = make("SafetyPourCoffee-v0")
        np.testing.assert_allclose(env.reset(seed=3)[0], direct.reset(seed=3)[0], atol=1e-6)
        direct.close()
        # A shield stop ends the episode through the actor, whatever terminate_on_violation says.
        env.reset(seed=0)
        ray.get(handle.estop.remote())
        _, _, terminated, _, info = env.step(np.zeros(4, np.float32))
        assert terminated and info["shield_stop"] == "emergency stop" and info["cost"] == 1.0
    finally:
        stop_arm_actor(handle)


def test_env_without_a_running_actor_names_the_fix(local_ray):
    with pytest.raises(ValueError, match="start_arm_actor"):
        make("SafetyPourCoffee-v0", backend="actor", actor_name=unique_name())
