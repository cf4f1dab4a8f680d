"""Driving a Kinova Gen3 from Ray: backend interface, ``twin`` and ``kortex`` backends, the safety
shield and the arm actor.

Import-light on purpose: PyBullet, Ray and ``kortex_api`` are imported by the modules that need
them (``twin``, ``actor``, ``kortex``), never at package import.
"""
