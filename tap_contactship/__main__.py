"""Allow `python -m tap_contactship`."""

from tap_contactship.tap import cli

cli()
