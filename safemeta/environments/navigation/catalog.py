"""Registrations of the navigation tasks: ``Safety{Point|Car}{Circle|Goal|Button}{0|1|2}-v0``."""

from safemeta.environments.registry import register_env

_ENTRY = "safemeta.environments.navigation.env:make_navigation_env"
_DESCRIPTIONS = {
    ("circle", 0): "run counter-clockwise around a circle of radius 1.5 (500 steps); no constraint",
    ("circle", 1): "circle reward; cost outside the sigwalls at x = ±1.125",
    ("circle", 2): "circle reward; cost outside the sigwalls at x, y = ±1.125",
    ("goal", 0): "reach a respawning goal (1000 steps); no constraint",
    ("goal", 1): "reach the goal; 8 hazards (cost), 1 vase (free)",
    ("goal", 2): "reach the goal; 10 hazards and 10 vases (contact and velocity cost)",
    ("button", 0): "touch the highlighted one of 4 buttons (1000 steps); no constraint",
    ("button", 1): "touch the goal button; cost for wrong buttons, 4 hazards, 4 moving gremlins",
    ("button", 2): "touch the goal button; cost for wrong buttons, 8 hazards, 6 moving gremlins",
}

for _robot in ("point", "car"):
    for (_kind, _level), _text in _DESCRIPTIONS.items():
        register_env(
            f"Safety{_robot.capitalize()}{_kind.capitalize()}{_level}-v0",
            _ENTRY,
            f"{_robot.capitalize()}: {_text}.",
            robot=_robot,
            kind=_kind,
            level=_level,
        )

register_env(
    "SafetyCarCircleHazard-v0",
    _ENTRY,
    "Car: circle reward, sigwalls at x = ±1.125, 4 hazards of size 0.12 (cost); Meta-CPO's task.",
    robot="car",
    kind="circle_hazard",
)
