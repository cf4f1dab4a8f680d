"""A stand-in for Kinova's ``kortex_api`` (tests only; not Kinova's code).

It mimics the module paths, message shapes and service calls that ``KortexBackend`` uses, and its
"firmware" is the PyBullet twin: twists arrive in kortex units (m/s, deg/s, a reference frame) and
move the simulated arm; feedback is read from the physics and reported in kortex units (degrees,
actuator angles in [0°, 360°)). Each ``RefreshFeedback`` advances the physics by one control period.
Register an arm with :func:`kortex_api._device.register_device` before connecting.
"""
