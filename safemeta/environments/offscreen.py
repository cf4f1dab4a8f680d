"""Offscreen MuJoCo rendering shared by the envs that offer ``render_mode="rgb_array"``."""

from __future__ import annotations

import mujoco


def offscreen_renderer(model: mujoco.MjModel, width: int, height: int) -> mujoco.Renderer:
    """A ``mujoco.Renderer`` for ``model``; a clear error when no OpenGL backend is available."""
    try:
        return mujoco.Renderer(model, height=height, width=width)
    except Exception as error:
        raise RuntimeError(
            "offscreen rendering needs an OpenGL backend: set MUJOCO_GL=egl (or osmesa) "
            "in the environment before Python imports mujoco"
        ) from error
