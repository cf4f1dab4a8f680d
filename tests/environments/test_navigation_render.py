"""Safe navigation: offscreen rgb_array rendering and the frame-saving helper.

MuJoCo picks its OpenGL backend when it is first imported, so the rendering runs in a fresh Python
process with ``MUJOCO_GL=egl`` (skipped if no backend works on this machine).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from safemeta.environments import make
from safemeta.environments.navigation.render import frame_grid, save_frames
from tests.offscreen import run_offscreen

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from PIL import Image
    from safemeta.environments import make
    from safemeta.environments.navigation.render import save_frames

    out = sys.argv[1]
    env = make("SafetyPointGoal1-v0", render_mode="rgb_array")
    env.reset(seed=0)
    try:
        first = env.render()
    except RuntimeError as error:
        print(json.dumps({"skip": str(error)}))
        raise SystemExit(0)
    env.step(np.array([1.0, 0.5]))
    moved = not np.array_equal(first, env.render())
    gif = save_frames(env, lambda obs: np.array([1.0, 0.2]), out + "/episode.gif",
                      max_steps=12, every=4)
    strip = save_frames(env, lambda obs: np.array([1.0, -0.2]), out + "/strip.png",
                        max_steps=6, every=2, columns=2)
    env.close()
    print(json.dumps({"shape": list(first.shape), "dtype": str(first.dtype),
                      "std": float(first.std()), "moved": moved, "gif_frames": gif.num_frames,
                      "gif_length": gif.length, "strip_size": list(Image.open(strip.path).size)}))
""")


def test_render_and_save_frames_offscreen(tmp_path) -> None:
    result = run_offscreen(SCRIPT, str(tmp_path), timeout=120)
    assert result["shape"] == [256, 256, 3] and result["dtype"] == "uint8"
    assert result["std"] > 0 and result["moved"]
    assert result["gif_frames"] == 4 and result["gif_length"] == 12
    assert result["strip_size"] == [2 * 256, 2 * 256]
    assert (tmp_path / "episode.gif").stat().st_size > 0


def test_render_off_and_bad_arguments(tmp_path) -> None:
    env = make("SafetyPointGoal1-v0")
    env.reset(seed=0)
    assert env.render() is None
    with pytest.raises(ValueError, match="render_mode"):
        save_frames(env, lambda obs: obs[:2], tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"\.gif"):
        save_frames(env, lambda obs: obs[:2], tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="render_mode must be"):
        make("SafetyPointGoal1-v0", render_mode="human")
    assert frame_grid([np.ones((2, 3, 3), np.uint8)] * 3, columns=2).shape == (4, 6, 3)
