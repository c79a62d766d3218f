"""tap-contactship: a Singer tap for the Contactship API."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("tap-contactship")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
