"""Dagster code location for tap-contactship."""
