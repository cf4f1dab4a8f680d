"""The meta-training loop's settings, shared by every meta-algorithm's config (C-MAML, MAML-TRPO,
Meta-CPO, Meta-TRPO): the task distribution, B tasks per meta-iteration, K inner steps and the
size of each inner rollout."""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided

from safemeta.algorithms.common.config_state import require, set_provided


class MetaTrainingMixin:
    """Task distribution and inner-loop budget (defaults: the spec's B = 10, K = 3, 2,000 env
    steps per rollout); put it before the family's config in the bases."""

    def __init__(self, algo_class: Any = None) -> None:
        super().__init__(algo_class=algo_class)  # type: ignore[call-arg]
        self.task_distribution: str | None = None
        self.task_distribution_kwargs: dict[str, Any] = {}
        self.tasks_per_iteration = 10
        self.inner_steps = 3
        self.inner_rollout_steps = 2000
        self.inner_rollout_episodes: int | None = None

    def training(
        self,
        *,
        task_distribution: str | None = NotProvided,
        task_distribution_kwargs: dict[str, Any] | None = NotProvided,
        tasks_per_iteration: int | None = NotProvided,
        inner_steps: int | None = NotProvided,
        inner_rollout_steps: int | None = NotProvided,
        inner_rollout_episodes: int | None = NotProvided,
        **kwargs: Any,
    ) -> Any:
        """Meta-training loop.

        Args:
            task_distribution: registered name (``safemeta.environments.task_distributions``),
                e.g. ``"c_maml_env2"``; its train split is meta-trained on.
            task_distribution_kwargs: its factory's arguments (e.g. ``hide_goal_lidar``).
            tasks_per_iteration: tasks sampled per meta-iteration (one per env runner, in waves
                of the runner count).
            inner_steps: K adaptation steps per task.
            inner_rollout_steps: env steps per inner rollout (cut episodes are bootstrapped),
                unless ``inner_rollout_episodes`` asks for whole episodes instead.
            kwargs: the algorithm's other settings.
        """
        super().training(**kwargs)  # type: ignore[misc]
        set_provided(self, locals())
        return self

    def validate(self) -> None:
        super().validate()  # type: ignore[misc]
        require(
            bool(self.task_distribution),
            "task_distribution is not set: name a registered one, e.g. "
            "training(task_distribution='c_maml_env2')",
        )
        for name in ("tasks_per_iteration", "inner_steps"):
            value = getattr(self, name)
            require(isinstance(value, int) and value >= 1, f"{name}={value!r} must be >= 1")
        require(
            self.inner_rollout_episodes is not None or self.inner_rollout_steps >= 2,
            f"inner_rollout_steps={self.inner_rollout_steps} must be >= 2 (e.g. 2000), or set "
            "inner_rollout_episodes",
        )
        require(
            self.inner_rollout_episodes is None or self.inner_rollout_episodes >= 1,
            f"inner_rollout_episodes={self.inner_rollout_episodes} must be >= 1 or null",
        )

    def rollout_size(self) -> dict[str, int | None]:
        """``num_episodes`` / ``num_timesteps`` of one inner rollout (``TaskContext.sample``)."""
        episodes = self.inner_rollout_episodes
        return {
            "num_episodes": episodes,
            "num_timesteps": None if episodes else self.inner_rollout_steps,
        }
