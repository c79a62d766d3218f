"""What happens on a 429, from reading `Retry-After` to a whole sync.

The header's two forms and its cap, the pause every request of the stream
shares (the throttle), the pages in flight halved and grown back, and a sync
that meets a 429 losing nothing.
"""

from __future__ import annotations

import email.utils
import threading
import time

import pytest
from singer_sdk.exceptions import RetriableAPIError

from tap_contactship.retry import MAX_RETRY_AFTER, parse_retry_after, throttle_pause
from tap_contactship.throttle import Throttle
from tests.conftest import FakeClock, sync_numbers, tap_config
from tests.fake_contactship import Response
from tests.unit.test_retry import response


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


def test_retry_after_seconds_is_honoured_exactly(api, sleeps):
    api.seed_phone_numbers(5)
    api.script = [
        Response(429, b"slow down", {"Retry-After": "7"}),
        Response(429, b"slow down", {"Retry-After": "2"}),
    ]

    run = sync_numbers(tap_config(api))

    assert run.exit_code == 0, run.stderr
    assert sleeps == [7.0, 2.0]
    assert len(run.records()) == 5
    assert "429" in run.stderr and "retrying in 7.0 s" in run.stderr


def test_retry_after_http_date_is_honoured(api, sleeps):
    api.seed_phone_numbers(5)
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    api.script = [Response(429, b"", {"Retry-After": when})]

    run = sync_numbers(tap_config(api))

    assert run.exit_code == 0, run.stderr
    assert len(sleeps) == 1
    assert 27 <= sleeps[0] <= 30


def test_huge_retry_after_is_capped(api, sleeps):
    api.seed_phone_numbers(5)
    api.script = [Response(429, b"", {"Retry-After": "86400"})]

    run = sync_numbers(tap_config(api))

    assert run.exit_code == 0
    assert sleeps == [300.0]


def test_429_without_retry_after_backs_off_exponentially(api, sleeps):
    api.seed_phone_numbers(5)
    api.script = [Response(429, b"")] * 4

    run = sync_numbers(tap_config(api))

    assert run.exit_code == 0, run.stderr
    assert len(sleeps) == 4
    for attempt, wait in enumerate(sleeps):  # 0.25 s, 1 s, 4 s, 16 s, each jittered
        assert 0.125 * 4**attempt - 0.01 <= wait <= 0.25 * 4**attempt + 0.01


def test_a_429_mid_sync_is_waited_out_once_and_loses_nothing(api, sleeps):
    api.seed_phone_numbers(1000)
    api.latency = 0.005

    def one_429(fake, seen):
        if len(fake.requests) == 6:
            return Response(429, b"slow down", {"Retry-After": "1"})
        return None

    api.hooks.append(one_429)
    run = sync_numbers(tap_config(api, page_size=50, max_concurrent_requests=4))

    assert run.exit_code == 0, run.stderr
    assert run.ids() == [r["id"] for r in api.phone_numbers]
    # The throttle served the pause (every waiting request sleeps until the
    # same moment; the unit tests of Throttle and Fetcher show the sharing and
    # the halved limit deterministically).
    assert sleeps
    assert set(sleeps) == {1.0}
    assert (
        "request failed with 429 Too Many Requests (attempt 1 of 5); retrying in 1.0 s"
        in run.stderr
    )
