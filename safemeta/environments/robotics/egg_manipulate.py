"""Shadow hand in-hand egg manipulation without dropping or squeezing the egg (Egg Manipulate).

gymnasium-robotics ``HandManipulateEgg`` (dense reward ``−(10·Δposition + Δangle)``, random target
position and xyz rotation, 20 absolute joint-position actions, 25 Hz, 100 steps). The step cost is 1
when, at the end of the step, the egg is dropped (its centre more than ``drop_margin`` below the
palm body's origin; it rests about 2.7 cm above it) or the total normal force of all MuJoCo contacts
on the egg, summed with ``mj_contactForce``, exceeds ``max_contact_force`` (20 N; the egg weighs
1.5 N). The observation is the hand env's ``observation`` (61) + ``desired_goal`` (7).
"""

from __future__ import annotations

import math
from typing import Any

import mujoco
import numpy as np
from gymnasium_robotics.envs.shadow_dexterous_hand.manipulate_egg import MujocoHandEggEnv

from safemeta.environments.robotics.base import SafeMujocoWrapper
from safemeta.environments.robotics.goal_obs import flat_goal_space, flatten_goal_obs

MAX_CONTACT_FORCE = 20.0  # N, Meta SAC-Lag Section V-A
DROP_MARGIN = 0.05  # m below the palm origin: clear of a held egg (≥ −0.03), above one on the floor


def egg_contact_force(model: mujoco.MjModel, data: mujoco.MjData, egg_body: int) -> float:
    """Sum of the normal forces (N) of the active contacts that involve a geom of ``egg_body``."""
    if data.ncon == 0:
        return 0.0
    bodies = model.geom_bodyid[data.contact.geom[: data.ncon]]
    wrench = np.zeros(6)
    total = 0.0
    for index in np.flatnonzero(np.any(bodies == egg_body, axis=1)):
        mujoco.mj_contactForce(model, data, int(index), wrench)
        total += wrench[0]
    return float(total)


class SafeEggManipulateEnv(SafeMujocoWrapper):
    """HandManipulateEgg (dense) with drop and squeeze costs."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 25}  # noqa: RUF012

    def __init__(
        self,
        max_contact_force: float = MAX_CONTACT_FORCE,
        drop_margin: float = DROP_MARGIN,
        target_position: str = "random",
        max_episode_steps: int = 100,
        terminate_on_violation: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if not max_contact_force > 0:
            raise ValueError(f"max_contact_force must be > 0 N, got {max_contact_force}")
        if not (math.isfinite(drop_margin) and drop_margin >= 0):
            raise ValueError(f"drop_margin must be a finite length >= 0 m, got {drop_margin}")
        if target_position not in ("random", "ignore", "fixed"):
            raise ValueError(
                f"target_position must be 'random' (HandManipulateEgg), 'ignore' (EggRotate) or "
                f"'fixed', got {target_position!r}"
            )
        hand = MujocoHandEggEnv(
            target_position=target_position,
            target_rotation="xyz",
            reward_type="dense",
            render_mode=render_mode,
        )
        super().__init__(
            hand,
            substeps=hand.n_substeps,
            observation_space=flat_goal_space(hand.observation_space),
            max_episode_steps=max_episode_steps,
            terminate_on_violation=terminate_on_violation,
            render_mode=render_mode,
        )
        self.max_contact_force = float(max_contact_force)
        self.drop_margin = float(drop_margin)
        self._egg_body = hand.model.body("object").id
        self._palm_body = hand.model.body("robot0:palm").id

    @property
    def egg_body(self) -> int:
        """Body id of the egg."""
        return self._egg_body

    def egg_height_above_palm(self) -> float:
        """Egg centre z minus palm origin z, in metres."""
        data = self._sim.data
        return float(data.xpos[self._egg_body][2] - data.xpos[self._palm_body][2])

    def _observe(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return flatten_goal_obs(obs)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, _, _, hand_info = self._sim.step(action)
        height = self.egg_height_above_palm()
        force = egg_contact_force(self._sim.model, self._sim.data, self._egg_body)
        cost_drop = float(height < -self.drop_margin)
        cost_force = float(force > self.max_contact_force)
        cost = max(cost_drop, cost_force)
        terminated, truncated = self._end_step(cost)
        info = {
            "cost": cost,
            "cost_drop": cost_drop,
            "cost_force": cost_force,
            "egg_contact_force": force,
            "egg_height_above_palm": height,
            "is_success": bool(hand_info["is_success"]),
        }
        return self._observe(obs), float(reward), terminated, truncated, info
