"""Settings validation as pure functions."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from tap_contactship.settings import (
    api_url_problem,
    describe_sdk_errors,
    env_problems,
    extra_problems,
    unknown_settings,
    unknown_variables,
    validation_errors,
)
from tap_contactship.tap import TapContactship

SCHEMA = TapContactship.config_jsonschema


def test_a_valid_config_has_no_problems():
    assert extra_problems({"api_key": "k" * 8}) == []
    assert describe_sdk_errors([], {"api_key": "k" * 8}, SCHEMA) == []


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"page_size": 1001}, "`page_size` must be at most 1000"),
        ({"page_size": 0}, "`page_size` must be at least 1"),
        ({"request_timeout": 0}, "`request_timeout` must be greater than 0"),
        (
            {"phone_number_type": "both"},
            "`phone_number_type` must be one of: inbound, outbound",
        ),
        ({"api_key": ""}, "`api_key` must not be empty"),
        ({"page_size": "100"}, "`page_size` must be of type integer or null"),
    ],
)
def test_the_validators_errors_are_said_again_without_their_values(bad, problem):
    config = {"api_key": "k" * 8, **bad}
    errors = validation_errors(config, SCHEMA)

    assert describe_sdk_errors(errors, {}, SCHEMA) == [problem]


def test_a_rule_without_a_phrase_is_named_invalid():
    error = ValidationError(
        "'x' is something new", validator="pattern", path=["page_size"]
    )

    assert describe_sdk_errors([error], {}, SCHEMA) == ["`page_size` is invalid"]


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("none", "no --config was given: pass --config config.json, or --config=ENV"),
        (
            "file",
            "add it to the --config file (TAP_CONTACTSHIP_API_KEY is only read with --config=ENV)",
        ),
        ("env", "TAP_CONTACTSHIP_API_KEY is not set"),
    ],
)
def test_a_missing_key_says_where_it_goes(source, hint):
    required = validation_errors({}, SCHEMA)
    (problem,) = describe_sdk_errors(required, {}, SCHEMA, source=source)

    assert problem.startswith("`api_key` is required: ")
    assert hint in problem


def test_a_near_miss_for_the_missing_key_is_named():
    required = validation_errors({"apikey": "k" * 8}, SCHEMA)
    (problem,) = describe_sdk_errors(required, {"apikey": "k" * 8}, SCHEMA)

    assert (
        problem
        == "`api_key` is required: the config has `apikey`; did you mean `api_key`?"
    )


def test_values_are_never_quoted():
    secret = "cs_live_abcdef123456"
    config = {"api_key": "k" * 8, "page_size": secret}
    problems = describe_sdk_errors(validation_errors(config, SCHEMA), config, SCHEMA)

    assert problems == ["`page_size` must be of type integer or null"]


@pytest.mark.parametrize(
    ("name", "guess"),
    [
        ("pagesize", "page_size"),
        ("Page-Size", "page_size"),
        ("api_urll", "api_url"),
        ("colour", None),
    ],
)
def test_unknown_settings_get_a_did_you_mean(name, guess):
    assert unknown_settings({"api_key": "k", name: 1}, SCHEMA) == [(name, guess)]


def test_sdk_and_private_settings_are_not_unknown():
    config = {"api_key": "k", "stream_maps": {}, "_meltano_extra": 1}
    schema: dict[str, object] = {"properties": {"api_key": {}, "stream_maps": {}}}

    assert unknown_settings(config, schema) == []


def test_env_values_that_do_not_convert():
    environ = {
        "TAP_CONTACTSHIP_PAGE_SIZE": "abc",
        "TAP_CONTACTSHIP_REQUEST_TIMEOUT": "1.5",
        "TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS": "a week",
        "TAP_CONTACTSHIP_USER_AGENT": "anything goes",
    }

    assert env_problems(environ, SCHEMA) == [
        "TAP_CONTACTSHIP_PAGE_SIZE must be a valid integer",
        "TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS must be a valid number",
    ]


def test_env_json_settings_must_be_json():
    schema: dict[str, object] = {"properties": {"stream_maps": {"type": ["object"]}}}

    assert env_problems({"TAP_CONTACTSHIP_STREAM_MAPS": "{"}, schema) == [
        "TAP_CONTACTSHIP_STREAM_MAPS must be a valid object"
    ]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.contactship.ai", None),
        ("http://127.0.0.1:8080", None),
        ("http://localhost", None),
        ("http://[::1]:9000", None),
        ("http://api.contactship.ai", "must use https://"),
        ("ftp://127.0.0.1", "must be an http(s) URL"),
        ("http://localhost:port", "invalid port"),
    ],
)
def test_api_url(url, problem):
    found = api_url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_unknown_variables_get_a_did_you_mean():
    environ = {
        "TAP_CONTACTSHIP_PAGESIZE": "50",
        "TAP_CONTACTSHIP_API_URLL": "http://127.0.0.1:1",
        "TAP_CONTACTSHIP_COLOUR": "red",
        "TAP_CONTACTSHIP_PAGE_SIZE": "50",
        "TAP_CONTACTSHIP_API_KEY": "k",
        # Meltano's: an inherited plugin's setting and an extra.
        "TAP_CONTACTSHIP__ACME_API_KEY": "k",
        "TAP_CONTACTSHIP__SELECT": "[]",
        "TARGET_DUCKDB_PAGESIZE": "1",
    }

    assert sorted(unknown_variables(environ, SCHEMA)) == [
        ("TAP_CONTACTSHIP_API_URLL", "TAP_CONTACTSHIP_API_URL"),
        ("TAP_CONTACTSHIP_COLOUR", None),
        ("TAP_CONTACTSHIP_PAGESIZE", "TAP_CONTACTSHIP_PAGE_SIZE"),
    ]
