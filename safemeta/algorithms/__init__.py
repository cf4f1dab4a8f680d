"""Safe RL algorithms as RLlib Algorithms, and their registry."""

from safemeta.algorithms.registry import (
    get_algorithm_entry,
    register_algorithm,
    registered_algorithms,
)

__all__ = ["get_algorithm_entry", "register_algorithm", "registered_algorithms"]
