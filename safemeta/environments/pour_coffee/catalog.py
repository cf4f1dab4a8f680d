"""Registration of Pour Coffee (Meta SAC-Lag §V-C, Table III settings via ``setting``)."""

from safemeta.environments.registry import register_env

register_env(
    "SafetyPourCoffee-v0",
    "safemeta.environments.pour_coffee.env:PourCoffeeEnv",
    "PyBullet Kinova Gen3 twin carries a full mug to a target cup and pours (15-dim obs, 4-dim "
    "mug velocity action, 20 Hz, 100 steps, Eq. 17 reward); cost 1 on collision or spillage "
    "(per Table III `setting`); `backend='actor'` runs the arm of the hardware actor.",
)
