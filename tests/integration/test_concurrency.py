"""Pages fetched ahead: same rows in the same order, polite under 429, progress."""

from __future__ import annotations

import re

import pytest

from tap_contactship.retry import Throttle
from tests.conftest import FakeClock, sync_numbers, tap_config
from tests.fake_contactship import Response

PATH = "/v1/phone-numbers"


def test_pages_are_fetched_ahead_but_emitted_in_order_exactly_once(api):
    api.seed_phone_numbers(1000)
    api.latency = 0.02

    run = sync_numbers(tap_config(api, page_size=50))

    assert run.exit_code == 0, run.stderr
    assert run.ids() == [r["id"] for r in api.phone_numbers]
    peak = max(r.in_flight for r in api.data_requests(PATH))
    assert 2 <= peak <= 6  # the default max_concurrent_requests
    assert len(api.data_requests(PATH)) == 20


def test_one_request_at_a_time_when_asked(api):
    api.seed_phone_numbers(300)
    api.latency = 0.01

    run = sync_numbers(tap_config(api, page_size=50, max_concurrent_requests=1))

    assert run.exit_code == 0
    assert max(r.in_flight for r in api.data_requests(PATH)) == 1


def test_release_while_pages_are_in_flight_loses_and_repeats_nothing(api):
    api.seed_phone_numbers(1000)
    api.latency = 0.01
    before = {r["id"] for r in api.phone_numbers}
    released = set()

    def release_twice(fake, seen):
        if len(fake.requests) in {3, 9}:
            released.add(fake.release_phone_number(5)["id"])

    api.hooks.append(release_twice)
    run = sync_numbers(tap_config(api, page_size=50))
    assert run.exit_code == 0, run.stderr

    ids = run.ids()
    assert len(ids) == len(set(ids))
    assert before - released <= set(ids)


def test_a_429_pauses_every_request_and_halves_concurrency(api):
    api.seed_phone_numbers(1000)
    api.latency = 0.02
    throttled_at: list[float] = []

    def one_429(fake, seen):
        if len(fake.requests) == 6:
            throttled_at.append(seen.at)
            return Response(429, b"slow down", {"Retry-After": "1"})
        return None

    api.hooks.append(one_429)
    run = sync_numbers(tap_config(api, page_size=50, max_concurrent_requests=4))

    assert run.exit_code == 0, run.stderr
    assert len(set(run.ids())) == 1000
    start = throttled_at[0]
    after = [r for r in api.data_requests(PATH) if r.at > start]
    # Requests sent before the 429 reached the tap (20 ms later) may still
    # arrive; then nothing until the Retry-After has passed.
    assert [r for r in after if start + 0.3 < r.at < start + 0.95] == []
    resumed = [r for r in after if r.at >= start + 0.95]
    assert max(r.in_flight for r in resumed[:4]) <= 2


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


def test_throttle_pause_is_shared():
    fake = FakeClock()
    slept = fake.slept
    throttle = Throttle(4, fake.clock)

    throttle.throttled(3.0)
    assert 2.9 < throttle.remaining() <= 3.0
    throttle.wait()
    throttle.wait()  # the pause is served once, then cleared

    assert len(slept) == 1
    assert slept[0] == pytest.approx(3.0, abs=0.05)


def test_progress_lines_for_long_syncs(api):
    api.seed_phone_numbers(400)
    api.latency = 0.02

    run = sync_numbers(tap_config(api, page_size=20, progress_interval=0.05))
    assert run.exit_code == 0, run.stderr

    lines = [line for line in run.stderr.splitlines() if "rows/s" in line]
    assert lines
    assert re.search(
        r"phone_numbers: [\d,]+ of 400 rows \(\d+%\), [\d,]+ rows/s, ETA ", lines[0]
    )


def test_short_syncs_are_quiet(api):
    api.seed_phone_numbers(400)

    run = sync_numbers(tap_config(api, page_size=20))
    assert run.exit_code == 0, run.stderr

    assert "rows/s" not in run.stderr
