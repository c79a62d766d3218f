"""Envelopes and status verdicts, without a server."""

from __future__ import annotations

import pytest

from tap_contactship import responses
from tap_contactship.responses import MalformedBodyError, Page, Verdict


def test_envelope_with_count():
    page = responses.envelope_page({"data": [{"id": "a"}], "count": 7})

    assert page == [{"id": "a"}]
    assert page.total == 7


def test_envelope_without_count_has_no_total():
    assert responses.envelope_page({"data": [], "statusCode": 200}).total is None


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ([{"id": "a"}], "not a {"),
        ({"rows": []}, "not a {"),
        ({"data": {"id": "a"}}, "not a {"),
        ({"data": [], "count": "3"}, "`count` is not a whole number"),
        ({"data": [], "count": -1}, "`count` is not a whole number"),
        ({"data": [], "count": True}, "`count` is not a whole number"),
        ({"data": [1, 2]}, "something other than objects"),
    ],
)
def test_envelope_problems_say_why(payload, why):
    with pytest.raises(MalformedBodyError, match=why.replace("{", r"\{")):
        responses.envelope_page(payload)


def test_bare_list_or_envelope():
    assert responses.list_or_envelope_page([{"id": "a"}]).total is None
    assert responses.list_or_envelope_page({"data": [], "count": 0}).total == 0
    with pytest.raises(MalformedBodyError):
        responses.list_or_envelope_page("text")


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"<html>oops</html>", "text/html", "(text/html, 17 bytes; truncated"),
        (b'{"data": [', "application/json", "10 bytes"),
        (b"", None, "(no content type, 0 bytes"),
    ],
)
def test_bodies_that_are_not_json(body, content_type, fragment):
    with pytest.raises(MalformedBodyError, match="not valid JSON") as caught:
        responses.decode_json(body, content_type)
    assert fragment in str(caught.value)


def test_page_is_a_list():
    assert isinstance(Page([], None), list)


@pytest.mark.parametrize(
    ("status", "redirect", "expected"),
    [
        (200, False, Verdict.OK),
        (301, True, Verdict.REDIRECTED),
        (400, False, Verdict.FAIL),
        (401, False, Verdict.KEY_REJECTED),
        (403, False, Verdict.KEY_REJECTED),
        (404, False, Verdict.FAIL),
        (429, False, Verdict.RETRY),
        (500, False, Verdict.RETRY),
        (503, False, Verdict.RETRY),
    ],
)
def test_verdicts(status, redirect, expected):
    assert responses.verdict(status, is_redirect=redirect) is expected


def test_failure_message_folds_and_cuts_the_body():
    body = "line one\n\n   line two " + "x" * 500

    message = responses.failure_message("GET /v1/calls", 400, "Bad Request", body)

    assert message.startswith(
        "GET /v1/calls failed with 400 Bad Request: line one line two"
    )
    assert message.endswith("...")
    assert "\n" not in message
    assert len(message) < 400


def test_404_points_at_api_url():
    message = responses.failure_message("GET /api/v1/calls", 404, "Not Found", "")

    assert message == (
        "GET /api/v1/calls failed with 404 Not Found; check `api_url` (it should be "
        "the API root, e.g. https://api.contactship.ai)"
    )


def test_rejected_key_message_says_where_the_key_is_set():
    message = responses.key_rejected_message(401, "Unauthorized")

    assert "401 Unauthorized" in message
    assert "`api_key`" in message
    assert "--config=ENV" in message


def test_redirect_and_malformed_messages():
    assert "set `api_url` to the final address" in responses.redirect_message(
        "GET /v1/calls", 301, "https://elsewhere/v1/calls"
    )
    assert (
        responses.malformed_message("GET /v1/calls", "the body is empty")
        == "GET /v1/calls answered 200 but the body is empty"
    )


def test_giving_up_names_the_attempts_and_the_cause():
    import socket

    import requests
    from singer_sdk.exceptions import RetriableAPIError

    from tap_contactship.errors import MalformedResponseError

    line = "GET /v1/calls?limit=101&offset=0"
    assert (
        responses.gave_up_message(
            RetriableAPIError("GET /v1/calls failed with 503"),
            attempts=5,
            api_url="https://x",
            request_line=line,
        )
        == "giving up after 5 attempts: GET /v1/calls failed with 503"
    )
    assert responses.gave_up_message(
        MalformedResponseError("GET /v1/calls answered 200 but it is HTML"),
        attempts=1,
        api_url="https://x",
        request_line=line,
    ).endswith("(after 1 attempt)")
    dns = requests.exceptions.ConnectionError("nope")
    dns.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert responses.gave_up_message(
        dns, attempts=5, api_url="https://typo", request_line=line
    ) == (
        "could not get a response from https://typo (GET /v1/calls?limit=101&offset=0): "
        "ConnectionError: the host name does not resolve (Name or service not known); "
        "check `api_url`, the network and `request_timeout`"
    )
