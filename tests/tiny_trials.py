"""RLlib's PPO as a safemeta trial at the smallest budget that trains (one epoch, two
minibatches per iteration), and a checkpoint of one such iteration — for the tests that need a
real trial or checkpoint rather than the learning itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safemeta.platform.trial import SafemetaTrial, TrialSpec


def tiny_ppo_spec(env: str, batch: int, **fields: Any) -> TrialSpec:
    """PPO on ``env`` with ``batch`` env steps per iteration (one iteration unless ``env_steps``
    is given); other ``TrialSpec`` fields by keyword."""
    values: dict[str, Any] = {
        "sweep": "unit",
        "trial_name": "tiny",
        "algorithm": "ppo",
        "label": "ppo",
        "env": env,
        "env_kwargs": {},
        "seed": 0,
        "env_steps": batch,
        "hyperparameters": {
            "train_batch_size_per_learner": batch,
            "minibatch_size": batch // 2,
            "num_epochs": 1,
        },
    }
    return TrialSpec(**{**values, **fields})


def trial_of(spec: TrialSpec) -> SafemetaTrial:
    return SafemetaTrial(config={"trial": spec.model_dump()})


def tiny_ppo_checkpoint(path: Path, spec: TrialSpec) -> Path:
    """``path`` holding the checkpoint of ``spec``'s trial after one iteration."""
    trial = trial_of(spec)
    try:
        trial.train()
        trial.save_checkpoint(str(path))
    finally:
        trial.stop()
    return path
