"""The experiment platform: experiment files, Tune runner, MLflow tracking, comparisons, CLI."""
