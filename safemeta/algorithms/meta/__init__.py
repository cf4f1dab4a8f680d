"""Per-task machinery for meta-RL: one task per env runner, local adaptation there."""
