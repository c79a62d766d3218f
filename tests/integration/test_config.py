"""Bad settings are refused before any request, in one line naming the setting."""

from __future__ import annotations

import pytest

from tap_contactship.errors import ExitCode
from tests.conftest import dotenv_in_reach, run_cli, sync_numbers, tap_config

PATH = "/v1/phone-numbers"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"api_key": None},
            "`api_key` is required: add it to the --config file "
            "(TAP_CONTACTSHIP_API_KEY is only read with --config=ENV)",
        ),
        ({"api_key": ""}, "`api_key` must not be empty"),
        ({"page_size": 0}, "`page_size` must be at least 1"),
        ({"page_size": 1001}, "`page_size` must be at most 1000"),
        ({"page_size": "100"}, "`page_size` must be of type"),
        (
            {"phone_number_type": "both"},
            "`phone_number_type` must be one of: inbound, outbound",
        ),
        ({"request_timeout": 0}, "`request_timeout` must be greater than 0"),
        ({"max_retries": 0}, "`max_retries` must be at least 1"),
        ({"api_url": "http://api.contactship.ai"}, "`api_url` must use https://"),
        ({"api_url": "http://10.0.0.8:8080"}, "`api_url` must use https://"),
        ({"api_url": "ftp://127.0.0.1"}, "`api_url` must be an http(s) URL"),
        ({"api_url": "api.contactship.ai"}, "`api_url` must be an http(s) URL"),
        ({"api_url": "http://localhost:notaport"}, "`api_url` has an invalid port"),
        ({"start_date": "last tuesday"}, "`start_date` must be an ISO 8601 date-time"),
        ({"calls_lookback_days": -1}, "`calls_lookback_days` must be at least 0"),
        (
            {"max_concurrent_requests": 0},
            "`max_concurrent_requests` must be at least 1",
        ),
    ],
)
def test_bad_setting_is_one_line_and_no_request(api, overrides, fragment):
    config = {k: v for k, v in tap_config(api, **overrides).items() if v is not None}

    run = sync_numbers(config)

    assert run.exit_code == ExitCode.CONFIG
    assert "Traceback" not in run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("tap-contactship: error: invalid config: ")
    assert fragment in line
    assert api.requests == []


def test_several_problems_are_reported_together(api):
    run = sync_numbers(tap_config(api, page_size=0, phone_number_type="x"))
    assert run.exit_code == ExitCode.CONFIG

    line = run.stderr.strip().splitlines()[-1]
    assert "`page_size`" in line and "`phone_number_type`" in line


def test_a_mistyped_key_is_not_echoed(api):
    run = sync_numbers(tap_config(api, api_key=987654321987))

    assert run.exit_code == ExitCode.CONFIG
    assert "`api_key` must be of type string" in run.stderr
    assert "987654321987" not in run.stderr + run.stdout


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "http://127.8.9.10"],
)
def test_plain_http_is_allowed_for_loopback(url):
    from tap_contactship.settings import api_url_problem

    assert api_url_problem(url) is None


def test_https_and_v1_suffix_are_accepted(api):
    api.seed_phone_numbers(3)

    run = sync_numbers(tap_config(api, api_url=api.url + "/v1/"))

    assert run.exit_code == 0, run.stderr
    assert len(run.records("phone_numbers")) == 3
    assert api.data_requests(PATH)[0].path == "/v1/phone-numbers"


@pytest.mark.skipif(dotenv_in_reach(), reason="a .env the SDK reads overrides the env")
def test_settings_from_environment(api, tmp_path):
    api.seed_phone_numbers(3)

    run = run_cli(
        None,
        "--config=ENV",
        tmp_path=tmp_path,
        env={
            "TAP_CONTACTSHIP_API_KEY": "test-key",
            "TAP_CONTACTSHIP_API_URL": api.url,
            "TAP_CONTACTSHIP_PAGE_SIZE": "2",
        },
    )

    assert run.exit_code == 0, run.stderr
    assert len(run.records("phone_numbers")) == 3
    assert api.data_requests(PATH)[0].params["limit"] == "3"  # page_size + 1


@pytest.mark.skipif(dotenv_in_reach(), reason="a .env the SDK reads provides the key")
def test_missing_key_in_environment_is_one_line(tmp_path):
    run = run_cli(
        None, "--config=ENV", tmp_path=tmp_path, env={"TAP_CONTACTSHIP_API_KEY": ""}
    )

    assert run.exit_code == ExitCode.CONFIG
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith("tap-contactship: error: invalid config")
    )


def test_user_agent_is_sent(api):
    assert sync_numbers(tap_config(api)).exit_code == 0
    assert api.data_requests(PATH)[0].user_agent.startswith("tap-contactship/")

    assert sync_numbers(tap_config(api, user_agent="acme-etl/2")).exit_code == 0
    assert api.data_requests(PATH)[1].user_agent == "acme-etl/2"
