"""Every exception the tap raises on purpose.

A `ContactshipError` is a failure already explained in one line; the CLI prints
it as ``tap-contactship: error: <line>`` without a traceback.
"""

from __future__ import annotations

import signal

import requests
from singer_sdk.exceptions import RetriableAPIError


class ContactshipError(Exception):
    """A failure explained in one line; the CLI prints it without a traceback."""

    @property
    def exit_code(self) -> int:
        """What the command exits with for this failure."""
        return 1


class ConfigError(ContactshipError):
    """A setting (or a file given on the command line) is missing or invalid."""


class APIError(ContactshipError):
    """The Contactship API refused the request or answered something unusable."""


class PagingError(APIError):
    """The API's paging is inconsistent in a way we cannot safely work around."""


class OffsetIgnoredError(PagingError):
    """A page after the first started with the very first row again."""


class MalformedResponseError(RetriableAPIError):
    """A 200 whose body is not the expected JSON envelope (retried, then fatal)."""


class ResponseDeadlineError(requests.exceptions.Timeout):
    """A response still arriving when `request_timeout` ran out (retried)."""


class FetchAbandonedError(Exception):
    """A page fetched ahead is no longer wanted: the stream stopped reading."""


class SyncInterruptedError(ContactshipError):
    """SIGINT or SIGTERM arrived during a sync."""

    def __init__(self, signum: int) -> None:
        """Remember which signal stopped the sync."""
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number (130, 143)."""
        return 128 + self.signum
