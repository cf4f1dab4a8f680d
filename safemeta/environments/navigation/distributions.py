"""Task distributions of the meta-RL papers on the navigation tasks (spec §10).

- Meta-CPO (Table 1): Point-Circle, Car-Circle-Hazard, Point-Button; uniform parameter ranges per
  split, a fixed layout seed per sampled task (as the authors' code), cost limit per split.
- C-MAML (appendix F): PointGoal seed pools Env 1 / Env 2 — layout seeds in 0..300 whose goal lies
  within a 140° arc ahead of the agent's start — split into disjoint train and test seeds.

Decisions the papers leave open are stated in each factory's docstring and ``docs/navigation.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from safemeta.environments.navigation.layout import sample_layout
from safemeta.environments.navigation.tasks import NavTask, circle_hazard_task, level_task
from safemeta.environments.tasks import (
    Split,
    TaskDistribution,
    check_sample_args,
    resolve_rng,
)

Ranges = Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class ParametricDistribution(TaskDistribution):
    """Tasks built from parameters drawn uniformly from per-split ranges (Meta-CPO, Table 1).

    Integer parameters (names starting with ``num_``) are drawn uniformly from the inclusive integer
    range. Each task gets its own fixed ``layout_seed``, so one task is one layout.
    """

    name: str
    env_name: str
    ranges: Mapping[Split, Ranges]
    cost_limits: Mapping[Split, float]
    build: Callable[[dict[str, float]], NavTask]
    env_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def sample_tasks(
        self,
        n: int,
        *,
        split: Split = "train",
        rng: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> list[NavTask]:
        """``n`` tasks from ``split`` ("train" or "test"); pass ``rng`` or ``seed``."""
        check_sample_args(n, split)
        gen = resolve_rng(rng, seed)
        tasks = []
        for _ in range(n):
            params: dict[str, float] = {}
            for key, (low, high) in self.ranges[split].items():
                params[key] = (
                    int(gen.integers(int(low), int(high) + 1))
                    if key.startswith("num_")
                    else float(gen.uniform(low, high))
                )
            task = self.build(params).replace(
                cost_limit=self.cost_limits[split], layout_seed=int(gen.integers(2**31))
            )
            tasks.append(task)
        return tasks


def _circle_start_extent(wall_distance: float, keepout: float) -> float:
    """Agent square half-width: spawn in ±min(0.8, 0.7·wall) (Circle1 ratio 0.8/1.125 ≈ 0.71)."""
    return min(0.8, 0.7 * wall_distance) + keepout


def meta_cpo_point_circle() -> ParametricDistribution:
    """Point-Circle: radius r_c and wall scale s; walls at x = ±s·r_c (Circle1-style), d = 10.

    Decided: walls on the x axis only (Circle1); the agent spawns in ±min(0.8, 0.7·s·r_c) so it
    never starts outside the walls.
    """

    def build(p: dict[str, float]) -> NavTask:
        wall = p["wall_scale"] * p["circle_radius"]
        return level_task("circle", 1).replace(
            circle_radius=p["circle_radius"],
            wall_distance=wall,
            placement_extent=_circle_start_extent(wall, 0.0),
        )

    return ParametricDistribution(
        name="meta_cpo_point_circle",
        env_name="SafetyPointCircle1-v0",
        ranges={
            "train": {"circle_radius": (1.0, 1.5), "wall_scale": (0.65, 0.75)},
            "test": {"circle_radius": (2.0, 2.5), "wall_scale": (0.55, 0.65)},
        },
        cost_limits={"train": 10.0, "test": 10.0},
        build=build,
    )


def meta_cpo_car_circle_hazard() -> ParametricDistribution:
    """Car-Circle-Hazard: radius r_c and hazard count n_h; d = 10 (train), 5 (test).

    Decided: the wall scale s is drawn from Point-Circle's ranges ("the same s for both"); hazards
    of size 0.12 are placed in the square of half-width r_c + 0.2 around the track; the agent
    spawns in ±min(0.8, 0.7·s·r_c) with keepout 0.4 so no hazard covers the start.
    """

    def build(p: dict[str, float]) -> NavTask:
        wall = p["wall_scale"] * p["circle_radius"]
        return circle_hazard_task().replace(
            circle_radius=p["circle_radius"],
            wall_distance=wall,
            num_hazards=p["num_hazards"],
            placement_extent=p["circle_radius"] + 0.2,
            agent_extent=_circle_start_extent(wall, 0.4),
        )

    return ParametricDistribution(
        name="meta_cpo_car_circle_hazard",
        env_name="SafetyCarCircleHazard-v0",
        ranges={
            "train": {
                "circle_radius": (0.7, 1.0),
                "num_hazards": (3, 7),
                "wall_scale": (0.65, 0.75),
            },
            "test": {
                "circle_radius": (1.2, 1.5),
                "num_hazards": (7, 12),
                "wall_scale": (0.55, 0.65),
            },
        },
        cost_limits={"train": 10.0, "test": 5.0},
        build=build,
    )


def meta_cpo_point_button() -> ParametricDistribution:
    """Point-Button: n buttons and n hazards (one draw), spawn range r_s; no gremlins; d = 10.

    The observation is 60-dimensional as in the paper (sensors, buttons, goal, hazards lidar).
    """

    def build(p: dict[str, float]) -> NavTask:
        n = p["num_buttons"]
        return level_task("button", 1).replace(
            num_buttons=n, num_hazards=n, num_gremlins=0, placement_extent=p["spawn_range"]
        )

    return ParametricDistribution(
        name="meta_cpo_point_button",
        env_name="SafetyPointButton1-v0",
        env_kwargs=MappingProxyType({"num_gremlins": 0}),
        ranges={
            "train": {"num_buttons": (3, 6), "spawn_range": (1.75, 2.0)},
            "test": {"num_buttons": (6, 10), "spawn_range": (2.5, 3.0)},
        },
        cost_limits={"train": 10.0, "test": 10.0},
        build=build,
    )


def goal_in_arc(task: NavTask, arc_degrees: float) -> bool:
    """True if the goal of ``task``'s layout (its ``layout_seed``) lies within the arc ahead."""
    layout = sample_layout(task, np.random.default_rng(task.layout_seed))
    dx, dy = layout.goal_xy - layout.agent_xy
    heading = math.atan2(dy, dx) - layout.agent_yaw
    angle = math.atan2(math.sin(heading), math.cos(heading))
    return abs(angle) <= math.radians(arc_degrees) / 2


@dataclass(frozen=True)
class SeedPoolDistribution(TaskDistribution):
    """C-MAML: one task per layout seed whose goal lies in the arc; disjoint train/test seeds.

    The pool is every seed in ``seeds`` passing the arc test; a fixed permutation (``split_seed``)
    sends ``test_fraction`` of it to the test split. Tasks are drawn without replacement.
    """

    name: str
    env_name: str
    base: NavTask
    seeds: range = range(0, 301)
    arc_degrees: float = 140.0
    test_fraction: float = 0.2
    split_seed: int = 0
    env_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0.0 < self.arc_degrees <= 360.0:
            raise ValueError(f"arc_degrees must be in (0, 360], got {self.arc_degrees}")

    @cached_property
    def pool(self) -> tuple[int, ...]:
        """Every seed whose goal lies in the arc, ascending."""
        return tuple(
            s for s in self.seeds if goal_in_arc(self.base.replace(layout_seed=s), self.arc_degrees)
        )

    @cached_property
    def split_seeds(self) -> dict[Split, tuple[int, ...]]:
        """The disjoint train and test seeds."""
        order = np.random.default_rng(self.split_seed).permutation(len(self.pool))
        num_test = max(1, round(self.test_fraction * len(self.pool)))
        test = tuple(sorted(self.pool[i] for i in order[:num_test]))
        train = tuple(sorted(self.pool[i] for i in order[num_test:]))
        return {"train": train, "test": test}

    def task(self, seed: int) -> NavTask:
        """The task of layout seed ``seed``."""
        return self.base.replace(layout_seed=int(seed))

    def sample_tasks(
        self,
        n: int,
        *,
        split: Split = "train",
        rng: np.random.Generator | None = None,
        seed: int | None = None,
    ) -> list[NavTask]:
        """``n`` distinct tasks of ``split``, drawn uniformly without replacement."""
        check_sample_args(n, split)
        seeds = self.split_seeds[split]
        if n > len(seeds):
            raise ValueError(
                f"n={n} exceeds the {len(seeds)} {split} seeds of {self.name}; "
                f"draw at most {len(seeds)} tasks per call"
            )
        chosen = resolve_rng(rng, seed).choice(len(seeds), size=n, replace=False)
        return [self.task(seeds[i]) for i in chosen]


def c_maml_env1(
    *, hide_goal_lidar: bool = False, cost_limit: float = 5.0, **options: Any
) -> SeedPoolDistribution:
    """C-MAML Env 1: PointGoal1 layout with 9 hazards and 1 vase (vase unconstrained).

    ``cost_limit`` 5 for a TRPO-Lag inner loop, 10 for CPO; ``hide_goal_lidar=True`` makes the goal
    latent so adaptation is needed.
    """
    base = level_task("goal", 1).replace(
        num_hazards=9, cost_limit=cost_limit, hide_goal_lidar=hide_goal_lidar
    )
    return SeedPoolDistribution(
        name="c_maml_env1", env_name="SafetyPointGoal1-v0", base=base, **options
    )


def c_maml_env2(
    *, hide_goal_lidar: bool = False, cost_limit: float = 5.0, **options: Any
) -> SeedPoolDistribution:
    """C-MAML Env 2: PointGoal2 layout, 10 hazards and 10 vases (vase contact/velocity cost)."""
    base = level_task("goal", 2).replace(cost_limit=cost_limit, hide_goal_lidar=hide_goal_lidar)
    return SeedPoolDistribution(
        name="c_maml_env2", env_name="SafetyPointGoal2-v0", base=base, **options
    )


DISTRIBUTIONS: dict[str, Callable[[], TaskDistribution]] = {
    "meta_cpo_point_circle": meta_cpo_point_circle,
    "meta_cpo_car_circle_hazard": meta_cpo_car_circle_hazard,
    "meta_cpo_point_button": meta_cpo_point_button,
    "c_maml_env1": c_maml_env1,
    "c_maml_env2": c_maml_env2,
}
"""Factories by name."""
