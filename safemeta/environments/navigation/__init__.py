"""Safe navigation tasks on MuJoCo: Point/Car × Circle/Goal/Button (levels 0–2), Car-Circle-Hazard.

Import-light on purpose: the registry imports ``catalog`` (strings only); MuJoCo is imported when an
environment is built (``safemeta.environments.navigation.env``).
"""
