"""Layout sampling: rejection sampling with keepouts (spec §3), pure numpy, no MuJoCo.

A layout depends only on the task and the generator it is drawn with, so task distributions can
inspect layouts (e.g. C-MAML's goal-arc filter) without building an environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safemeta.environments.navigation.tasks import NavTask

_TRIES_PER_ENTRY = 100
_FIRST_BATCH = 8
_MAX_LAYOUT_RESTARTS = 10_000
_MAX_GOAL_TRIES = 10_000


class LayoutError(RuntimeError):
    """No layout satisfying the keepouts was found; make the extents larger or the objects fewer."""


@dataclass
class Layout:
    """Positions (xy) and yaws of everything placed at reset."""

    agent_xy: np.ndarray
    agent_yaw: float
    goal_xy: np.ndarray
    hazards_xy: np.ndarray
    vases_xy: np.ndarray
    vases_yaw: np.ndarray
    buttons_xy: np.ndarray
    gremlins_xy: np.ndarray
    gremlins_yaw: np.ndarray
    goal_button: int
    """Index of the goal button (Button tasks), else -1."""


@dataclass(frozen=True)
class _Group:
    name: str
    count: int
    keepout: float
    extent: float
    fixed: np.ndarray | None


def _groups(task: NavTask) -> list[_Group]:
    """Layout entries after the agent, in the spec's order for the task kind."""

    def fixed(points: object) -> np.ndarray | None:
        return None if points is None else np.asarray(points, dtype=float).reshape(-1, 2)

    e = task.placement_extent
    goal = _Group(
        "goal", 1, task.goal_keepout, e, fixed(None if task.goal_xy is None else [task.goal_xy])
    )
    hazards = _Group("hazards", task.num_hazards, task.hazard_keepout, e, fixed(task.hazards_xy))
    vases = _Group("vases", task.num_vases, task.vase_keepout, e, fixed(task.vases_xy))
    buttons = _Group("buttons", task.num_buttons, task.button_keepout, e, fixed(task.buttons_xy))
    gremlins = _Group(
        "gremlins", task.num_gremlins, task.gremlin_keepout, e, fixed(task.gremlins_xy)
    )
    if task.kind == "goal":
        order = [goal, hazards, vases, buttons, gremlins]
    elif task.kind == "button":
        order = [buttons, goal, hazards, gremlins, vases]
    else:
        order = [hazards, vases, buttons, gremlins]
    return [group for group in order if group.count > 0]


def sample_layout(task: NavTask, rng: np.random.Generator) -> Layout:
    """Draw a layout for ``task`` with ``rng``; explicit positions in the task are kept."""
    agent = _Group(
        "agent",
        1,
        task.agent_keepout,
        task.start_extent,
        None if task.agent_xy is None else np.asarray([task.agent_xy], dtype=float),
    )
    groups = [agent, *_groups(task)]
    placed = _place_all(groups, rng)
    yaws = rng.uniform(0.0, 2.0 * np.pi, size=1 + sum(g.count for g in groups[1:]))
    agent_yaw = float(yaws[0]) if task.agent_yaw is None else float(task.agent_yaw)

    positions: dict[str, np.ndarray] = {}
    object_yaws: dict[str, np.ndarray] = {}
    start = 1
    for group, xy in zip(groups, placed, strict=True):
        positions[group.name] = xy
        if group.name != "agent":
            object_yaws[group.name] = yaws[start : start + group.count]
            start += group.count

    empty = np.zeros((0, 2))
    goal_button = -1
    goal_xy = positions.get("goal", np.zeros((1, 2)))[0].copy()
    if task.kind == "goal" and task.goal_xy is None:
        others = [positions[g.name] for g in groups if g.name != "goal"]
        keepouts = [np.full(g.count, g.keepout) for g in groups if g.name != "goal"]
        found = respawn_goal(task, np.concatenate(others), np.concatenate(keepouts), rng)
        if found is None:
            raise LayoutError("no valid goal position; make placement_extent larger")
        goal_xy = found
    if task.kind == "button":
        goal_button = (
            int(rng.integers(task.num_buttons)) if task.goal_button is None else task.goal_button
        )
        goal_xy = positions["buttons"][goal_button].copy()
    return Layout(
        agent_xy=positions["agent"][0].copy(),
        agent_yaw=agent_yaw,
        goal_xy=goal_xy,
        hazards_xy=positions.get("hazards", empty),
        vases_xy=positions.get("vases", empty),
        vases_yaw=object_yaws.get("vases", np.zeros(0)),
        buttons_xy=positions.get("buttons", empty),
        gremlins_xy=positions.get("gremlins", empty),
        gremlins_yaw=object_yaws.get("gremlins", np.zeros(0)),
        goal_button=goal_button,
    )


def _place_all(groups: list[_Group], rng: np.random.Generator) -> list[np.ndarray]:
    """Place every entry in order; restart the whole layout when one entry finds no spot."""
    total = sum(g.count for g in groups)
    placed = np.empty((total, 2))
    keepouts = np.empty(total)
    fixed = [g for g in groups if g.fixed is not None]
    num_fixed = sum(len(g.fixed) for g in fixed)
    n = 0
    for g in fixed:
        placed[n : n + len(g.fixed)] = g.fixed
        keepouts[n : n + len(g.fixed)] = g.keepout
        n += len(g.fixed)
    for _ in range(_MAX_LAYOUT_RESTARTS):
        n = num_fixed
        result: list[np.ndarray] = []
        for group in groups:
            if group.fixed is not None:
                result.append(group.fixed.copy())
                continue
            start = n
            for _ in range(group.count):
                xy = _draw_one(group, placed[:n], keepouts[:n], rng)
                if xy is None:
                    break
                placed[n] = xy
                keepouts[n] = group.keepout
                n += 1
            else:
                result.append(placed[start:n].copy())
                continue
            break
        else:
            return result
    raise LayoutError(
        f"no layout after {_MAX_LAYOUT_RESTARTS} restarts; make placement_extent "
        "larger, the keepouts smaller or the objects fewer"
    )


def _draw_one(
    group: _Group, others: np.ndarray, others_k: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """Up to 100 uniform draws in the group's square shrunk by its keepout; the first that fits.

    Candidates are drawn in two batches (8, then the remaining 92); taking the first fitting one
    is the same as drawing one at a time.
    """
    lo, hi = -group.extent + group.keepout, group.extent - group.keepout
    if lo > hi:
        raise LayoutError(
            f"{group.name}: keepout {group.keepout} exceeds the placement "
            f"half-width {group.extent}; make the extent larger"
        )
    if len(others) == 0:
        return rng.uniform(lo, hi, size=2)
    limit = (group.keepout + others_k) ** 2
    for size in (_FIRST_BATCH, _TRIES_PER_ENTRY - _FIRST_BATCH):
        candidates = rng.uniform(lo, hi, size=(size, 2))
        dx = candidates[:, 0:1] - others[:, 0]
        dy = candidates[:, 1:2] - others[:, 1]
        fits = (dx * dx + dy * dy >= limit).all(axis=1)
        index = int(fits.argmax())
        if fits[index]:
            return candidates[index]
    return None


def respawn_goal(
    task: NavTask, others_xy: np.ndarray, others_k: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """A new goal xy at least ``goal_keepout + k`` from every other entry; None if none is found."""
    bound = task.placement_extent - task.goal_keepout
    if bound < 0:
        raise LayoutError("goal_keepout exceeds placement_extent; make the extent larger")
    batch = 256
    for _ in range(_MAX_GOAL_TRIES // batch + 1):
        candidates = rng.uniform(-bound, bound, size=(batch, 2))
        dist = np.sqrt(((candidates[:, None, :] - others_xy[None, :, :]) ** 2).sum(-1))
        fits = (dist >= task.goal_keepout + others_k[None, :]).all(axis=1)
        index = int(np.argmax(fits))
        if fits[index]:
            return candidates[index].copy()
    return None
