"""Save an episode of a navigation env as a GIF or as a strip of frames (for checkpoints).

Needs an env built with ``render_mode="rgb_array"`` and an offscreen OpenGL backend: set
``MUJOCO_GL=egl`` (GPU or Mesa EGL; works on these machines) or ``MUJOCO_GL=osmesa`` (software,
needs libOSMesa) before mujoco is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RenderedEpisode:
    """What :func:`save_frames` wrote and measured."""

    path: Path
    num_frames: int
    episode_return: float
    episode_cost: float
    length: int


def save_frames(
    env: Any,
    policy_fn: Policy,
    path: str | Path,
    *,
    seed: int | None = 0,
    max_steps: int | None = None,
    every: int = 1,
    columns: int = 8,
    fps: int = 25,
) -> RenderedEpisode:
    """Run one episode of ``policy_fn`` (observation → action) in ``env`` and save its frames.

    ``path`` ending in ``.gif`` gets an animation of every ``every``-th frame; ``.png``/``.jpg``
    gets a grid of those frames, ``columns`` wide. ``max_steps`` stops the episode early.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".png", ".jpg", ".jpeg"):
        raise ValueError(f"path must end in .gif, .png or .jpg, got {path.name!r}")
    if getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError(
            "build the env with render_mode='rgb_array' to save frames "
            "(and set MUJOCO_GL=egl or osmesa on a machine without a display)"
        )
    if every < 1 or columns < 1 or fps < 1:
        raise ValueError(f"every, columns and fps must be >= 1, got {every}, {columns}, {fps}")

    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    episode_return = episode_cost = 0.0
    steps = 0
    done = False
    while not done and (max_steps is None or steps < max_steps):
        obs, reward, terminated, truncated, info = env.step(policy_fn(obs))
        episode_return += float(reward)
        episode_cost += float(info.get("cost", 0.0))
        steps += 1
        done = terminated or truncated
        if steps % every == 0 or done:
            frames.append(env.render())

    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            duration=max(1, round(1000 / fps)),
            loop=0,
        )
    else:
        _save_grid(frames, columns, path)
    return RenderedEpisode(path, len(frames), episode_return, episode_cost, steps)


def frame_grid(frames: list[np.ndarray], columns: int) -> np.ndarray:
    """Frames tiled row by row into one image (missing cells black)."""
    height, width, channels = frames[0].shape
    rows = -(-len(frames) // columns)
    grid = np.zeros((rows * height, min(columns, len(frames)) * width, channels), np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, columns)
        grid[r * height : (r + 1) * height, c * width : (c + 1) * width] = frame
    return grid


def _save_grid(frames: list[np.ndarray], columns: int, path: Path) -> None:
    from PIL import Image

    Image.fromarray(frame_grid(frames, columns)).save(path)
