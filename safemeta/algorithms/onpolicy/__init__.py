"""On-policy constrained family: TRPO, TRPO-Lag, CPO and PPO-Lag as RLlib Algorithms.

The math lives in small pure torch functions (``advantages``, ``distributions``, ``trust_region``,
``cpo``, ``lagrangian``); ``updates`` composes them into one policy/critic update that runs in the
Learner and, for meta-RL, on an env runner; ``module``, ``learner``, ``config`` and ``algorithm``
are the RLlib shell.
"""
