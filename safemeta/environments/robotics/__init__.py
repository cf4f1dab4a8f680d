"""Robotic safe tasks of Meta SAC-Lag's Table II (MuJoCo; gymnasium and gymnasium-robotics based).

Import-light on purpose: the environments live in their own modules and are loaded by the registry
only when built (see ``catalog``).
"""
