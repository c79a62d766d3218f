"""Every exception the tap raises on purpose, and the exit code of each class.

A `ContactshipError` is a failure already explained in one line; the CLI prints
it as ``tap-contactship: error: <line>`` without a traceback and exits with the
failure's class (`ExitCode`), so a scheduler decides what to do from the code,
never from the wording. The codes are BSD's `sysexits.h` where one fits.
"""

from __future__ import annotations

import enum
import signal
from http import HTTPStatus

import requests
from singer_sdk.exceptions import RetriableAPIError


class ExitCode(enum.IntEnum):
    """What the command exits with, by failure class (the README's table).

    Retrying cannot fix `CONFIG` or `KEY_REJECTED`; it may fix the others.
    """

    #: A failure the tap did not word itself (the SDK, a stream map).
    UNEXPECTED = 1
    #: The command line itself is wrong (click's own code).
    USAGE = 2
    #: The API answered, but with an error or something unusable (EX_PROTOCOL).
    API_FAULT = 76
    #: No response: a name that does not resolve, TLS, refused, timed out
    #: (EX_UNAVAILABLE).
    UNREACHABLE = 69
    #: The API rejected the key: 401 or 403 (EX_NOPERM).
    KEY_REJECTED = 77
    #: A setting or a file given on the command line is wrong (EX_CONFIG).
    CONFIG = 78
    #: Interrupted: 128 + the signal's number, the shell's convention.
    SIGINT = 128 + signal.SIGINT
    SIGTERM = 128 + signal.SIGTERM


class ContactshipError(Exception):
    """A failure explained in one line; the CLI prints it without a traceback."""

    code = ExitCode.UNEXPECTED

    @property
    def exit_code(self) -> int:
        """What the command exits with for this failure: its class's code."""
        return int(self.code)


class ConfigError(ContactshipError):
    """A setting (or a file given on the command line) is missing or invalid."""

    code = ExitCode.CONFIG


class APIError(ContactshipError):
    """The Contactship API refused the request or answered something unusable."""

    code = ExitCode.API_FAULT

    @classmethod
    def of(cls, message: str, status: int | None) -> APIError:
        """The failure of a request given up on, classed by its last HTTP status.

        Args:
            message: The failure's one line.
            status: The last response's status; None or 0: no response came.
        """
        if not status:
            return UnreachableError(message)
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            return KeyRejectedError(message)
        return cls(message)


class KeyRejectedError(APIError):
    """The API answered 401 or 403: the key is wrong, revoked or for elsewhere."""

    code = ExitCode.KEY_REJECTED


class UnreachableError(APIError):
    """No response came from `api_url` (name, TLS, connection, timeout)."""

    code = ExitCode.UNREACHABLE


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
