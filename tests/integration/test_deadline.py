"""`request_timeout` bounds a whole response, not each socket read (issue 27, case 3).

A server that sends its status line, its headers or its body a few bytes at a
time never trips requests' own timeout, which is per read. The fake server
trickles for real on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time

import pytest

from tap_contactship.errors import ExitCode
from tests.conftest import emitted, run_cli, sync, tap_config, unversioned
from tests.fake_contactship import trickling


@pytest.mark.parametrize(
    ("headers", "endless"),
    [(False, False), (True, False), (True, True), (False, True)],
    ids=["body", "headers", "endless-headers", "endless-body"],
)
def test_a_trickle_is_retried_then_fails_with_one_line(api, tmp_path, headers, endless):
    api.seed(calls=40)
    # Four bytes a second: the status line and headers alone would take about
    # 20 s, the body a minute; an endless trickle, for ever. Each read gets
    # its bytes well within requests' own 2 s timeout.
    api.hooks.append(trickling(1.0, headers=headers, endless=endless))
    config = tap_config(api, request_timeout=2, max_retries=2, page_size=20)

    started = time.monotonic()
    run = run_cli(
        config, "--catalog", str(catalog_file(tmp_path)), tmp_path=tmp_path, timeout=90
    )
    took = time.monotonic() - started

    assert run.exit_code == ExitCode.UNREACHABLE
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert errors == [run.stderr.strip().splitlines()[-1]], run.stderr
    assert errors[0].startswith("tap-contactship: error: ")
    assert "after 2 attempts" in errors[0]
    assert "still arriving when `request_timeout` ran out" in errors[0]
    assert "Traceback" not in run.stderr
    # Two attempts of 2 s and one backoff (at most 0.25 s), plus start-up:
    # generous, never a tight timing.
    assert took < 20, took
    assert len(api.data_requests("/v1/calls")) == 2
    assert run.records("calls") == []


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_concurrent_pages_that_trickle_are_fetched_again_and_nothing_is_lost(
    api, headers
):
    api.seed_phone_numbers(120)
    before = threading.enumerate()
    # Two of the pages in flight trickle: each is cut at 1 s and fetched again.
    api.hooks.append(trickling(0.3, path="/v1/phone-numbers", times=2, headers=headers))
    config = tap_config(api, page_size=10, max_concurrent_requests=4, request_timeout=1)

    run = sync(config, streams=["phone_numbers"])

    assert run.exit_code == 0, run.stderr
    assert unversioned(run.records("phone_numbers")) == emitted(api.phone_numbers)
    assert run.stderr.count("still arriving when `request_timeout` ran out") == 2
    assert_no_thread_left_behind(before, grace=2)


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_response_that_arrives_in_time_is_read_whole(api, headers):
    api.seed_phone_numbers(3)
    before = threading.enumerate()
    api.hooks.append(trickling(0.01, path="/v1/phone-numbers", headers=headers))

    run = sync(tap_config(api, request_timeout=30), streams=["phone_numbers"])

    assert run.exit_code == 0, run.stderr
    assert unversioned(run.records("phone_numbers")) == emitted(api.phone_numbers)
    assert_no_thread_left_behind(before, grace=1)


@pytest.mark.parametrize("headers", [False, True], ids=["body", "headers"])
def test_a_failed_sync_leaves_no_thread_reading(api, headers):
    api.seed_phone_numbers(200)
    before = threading.enumerate()
    api.hooks.append(
        trickling(0.2, path="/v1/phone-numbers", headers=headers, endless=True)
    )
    config = tap_config(
        api, page_size=10, max_concurrent_requests=6, request_timeout=1, max_retries=1
    )

    run = sync(config, streams=["phone_numbers"])

    assert run.exit_code == ExitCode.UNREACHABLE
    assert "still arriving when `request_timeout` ran out" in run.stderr
    # Pages in flight end at their own deadline: a second, not the trickle's
    # end (which never comes).
    assert_no_thread_left_behind(before, grace=2)


def assert_no_thread_left_behind(before: list[threading.Thread], grace: float) -> None:
    """Only the threads that were there before the tap ran, after `grace` s.

    The fake server's own threads (one per connection it serves) are not the
    tap's.
    """

    def stray() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            if t not in before and "process_request_thread" not in t.name
        ]

    until = time.monotonic() + grace
    while stray() and time.monotonic() < until:
        time.sleep(0.05)
    assert stray() == []


def catalog_file(tmp_path):
    import json

    from tests.catalogs import catalog

    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog(["calls"])))
    return path
