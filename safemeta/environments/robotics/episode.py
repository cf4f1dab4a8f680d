"""Episode bookkeeping shared by the robotic safe tasks: argument checks and end flags."""

from __future__ import annotations


def check_episode_kwargs(max_episode_steps: int) -> None:
    """Raise a ``ValueError`` naming the field if ``max_episode_steps`` is not a positive int."""
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int):
        raise ValueError(
            f"max_episode_steps must be an int >= 1, got {max_episode_steps!r} "
            f"({type(max_episode_steps).__name__}); pass e.g. max_episode_steps=1000"
        )
    if max_episode_steps < 1:
        raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")


def episode_end(
    *,
    task_terminated: bool,
    cost: float,
    steps: int,
    max_episode_steps: int,
    terminate_on_violation: bool,
) -> tuple[bool, bool]:
    """``(terminated, truncated)`` after ``steps`` steps.

    Terminated when the task itself ends or, with ``terminate_on_violation``, at a step with cost 1;
    truncated at the time limit unless terminated.
    """
    terminated = bool(task_terminated or (terminate_on_violation and cost > 0.0))
    truncated = bool(steps >= max_episode_steps and not terminated)
    return terminated, truncated
