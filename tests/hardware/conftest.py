"""Fixtures of the hardware tests (the shared ``local_ray`` is in ``tests/conftest.py``)."""

from tests.hardware.arm_node import arm_node  # noqa: F401  (session fixture)
