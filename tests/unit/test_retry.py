"""Backoff, Retry-After, network causes and the throttle."""

from __future__ import annotations

import http.client
import random
import socket
import ssl

import pytest
import requests
import urllib3
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_contactship.retry import (
    backoff_step,
    is_retriable,
    network_cause,
)


def response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers or {})
    return answer


def test_backoff_steps_grow_by_four_and_are_jittered_down_to_half():
    rng = random.Random(7)
    for attempt, base in enumerate([0.25, 1, 4, 16, 60, 60], start=1):
        wait = backoff_step(attempt, rng)
        assert base / 2 <= wait <= base


def connection_error(cause: BaseException) -> requests.exceptions.ConnectionError:
    # As requests raises them: ConnectionError(MaxRetryError(reason=...)).
    inner = urllib3.exceptions.MaxRetryError(None, "/v1/calls", reason=cause)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(inner)


def test_a_name_that_does_not_resolve_is_named_and_not_retried():
    gaierror = socket.gaierror(-2, "Name or service not known")
    resolution = urllib3.exceptions.NameResolutionError(
        "nohost.invalid",
        None,  # type: ignore[arg-type]
        gaierror,
    )
    resolution.__cause__ = gaierror

    cause, retry = network_cause(connection_error(resolution))

    assert cause == "the host name does not resolve (Name or service not known)"
    assert retry is False


def test_tls_against_plain_http_is_named_and_not_retried():
    error = requests.exceptions.SSLError(
        ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    )

    cause, retry = network_cause(error)

    assert "wrong version number" in cause
    assert "plain http" in cause
    assert retry is False


def test_refused_connection_is_named_and_retried():
    refused = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")

    cause, retry = network_cause(connection_error(refused))

    assert "connection was refused" in cause
    assert retry is True


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (
            requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.", http.client.RemoteDisconnected("closed")
                )
            ),
            "closed the connection without answering",
        ),
        (requests.exceptions.ReadTimeout(), "request_timeout"),
        (requests.exceptions.ChunkedEncodingError(), "dropped"),
        (ConnectionResetError(), "dropped"),
        (requests.exceptions.ContentDecodingError(), "ContentDecodingError"),
    ],
)
def test_other_network_failures_are_retried(error, fragment):
    cause, retry = network_cause(error)

    assert fragment in cause
    assert retry is True


def test_what_is_retriable():
    assert is_retriable(RetriableAPIError("500"))
    assert is_retriable(requests.exceptions.ReadTimeout())
    assert not is_retriable(FatalAPIError("400"))
    assert not is_retriable(ValueError("bug"))
