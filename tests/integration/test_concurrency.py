"""Pages fetched ahead, through the real command: order, concurrency, 429s, progress."""

from __future__ import annotations

import re

from tests.conftest import sync_numbers, tap_config

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


def test_progress_lines_for_long_syncs(api):
    api.seed_phone_numbers(400)
    api.latency = 0.02  # 20 pages one at a time: 0.4 s at least, 8 intervals

    run = sync_numbers(
        tap_config(api, page_size=20, progress_interval=0.05, max_concurrent_requests=1)
    )
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
