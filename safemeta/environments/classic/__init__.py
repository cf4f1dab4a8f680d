"""Small classic-control safe tasks: fast enough for tests and smoke runs."""
