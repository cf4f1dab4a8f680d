"""Meta SAC-Lag trains on ``SafetyPourCoffee-v0`` through the arm actor (``backend="actor"``).

The arm actor runs the twin backend in lockstep (one control tick per command, started with
``start_arm_actor`` as a user would), the algorithm is built from a ``TrialSpec`` as ``safemeta
run`` builds it, and its one remote RLlib env runner (a separate Ray worker process) finds the
actor by name. The test follows the data: every sampled env step is one tick of the actor, every
episode start one of its explicit resets, every shield latch (spill or collision in the twin behind
the actor) one terminal transition with cost 1 in D_s, and the arm's last state is the last stored
observation; the learner ran its gradient updates on those transitions.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
import torch

from safemeta.environments import make
from safemeta.environments.hardware.actor import start_arm_actor, stop_arm_actor
from safemeta.environments.pour_coffee.task import GOAL_EULER, GOAL_POSITION, cup_state
from safemeta.platform.trial import TrialSpec, build_algorithm_config
from tests.hardware.arm_node import REPO, driver_environment

WARMUP = 40
PREFILL = 3
STEPS_PER_ITERATION = 48  # three rounds of rollout_fragment_length = 16
HYPERPARAMETERS = {
    "actor_hiddens": [32, 32],
    "critic_hiddens": [32, 32],
    "train_batch_size_per_learner": 16,
    "num_steps_sampled_before_learning_starts": WARMUP,
    "initial_state_prefill": PREFILL,
    "rollout_fragment_length": 16,
    "epsilon": 0.5,  # ε starts inside [0, 1], so a meta step on it shows
    "epsilon_lr": 1e-2,
}


def unique_name() -> str:
    return f"arm-train-{uuid.uuid4().hex[:8]}"


def ray_get_ticks(handle) -> int:
    import ray

    return ray.get(handle.status.remote())["ticks"]


def observation_of(feedback) -> np.ndarray:
    """The env's observation for the arm state ``feedback`` (mug pose and velocity, goal)."""
    cup = cup_state(feedback)
    return np.concatenate(
        [cup.position, cup.euler, cup.linear_velocity, GOAL_POSITION, GOAL_EULER]
    ).astype(np.float32)


def stored(replay, field: str) -> dict[str, torch.Tensor]:
    buffer = getattr(replay, field)
    return {key: values[: buffer.size] for key, values in buffer.data.items()}


def test_meta_sac_lag_trains_through_the_arm_actor_from_a_remote_env_runner(local_ray):
    import ray

    name = unique_name()
    handle = start_arm_actor("twin", name=name, realtime=False)
    algo = None
    try:
        start_feedback = ray.get(handle.feedback.remote())
        assert ray.get(handle.status.remote())["ticks"] == 0
        spec = TrialSpec(
            sweep="unit",
            trial_name="pour-on-actor",
            algorithm="meta_sac_lag",
            label="meta_sac_lag",
            env="SafetyPourCoffee-v0",
            env_kwargs={"backend": "actor", "actor_name": name, "max_episode_steps": 20},
            seed=0,
            hyperparameters=HYPERPARAMETERS,
            env_steps=2 * STEPS_PER_ITERATION,
            env_runners=1,
        )
        config = build_algorithm_config(spec)
        config.reporting(min_sample_timesteps_per_iteration=STEPS_PER_ITERATION)
        algo = config.build_algo()
        assert algo.env_runner.env is None  # the driver holds no env: the remote runner steps
        assert algo.env_runner_group.num_remote_env_runners() == 1
        status = ray.get(handle.status.remote())
        assert status["ticks"] == 0  # building steps nothing...
        resets = [e for e in status["events"] if e["kind"] == "reset"]
        assert len(resets) == PREFILL  # ... but D_0's prefill resets went through the actor

        for iteration in (1, 2):
            result = algo.train()
            sampled = result["num_env_steps_sampled_lifetime"]
            assert sampled == iteration * STEPS_PER_ITERATION
            # One env step = one command = one lockstep tick of the actor's arm.
            assert ray.get(handle.status.remote())["ticks"] == sampled

        learner = result["learners"]["default_policy"]
        assert learner["num_gradient_updates_lifetime"] == sampled - WARMUP > 0
        assert learner["epsilon"] != 0.5  # ε was meta-learned on these transitions

        replay = algo.learner_group._learner.replay
        main, safety = stored(replay, "main"), stored(replay, "safety")
        assert replay.main.size + replay.safety.size == sampled
        status = ray.get(handle.status.remote())
        events = status["events"]
        # Every episode start, the prefill's included, was an explicit reset of the actor's arm.
        assert replay.initial.size == sum(e["kind"] == "reset" for e in events)
        assert replay.initial.size > PREFILL + 1  # several 20-step (or shorter) episodes
        # Costs: the twin behind the actor spilled (12 % of uniform random steps); each spill or
        # collision latched the shield, which ended the episode with cost 1. The in-process twin
        # has no shield: episodes would run on and the costs would not match the latches.
        latches = [e for e in events if e["kind"] == "latch"]
        assert latches and all(e["detail"] in ("spill", "collision") for e in latches)
        assert replay.safety.size == len(latches)
        assert bool((safety["dones"] == 1.0).all()) and not bool((main["dones"] == 1.0).any())
        # Observations: the arm moved, and its state now is the last stored next observation.
        feedback = ray.get(handle.feedback.remote())
        assert np.linalg.norm(feedback.tool_position - start_feedback.tool_position) > 0.01
        next_obs = torch.cat([main["next_obs"], safety["next_obs"]]).numpy()
        gap = np.abs(next_obs - observation_of(feedback)).max(axis=1).min()
        assert gap < 1e-5, gap
    finally:
        if algo is not None:
            algo.stop()
        stop_arm_actor(handle)


# A second driver (its own Ray job, so its own anonymous namespace) that starts the arm actor the
# way docs/pour_coffee.md's "train on the arm" step has it running, and keeps it until stdin closes.
# Before connecting it builds the env once: without Ray the env must say how to connect.
OTHER_DRIVER = textwrap.dedent("""
    import sys
    import ray
    from safemeta.environments import make
    from safemeta.environments.hardware.actor import start_arm_actor, stop_arm_actor

    try:
        make("SafetyPourCoffee-v0", backend="actor", actor_name=sys.argv[2])
    except RuntimeError as error:
        print("unconnected:", error, flush=True)
    ray.init(address=sys.argv[1], log_to_driver=False)
    handle = start_arm_actor("twin", name=sys.argv[2], realtime=False)
    print("ready", ray.get_runtime_context().namespace, flush=True)
    sys.stdin.read()
    stop_arm_actor(handle)
    ray.shutdown()
""")


def test_an_actor_started_by_another_driver_is_found_without_its_namespace(local_ray):
    import ray

    name = unique_name()
    driver = subprocess.Popen(
        [sys.executable, "-c", OTHER_DRIVER, ray.get_runtime_context().gcs_address, name],
        env=driver_environment(),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        unconnected = driver.stdout.readline()
        ready = driver.stdout.readline()
        assert ready.startswith("ready "), ready + driver.stderr.read()[-3000:]
        assert "ray.init(address=...)" in unconnected, unconnected
        other_namespace = ready.split()[1]
        assert other_namespace != ray.get_runtime_context().namespace
        env = make("SafetyPourCoffee-v0", backend="actor", actor_name=name)
        obs, _ = env.reset(seed=0)
        for _ in range(3):
            obs, *_ = env.step(np.array([0.0, 0.0, 1.0, 0.0], np.float32))
        status = ray.get(env.link.actor.status.remote())
        assert status["ticks"] == 3  # the other driver's arm did the steps
        feedback = ray.get(env.link.actor.feedback.remote())
        np.testing.assert_allclose(obs, observation_of(feedback), atol=1e-6)
        env.close()
    finally:
        driver.stdin.close()
        try:
            driver.wait(timeout=60)
        except subprocess.TimeoutExpired:
            driver.kill()  # this test's own child, by its handle
            driver.wait()
    assert driver.returncode == 0, driver.stderr.read()[-3000:]


def test_the_lookup_refuses_to_guess_between_namespaces(local_ray):
    name = unique_name()
    handles = [
        start_arm_actor("twin", name=name, namespace=f"{name}-{lab}", realtime=False)
        for lab in ("a", "b")
    ]
    try:
        with pytest.raises(ValueError, match=r"namespaces \[.*-a.*-b.*\]; pass actor_namespace="):
            make("SafetyPourCoffee-v0", backend="actor", actor_name=name)
        env = make("SafetyPourCoffee-v0", backend="actor", actor_name=name,
                   actor_namespace=f"{name}-b")  # fmt: skip
        env.reset(seed=0)
        env.step(np.zeros(4, np.float32))
        env.close()
        assert [ray_get_ticks(h) for h in handles] == [0, 1]
        with pytest.raises(ValueError, match=r"no running hardware actor .* namespace 'lab-x'"):
            make("SafetyPourCoffee-v0", backend="actor", actor_name=name, actor_namespace="lab-x")
    finally:
        for handle in handles:
            stop_arm_actor(handle)


def test_two_envs_interleaving_on_one_arm_are_refused(local_ray):
    name = unique_name()
    handle = start_arm_actor("twin", name=name, realtime=False)
    try:
        first = make("SafetyPourCoffee-v0", backend="actor", actor_name=name)
        second = make("SafetyPourCoffee-v0", backend="actor", actor_name=name)
        first.reset(seed=0)
        first.step(np.zeros(4, np.float32))
        second.reset(seed=1)  # e.g. a second env runner starts its episode on the same arm
        with pytest.raises(RuntimeError, match="One arm serves one env at a time"):
            first.step(np.zeros(4, np.float32))
        second.step(np.zeros(4, np.float32))  # the env that reset last owns the arm
        first.reset(seed=2)  # and a reset takes it back
        first.step(np.zeros(4, np.float32))
        with pytest.raises(RuntimeError, match="num_envs_per_env_runner=1"):
            second.step(np.zeros(4, np.float32))
        assert ray_get_ticks(handle) == 3  # the refused steps never reached the arm
    finally:
        stop_arm_actor(handle)
