"""Pieces shared by safemeta's algorithms: networks, optimizer steps, Lagrange multipliers."""
