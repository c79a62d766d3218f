"""Allow `python -m tap_contactship`."""

from tap_contactship.cli import cli

cli()
