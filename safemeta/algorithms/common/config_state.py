"""What the families' RLlib configs share: a base that keeps every setting of theirs in the config
state, the ``training()`` setter and the value check."""

from __future__ import annotations

from functools import cache
from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided


@cache
def _rllib_keys() -> frozenset[str]:
    return frozenset(vars(AlgorithmConfig()))


class FamilyConfig(AlgorithmConfig):
    """``AlgorithmConfig`` whose state keeps the subclass's own settings even when they equal -1.

    ``AlgorithmConfig.get_state`` drops every attribute equal to -1 (its ``DEPRECATED_VALUE``), and
    ``Algorithm`` builds its config from that state, so ``init_log_std=-1.0`` or
    ``target_entropy=-1.0`` silently became the defaults.
    """

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        for key in vars(self).keys() - _rllib_keys():
            state.setdefault(key, getattr(self, key))
        return state


def set_provided(config: AlgorithmConfig, settings: dict[str, Any]) -> None:
    """Set on ``config`` each of ``settings`` (a ``training()`` call's ``locals()``) that the
    caller passed, i.e. that is not ``NotProvided``."""
    for name, value in settings.items():
        if name not in ("self", "kwargs", "__class__") and value is not NotProvided:
            setattr(config, name, value)


def require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``; the message names the setting, its value and
    a valid one."""
    if not ok:
        raise ValueError(message)
