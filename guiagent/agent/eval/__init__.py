"""Replay and evaluation: the dry-run replay, grids over ranks, reports, benchmark sources."""
