"""SafetyFrankaCloseDrawer-v0: forbidden-box cost, closing reward, start state, termination,
offscreen rendering (in a fresh process with ``MUJOCO_GL=egl``, as MuJoCo picks its OpenGL backend
at import; skipped if no backend works on this machine)."""

from __future__ import annotations

import textwrap

import mujoco
import numpy as np
import pytest

from safemeta.environments import get_env_entry, make
from safemeta.environments.robotics.franka_drawer_scene import (
    FORBIDDEN_CENTER,
    FORBIDDEN_HALF_EXTENTS,
)
from tests.offscreen import run_offscreen

NAME = "SafetyFrankaCloseDrawer-v0"
ZERO = np.zeros(7, dtype=np.float32)


def inside_box(point: np.ndarray) -> bool:
    return bool(np.all(np.abs(point - FORBIDDEN_CENTER) <= FORBIDDEN_HALF_EXTENTS))


def distance_to_box(point: np.ndarray) -> float:
    gap = np.abs(point - FORBIDDEN_CENTER) - FORBIDDEN_HALF_EXTENTS
    return float(np.linalg.norm(np.maximum(gap, 0.0)))


def cartesian_action(env, goal: np.ndarray) -> np.ndarray:
    """Joint-velocity action moving the end-effector up to 4 cm towards ``goal`` (damped LSQ)."""
    jacobian = np.zeros((3, env.model.nv))
    mujoco.mj_jacSite(env.model, env.data, jacobian, None, env.model.site("end_effector").id)
    arm = [env.model.joint(f"robot:panda0_joint{i}").dofadr[0] for i in range(1, 8)]
    j = jacobian[:, arm]
    step = np.clip(goal - env.end_effector_position(), -0.04, 0.04)
    dq = j.T @ np.linalg.solve(j @ j.T + 1e-3 * np.eye(3), step)
    return np.clip(dq / (env.max_joint_speed * env.dt), -1, 1).astype(np.float32)


def drive(env, goal, steps: int, log: list) -> None:
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(cartesian_action(env, goal))
        log.append((env.end_effector_position(), reward, info, terminated, truncated))


@pytest.fixture
def env():
    env = make(NAME)
    yield env
    env.close()


def test_registered_as_substitute():
    assert "Freight-FrankaCloseDrawer" in get_env_entry(NAME).description
    assert "substitute" in get_env_entry(NAME).description.lower()


def test_start_state(env):
    obs, _ = env.reset(seed=0)
    assert 0.30 <= env.opening <= 0.40 and obs[20] == env.opening
    np.testing.assert_allclose(obs[14:17], env.end_effector_position())
    assert not inside_box(env.end_effector_position())


def test_zero_action_holds_posture_without_cost(env):
    env.reset(seed=0)
    start = env.end_effector_position()
    for _ in range(25):
        _, reward, _, _, info = env.step(ZERO)
        assert info["cost"] == 0.0
    assert np.linalg.norm(env.end_effector_position() - start) < 0.03
    assert reward == pytest.approx(0.0, abs=1e-6)  # the door does not move by itself


@pytest.mark.parametrize("seed", [0, 1])
def test_direct_path_closes_drawer_without_cost(env, seed):
    env.reset(seed=seed)
    opening0 = env.opening
    handle = env.data.site("slide_site").xpos.copy()
    start = env.end_effector_position()
    approach = np.array([handle[0] + 0.1, 0.48, 2.60])  # in front of and right of the handle
    log: list = []
    for fraction in np.linspace(0, 1, 25)[1:]:  # straight line past the red box
        drive(env, start + (approach - start) * fraction, 1, log)
    drive(env, approach, 30, log)
    drive(env, approach + np.array([0.0, 0.12, 0.0]), 20, log)  # in beside the handle
    for x in np.linspace(approach[0], -0.12, 30):  # push left: closes the sliding door
        drive(env, np.array([x, 0.60, 2.60]), 2, log)
    assert all(entry[2]["cost"] == 0.0 for entry in log)
    assert min(distance_to_box(entry[0]) for entry in log[:24]) < 0.1  # it passes close by
    assert log[-1][2]["is_success"] and env.opening < 0.02
    closing_steps = sum(entry[2]["is_success"] for entry in log)
    total = sum(entry[1] for entry in log)
    assert total == pytest.approx(10.0 * (opening0 - env.opening) + closing_steps, abs=1e-6)


def test_end_effector_in_red_box_costs_one(env):
    env.reset(seed=0)
    log: list = []
    drive(env, FORBIDDEN_CENTER, 40, log)
    assert log[0][2]["cost"] == 0.0
    assert inside_box(log[-1][0]) and log[-1][2]["cost"] == 1.0
    for position, _, info, _, _ in log:
        assert info["cost"] == float(inside_box(position))
        assert info["cost_forbidden_zone"] == info["cost"]


def test_terminate_on_violation():
    env = make(NAME, terminate_on_violation=True)
    env.reset(seed=0)
    log: list = []
    for _ in range(40):
        drive(env, FORBIDDEN_CENTER, 1, log)
        if log[-1][3]:
            break
    assert log[-1][2]["cost"] == 1.0
    assert log[-1][3] and not log[-1][4]
    assert all(entry[2]["cost"] == 0.0 for entry in log[:-1])


def test_success_bonus_while_closed():
    env = make(NAME, success_bonus=3.0, progress_weight=0.0)
    env.reset(seed=0)
    env.data.qpos[env.model.joint("slide_cabinet").qposadr[0]] = 0.0
    mujoco.mj_forward(env.model, env.data)
    _, reward, _, _, info = env.step(ZERO)
    assert info["is_success"] and reward == pytest.approx(3.0)


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="closed_within"):
        make(NAME, closed_within=0.5)
    with pytest.raises(ValueError, match="max_joint_speed"):
        make(NAME, max_joint_speed=0.0)
    with pytest.raises(ValueError, match="render_mode must be None or 'rgb_array'"):
        make(NAME, render_mode="human")
    with pytest.raises(ValueError, match="render_size"):
        make(NAME, render_mode="rgb_array", render_size=(4000, 100))
    env = make(NAME)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        env.step(np.zeros(9))


def test_every_advertised_render_mode_is_accepted():
    modes = make(NAME).unwrapped.metadata["render_modes"]
    assert modes == ["rgb_array"]
    for mode in modes:  # the renderer is created lazily: constructing needs no OpenGL
        assert make(NAME, render_mode=mode).unwrapped.render_mode == mode
    env = make(NAME)
    env.reset(seed=0)
    assert env.render() is None


RENDER_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    from safemeta.environments import make

    env = make("SafetyFrankaCloseDrawer-v0", render_mode="rgb_array", render_size=(320, 240))
    env.reset(seed=0)
    try:
        first = env.render()
    except RuntimeError as error:
        print(json.dumps({"skip": str(error)}))
        raise SystemExit(0)
    rgb = first.astype(int)
    red = rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2]) > 40  # the translucent red box
    for _ in range(5):
        env.step(np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0], np.float32))
    moved = float(np.abs(env.render().astype(int) - first).mean())
    env.close()
    print(json.dumps({"shape": list(first.shape), "dtype": str(first.dtype),
                      "red_pixels": int(red.sum()), "moved": moved}))
""")


def test_rgb_array_renders_offscreen():
    result = run_offscreen(RENDER_SCRIPT)
    assert result["shape"] == [240, 320, 3] and result["dtype"] == "uint8"
    assert result["red_pixels"] > 500  # the forbidden box is in view
    assert result["moved"] > 0.5  # the arm moved between the frames
