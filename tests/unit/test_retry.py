"""Backoff, Retry-After, network causes and the throttle."""

from __future__ import annotations

import email.utils
import http.client
import random
import socket
import ssl
import threading

import pytest
import requests
import urllib3
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_contactship.retry import (
    MAX_RETRY_AFTER,
    backoff_step,
    is_retriable,
    network_cause,
    parse_retry_after,
    throttle_pause,
)
from tap_contactship.throttle import Throttle
from tests.conftest import FakeClock


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_counts_from_now():
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after(header, now=now) == pytest.approx(30, abs=1)
    assert (
        parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0
    )


def test_retry_after_date_without_zone_is_unreadable():
    assert parse_retry_after("Mon, 01 Jan 2035 00:00:00 -0000") is None


def test_throttle_pause_uses_retry_after_capped_else_the_step():
    def throttled(headers: dict[str, str]) -> RetriableAPIError:
        return RetriableAPIError("429", response(429, headers))

    assert throttle_pause(throttled({"Retry-After": "9"}), 1) == 9
    assert throttle_pause(throttled({"Retry-After": "86400"}), 1) == MAX_RETRY_AFTER
    assert 0.125 <= throttle_pause(throttled({}), 1) <= 0.25
    assert 2 <= throttle_pause(throttled({}), 3) <= 4


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


def test_throttle_is_aimd():
    throttle = Throttle(8)
    throttle.throttled(0)
    assert throttle.limit == 4
    throttle.throttled(0)
    throttle.throttled(0)
    throttle.throttled(0)
    assert throttle.limit == 1
    for _ in range(Throttle.GROWTH_RUN * 1):
        throttle.succeeded()
    assert throttle.limit == 2
    for _ in range(Throttle.GROWTH_RUN * 2 - 1):
        throttle.succeeded()
    assert throttle.limit == 2
    throttle.succeeded()
    assert throttle.limit == 3


def test_throttle_at_full_concurrency_stays_there():
    throttle = Throttle(2)
    for _ in range(20):
        throttle.succeeded()
    assert throttle.limit == 2


def test_throttle_pause_is_served_once_then_cleared():
    fake = FakeClock()
    throttle = Throttle(4, fake.clock)

    throttle.throttled(3.0)
    assert throttle.remaining() == 3.0
    throttle.wait()
    throttle.wait()

    assert fake.slept == [3.0]
    assert throttle.remaining() == 0


def test_every_request_waits_out_a_pause_taken_by_another():
    fake = FakeClock()
    throttle = Throttle(4, fake.clock)
    throttle.throttled(5.0)
    waited = []

    def request() -> None:
        before = fake.now
        throttle.wait()
        waited.append(fake.now >= before + 5.0 or fake.now >= 1005.0)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert waited == [True] * 4
    assert fake.now >= 1005.0


def test_a_longer_pause_asked_meanwhile_is_kept():
    fake = FakeClock()
    throttle = Throttle(4, fake.clock)
    throttle.throttled(1.0)
    throttle.throttled(10.0)
    throttle.throttled(2.0)

    assert throttle.remaining() == 10.0
