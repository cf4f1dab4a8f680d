"""Safe environments: registry and ``make``."""

from safemeta.environments.registry import get_env_entry, make, register_env, registered_envs

__all__ = ["get_env_entry", "make", "register_env", "registered_envs"]
