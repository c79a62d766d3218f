"""Every failure ends with one clear line, a non-zero exit, and the right retries."""

from __future__ import annotations

import time

import pytest
import requests

from tap_contactship.errors import ExitCode
from tests.conftest import free_port, sync, sync_numbers, tap_config
from tests.fake_contactship import FakeContactship, Response, json_response

PATH = "/v1/phone-numbers"


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def assert_one_clear_error(run, code: ExitCode, *fragments: str) -> str:
    assert run.exit_code == code
    assert "Traceback" not in run.stderr
    line = last_line(run.stderr)
    assert line.startswith("tap-contactship: error: ")
    for fragment in fragments:
        assert fragment in line
    return line


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_fails_at_once_naming_the_setting(api, sleeps, status):
    api.seed_phone_numbers(10)
    api.script = [json_response(status, {"message": "nope"})]

    run = sync_numbers(tap_config(api))

    assert_one_clear_error(
        run,
        ExitCode.KEY_REJECTED,
        "rejected the API key",
        "`api_key`",
        "TAP_CONTACTSHIP_API_KEY",
    )
    assert len(api.data_requests(PATH)) == 1
    assert sleeps == []
    assert run.records() == []


def test_wrong_key_against_the_server(api):
    run = sync_numbers(tap_config(api, api_key="not-the-key"))

    assert_one_clear_error(run, ExitCode.KEY_REJECTED, "401")
    assert len(api.data_requests(PATH)) == 1


@pytest.mark.parametrize(
    ("status", "hint"),
    [(400, "Bad paging parameter"), (404, "check `api_url`")],
)
def test_client_errors_fail_at_once_with_status_path_and_message(
    api, sleeps, status, hint
):
    api.script = [json_response(status, {"message": "Bad paging parameter"})]

    run = sync_numbers(tap_config(api))

    assert_one_clear_error(run, ExitCode.API_FAULT, str(status), PATH, hint)
    assert len(api.data_requests(PATH)) == 1
    assert sleeps == []


def test_wrong_api_url_path_gives_404_hint(api):
    run = sync_numbers(tap_config(api, api_url=api.url + "/api"))

    assert_one_clear_error(
        run, ExitCode.API_FAULT, "404", "/api/v1/phone-numbers", "check `api_url`"
    )


def test_server_errors_retry_then_succeed_without_losing_rows(api, sleeps):
    api.seed_phone_numbers(250)

    def fail_every_other(fake, seen):
        return Response(503, b"busy") if len(fake.requests) % 2 else None

    api.hooks.append(fail_every_other)
    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    ids = run.ids()
    assert len(ids) == 250 == len(set(ids))
    assert len(sleeps) == 3


def test_persistent_500_gives_up_after_max_retries_naming_the_status(api, sleeps):
    api.seed_phone_numbers(5)
    api.hooks.append(lambda fake, seen: Response(500, b"<html>Internal</html>"))

    run = sync_numbers(tap_config(api, max_retries=3))

    assert_one_clear_error(
        run, ExitCode.API_FAULT, "giving up after 3 attempts", "500", PATH
    )
    assert len(api.data_requests(PATH)) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html><body>Maintenance</body></html>", "not valid JSON"),
        (b'{"data": [{"id": "pn-1"}, {"id": "pn-', "not valid JSON"),
        (b'{"data": {"id": "pn-1"}, "count": 1}', "envelope"),
        (b'{"data": [], "count": "many"}', "count"),
        (b'{"data": ["pn-1"], "count": 1}', "other than objects"),
        (b"", "not valid JSON"),
    ],
)
def test_unusable_200_bodies_retry_then_fail_clearly(api, sleeps, body, why):
    api.hooks.append(
        lambda fake, seen: Response(200, body, {"Content-Type": "text/html"})
    )

    run = sync_numbers(tap_config(api, max_retries=2))

    assert_one_clear_error(run, ExitCode.API_FAULT, "answered 200", why, PATH)
    assert len(api.data_requests(PATH)) == 2
    assert run.records() == []


def test_malformed_page_mid_sync_is_retried_and_nothing_lost(api, sleeps):
    api.seed_phone_numbers(250)
    api.hooks.append(
        lambda fake, seen: (
            Response(200, b'{"data": [{"id"') if len(fake.requests) == 2 else None
        )
    )

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    assert len(set(run.ids())) == 250
    assert len(sleeps) == 1


def test_unreachable_api_fails_after_retries(sleeps, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    run = sync_numbers({"api_key": "k", "api_url": url, "max_retries": 2})

    assert_one_clear_error(
        run,
        ExitCode.UNREACHABLE,
        "could not get a response",
        "ConnectionError",
        "after 2 attempts",
    )


def test_timeouts_and_resets_are_retried(api, sleeps, requests_mock):
    requests_mock.get(
        "https://api.example.test/v1/phone-numbers",
        [
            {"exc": requests.exceptions.ReadTimeout},
            {"exc": ConnectionResetError},
            {"exc": requests.exceptions.ChunkedEncodingError},
            {"json": {"data": [{"id": "pn-1"}], "count": 1}},
            {"json": {"data": [], "count": 1}},  # nothing after it
        ],
    )

    run = sync_numbers({"api_key": "k", "api_url": "https://api.example.test"})

    assert run.exit_code == 0, run.stderr
    assert run.ids() == ["pn-1"]
    assert len(sleeps) == 3


def test_persistent_timeouts_fail_with_advice(sleeps, requests_mock):
    requests_mock.get(
        "https://api.example.test/v1/phone-numbers", exc=requests.exceptions.ReadTimeout
    )

    run = sync_numbers(
        {"api_key": "k", "api_url": "https://api.example.test", "max_retries": 4}
    )

    assert_one_clear_error(
        run, ExitCode.UNREACHABLE, "ReadTimeout", "after 4 attempts", "request_timeout"
    )
    assert requests_mock.call_count == 4


def test_request_timeout_setting_reaches_requests(api):
    api.seed_phone_numbers(1)
    api.hooks.append(lambda fake, seen: time.sleep(0.5))

    run = sync_numbers(tap_config(api, request_timeout=0.1, max_retries=1))

    assert_one_clear_error(
        run,
        ExitCode.UNREACHABLE,
        "ResponseDeadlineError",
        "when `request_timeout` ran out",
    )


def test_redirects_are_refused_so_the_key_never_travels(api, sleeps):
    with FakeContactship() as elsewhere:
        api.script = [
            Response(301, b"", {"Location": elsewhere.url + "/v1/phone-numbers"})
        ]

        run = sync_numbers(tap_config(api))

        assert elsewhere.requests == []
    assert_one_clear_error(
        run, ExitCode.API_FAULT, "was redirected (301)", "set `api_url`"
    )


def test_missing_count_does_not_cut_the_list_after_one_page(api):
    api.seed_phone_numbers(250)
    api.omit_count = True

    run = sync_numbers(tap_config(api, page_size=100))

    assert run.exit_code == 0, run.stderr
    assert run.ids() == [r["id"] for r in api.phone_numbers]


def test_calls_out_of_order_fail_in_one_line(api):
    api.seed(calls=30)
    api.ignore_order = True

    run = sync(tap_config(api), streams=["calls"])

    assert_one_clear_error(
        run, ExitCode.API_FAULT, "out of `created_at` order", "order=asc"
    )
