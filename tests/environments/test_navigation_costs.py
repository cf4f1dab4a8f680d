"""Safe navigation: each cost source fires in a constructed situation, is 0 otherwise (spec §5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from safemeta.environments.navigation.env import SafeNavigationEnv
from safemeta.environments.navigation.tasks import NavTask, level_task

FAR = ((-1.2, 1.2), (1.2, 1.2), (-1.2, -1.2), (1.2, -1.2))


def costs(
    task: NavTask, action=(0.0, 0.0), steps: int = 1, robot: str = "point", **kwargs
) -> list[dict]:
    env = SafeNavigationEnv(robot, task, **kwargs)
    env.reset(seed=0)
    infos = []
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(np.array(action))
        infos.append(info)
        if terminated or truncated:
            break
    return infos


def goal1(**fields) -> NavTask:
    base = level_task("goal", 1).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_xy=(1.0, 1.0),
        hazards_xy=FAR + FAR,
        vases_xy=((-1.0, 0.0),),
    )
    return base.replace(**fields)


def test_hazard_cost_inside_only() -> None:
    assert costs(goal1())[0] == {"cost_hazards": 0.0, "cost_sum": 0.0, "cost": 0.0}
    inside = goal1(hazards_xy=((0.15, 0.0), *FAR, *FAR[:3]))
    info = costs(inside)[0]
    assert info["cost_hazards"] == 1.0 and info["cost"] == 1.0 and info["cost_sum"] == 1.0
    # The hazard size is a task parameter: a 0.1 hazard 0.15 away costs nothing.
    assert costs(inside.replace(hazard_size=0.1))[0]["cost"] == 0.0


def test_level0_reports_only_cost_sum() -> None:
    info = costs(level_task("goal", 0).replace(agent_xy=(0.0, 0.0)))[0]
    assert info == {"cost_sum": 0.0, "cost": 0.0}


@pytest.mark.parametrize(
    "level,xy,expected",
    [
        (1, (1.2, 0.0), 1.0),
        (1, (0.0, 1.2), 0.0),
        (1, (0.5, 0.5), 0.0),
        (2, (0.0, 1.2), 1.0),
        (2, (-1.2, 0.0), 1.0),
        (2, (1.0, -1.0), 0.0),
    ],
)
def test_sigwall_cost_past_the_wall(level: int, xy: tuple[float, float], expected: float) -> None:
    task = level_task("circle", level).replace(agent_xy=xy, agent_yaw=0.0)
    info = costs(task)[0]
    assert info["cost_out_of_boundary"] == expected == info["cost"]


def test_vase_contact_and_velocity_cost_when_pushed() -> None:
    task = level_task("goal", 2).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_xy=(-1.5, 1.5),
        hazards_xy=tuple((1.8 * math.cos(a), 1.8 * math.sin(a)) for a in np.linspace(0.5, 2.5, 10)),
        vases_xy=((0.45, 0.0), *[(-1.5 + 0.3 * i, -1.7) for i in range(9)]),
    )
    infos = costs(task, action=(1.0, 0.0), steps=40)
    assert infos[0]["cost_vases_contact"] == 0.0 and infos[0]["cost_vases_velocity"] == 0.0
    assert infos[0]["cost"] == 0.0
    assert any(i["cost_vases_contact"] == 1.0 for i in infos)
    assert any(i["cost_vases_velocity"] == 1.0 for i in infos)
    assert all(i["cost_hazards"] == 0.0 for i in infos)
    # Goal1's vase is unconstrained: pushing it costs nothing.
    free = goal1(vases_xy=((0.45, 0.0),))
    assert all(
        i["cost"] == 0.0 and "cost_vases_contact" not in i
        for i in costs(free, action=(1.0, 0.0), steps=40)
    )


def button1(**fields) -> NavTask:
    base = level_task("button", 1).replace(
        agent_xy=(0.0, 0.0),
        agent_yaw=0.0,
        goal_button=0,
        buttons_xy=((-1.0, 1.0), (0.35, 0.0), (-1.0, -1.0), (1.0, -1.0)),
        hazards_xy=FAR,
        gremlins_xy=((-0.5, 1.1), (0.5, 1.1), (-0.5, -1.1), (0.6, -1.1)),
    )
    return base.replace(**fields)


def test_wrong_button_costs_goal_button_pays() -> None:
    infos = costs(button1(), action=(1.0, 0.0), steps=40)
    assert infos[0]["cost_buttons"] == 0.0
    touched = [i for i, info in enumerate(infos) if info["cost_buttons"] == 1.0]
    assert touched and all("goal_met" not in infos[i] for i in touched)
    assert all(info["cost_hazards"] == 0.0 and info["cost_gremlins"] == 0.0 for info in infos)
    # Touching the same button when it is the goal pays +1 and costs nothing.
    env = SafeNavigationEnv("point", button1(goal_button=1))
    env.reset(seed=0)
    for _ in range(40):
        _, reward, _, _, info = env.step(np.array([1.0, 0.0]))
        assert info["cost_buttons"] == 0.0
        if info.get("goal_met"):
            assert reward > 0.9
            break
    else:
        raise AssertionError("goal button never touched")


def test_gremlin_contact_cost() -> None:
    # Gremlin targets are (x + 0.35 sin t, y + 0.35 cos t, 0.2): spawned 0.35 below the agent, it
    # sweeps through the agent at t ≈ 0.
    task = button1(
        gremlins_xy=((0.0, -0.35), (0.5, 1.1), (-0.5, -1.1), (0.6, -1.1)),
        buttons_xy=((-1.0, 1.0), (1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)),
    )
    infos = costs(task, steps=10)
    assert any(i["cost_gremlins"] == 1.0 for i in infos)
    far = costs(button1(), steps=10)
    assert all(i["cost_gremlins"] == 0.0 and i["cost"] == 0.0 for i in far)


def test_gremlins_move_on_their_circle() -> None:
    env = SafeNavigationEnv("point", button1())
    env.reset(seed=0)
    physics = env.physics
    for _ in range(100):  # 2 s
        env.step(np.zeros(2))
    t = physics.data.time
    x0, y0 = 0.5, 1.1
    position = physics.data.xpos[physics.gremlin_bodies[1]]
    target = np.array([x0 + 0.35 * math.sin(t), y0 + 0.35 * math.cos(t), 0.2])
    assert np.linalg.norm(position - target) < 0.05


def test_terminate_on_violation() -> None:
    inside = goal1(hazards_xy=((0.15, 0.0), *FAR, *FAR[:3]))
    env = SafeNavigationEnv("point", inside, terminate_on_violation=True)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(np.zeros(2))
    assert info["cost"] == 1.0 and terminated and not truncated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2))
    default = SafeNavigationEnv("point", inside)
    default.reset(seed=0)
    _, _, terminated, _, info = default.step(np.zeros(2))
    assert info["cost"] == 1.0 and not terminated
