"""When to retry and how long to wait: the policy behind the stream's backoff hooks.

Pure functions of an exception (and an attempt number): the `backoff` library
drives the retries (see transport.py); these decide what it is told.
"""

from __future__ import annotations

import email.utils
import http.client
import random
import socket
import ssl
import time
import typing as t
from dataclasses import dataclass
from http import HTTPStatus

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_contactship.errors import ResponseDeadlineError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

#: Longest wait a ``Retry-After`` header can impose, in seconds.
MAX_RETRY_AFTER = 300.0
#: Exponential backoff: 0.25 s, 1 s, 4 s, 16 s, 60 s, each jittered down by up
#: to half. A blip costs a quarter second; five attempts span about ten seconds.
BACKOFF_BASE = 0.25
BACKOFF_FACTOR = 4.0
MAX_BACKOFF = 60.0

#: Failures that are not an HTTP status and may be worth another try.
NETWORK_ERRORS = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Clock:
    """Time as the throttle and the retries see it; tests pass a fake one."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


SYSTEM_CLOCK = Clock()


def status_of(exception: BaseException | None) -> int | None:
    """The HTTP status behind an exception, if it carries a response."""
    response = getattr(exception, "response", None)
    return None if response is None else int(response.status_code)


def is_throttled(exception: BaseException | None) -> bool:
    """Whether the exception is a 429."""
    return status_of(exception) == HTTPStatus.TOO_MANY_REQUESTS


def backoff_step(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number ``attempt`` (1-based), jittered down to half.

    Jitter spreads out clients that failed together.
    """
    step = min(MAX_BACKOFF, BACKOFF_BASE * BACKOFF_FACTOR ** (attempt - 1))
    return step * (rng or random).uniform(0.5, 1.0)


def throttle_pause(exception: BaseException, attempt: int) -> float:
    """How long a 429 holds every request: its ``Retry-After``, else the step."""
    response = getattr(exception, "response", None)
    header = None if response is None else response.headers.get("Retry-After")
    retry_after = parse_retry_after(header)
    if retry_after is None:
        return backoff_step(attempt)
    return min(retry_after, MAX_RETRY_AFTER)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay seconds or an HTTP date.

    Returns:
        Seconds from now (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def network_cause(exception: BaseException) -> tuple[str, bool]:
    """Name what went wrong below HTTP, and whether waiting could fix it.

    A name that does not resolve, or TLS spoken to a plain-http port, is a
    setting to fix: retrying only delays the error by a quarter minute. A
    refused connection or a timeout may be a server restarting: retried.

    Returns:
        The cause in a few words, and whether to retry.
    """
    chain = _chain(exception)
    for kinds, describe, retry in _CAUSES:
        for link in chain:
            if isinstance(link, kinds):
                return describe(link), retry
    return type(exception).__name__, True


def _tls(error: BaseException) -> str:
    wrong_version = "WRONG_VERSION_NUMBER" in str(error).upper()
    detail = "wrong version number" if wrong_version else type(error).__name__
    return f"the TLS handshake failed ({detail}; is the server plain http?)"


#: What each failure below HTTP is called, and whether it is worth a retry.
_CAUSES: list[tuple[tuple[type[BaseException], ...], Callable[[t.Any], str], bool]] = [
    # First: the deadline cut the connection itself, whatever that looked like.
    (
        (ResponseDeadlineError,),
        lambda _: "the response was still arriving when `request_timeout` ran out",
        True,
    ),
    (
        (socket.gaierror,),
        lambda e: f"the host name does not resolve ({e.strerror or e})",
        False,
    ),
    ((ssl.SSLError, requests.exceptions.SSLError), _tls, False),
    (
        (ConnectionRefusedError,),
        lambda _: "the connection was refused (nothing listens on that port?)",
        True,
    ),
    (
        (http.client.RemoteDisconnected,),
        lambda _: "the server closed the connection without answering",
        True,
    ),
    (
        (requests.exceptions.Timeout,),
        lambda _: "no response within `request_timeout`",
        True,
    ),
    (
        (requests.exceptions.ChunkedEncodingError, ConnectionResetError),
        lambda _: "the connection dropped in the middle of a response",
        True,
    ),
]


def _chain(exception: BaseException) -> list[BaseException]:
    # requests wraps urllib3's MaxRetryError, whose `reason` wraps the socket
    # error; the rest hangs on __cause__/__context__.
    found: list[BaseException] = []
    todo: list[t.Any] = [exception]
    while todo:
        link = todo.pop()
        if not isinstance(link, BaseException) or link in found:
            continue
        found.append(link)
        todo += [link.__cause__, link.__context__, getattr(link, "reason", None)]
        todo += [arg for arg in link.args if isinstance(arg, BaseException)]
    return found


def backoff_wait() -> Generator[float, t.Any, None]:
    """The waits between attempts, for `backoff_wait_generator`.

    A 429 costs no wait here: it holds every request of the stream in the
    throttle, for as long as its `Retry-After` says (see `throttle_pause`).
    """
    failures = 0
    exception = yield  # type: ignore[misc]  # the backoff protocol: sent each failure
    while True:
        if is_throttled(exception):
            wait = 0.0
        else:
            failures += 1
            wait = backoff_step(failures)
        exception = yield wait


def retry_note(
    exception: BaseException, tries: int, max_tries: int, wait: float
) -> str:
    """The WARNING for a failed attempt that will be retried."""
    response = getattr(exception, "response", None)
    if response is not None:
        reason = f"{response.status_code} {response.reason}"
    else:
        reason = network_cause(exception)[0]
    return (
        f"request failed with {reason} (attempt {tries} of {max_tries}); "
        f"retrying in {wait:.1f} s"
    )


def is_retriable(exception: BaseException) -> bool:
    """Whether another attempt could succeed."""
    if isinstance(exception, RetriableAPIError):
        return True
    if isinstance(exception, NETWORK_ERRORS):
        return network_cause(exception)[1]
    return False
