"""Pour Coffee (Meta SAC-Lag §V-C): a Kinova Gen3 carries a full mug to a target cup and pours.

Import-light on purpose: the registry imports ``catalog`` (strings only); PyBullet is imported when
an environment is built (``safemeta.environments.pour_coffee.env``).
"""
