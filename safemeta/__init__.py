"""safemeta: a distributed experiment platform on Ray for safe (meta-)RL."""
