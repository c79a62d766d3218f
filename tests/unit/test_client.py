"""The stream on the SDK's hooks, with HTTP mocked by requests-mock."""

from __future__ import annotations

import json
import logging
import re
import threading
import typing as t

import pytest
import requests

from tap_contactship.errors import APIError, FetchAbandonedError
from tap_contactship.responses import Page, request_line
from tap_contactship.streams import PhoneNumbersStream
from tap_contactship.tap import TapContactship
from tests.conftest import FakeClock

URL = "https://api.example.test/v1/phone-numbers"


def numbers(n: int) -> list[dict[str, str]]:
    return [{"id": f"pn-{i}", "created_at": "2026-01-01T00:00:00Z"} for i in range(n)]


def stream(cls=PhoneNumbersStream, **config: t.Any):
    tap = TapContactship(
        config={
            "api_key": "key-123456",
            "api_url": "https://api.example.test",
            **config,
        }
    )
    instance = cls(tap=tap)
    instance.clock = FakeClock().clock
    return instance


def serve(
    requests_mock, data, *, envelope=lambda rows, total: {"data": rows, "count": total}
):
    """Answer every request with the page of `data` it asks for."""

    def page(request, context):
        offset, limit = int(request.qs["offset"][0]), int(request.qs["limit"][0])
        return envelope(data[offset : offset + limit], len(data))

    requests_mock.get(URL, json=page)


def test_records_come_from_every_page(requests_mock):
    data = numbers(25)
    serve(requests_mock, data)

    records = list(stream(page_size=10).get_records(None))

    assert [r["id"] for r in records] == [r["id"] for r in data]
    assert requests_mock.call_count == 3
    assert requests_mock.request_history[0].headers["x-api-key"] == "key-123456"


def test_a_subclass_overriding_get_url_params_takes_effect(requests_mock):
    class Filtered(PhoneNumbersStream):
        def get_url_params(self, context, next_page_token):
            return {**super().get_url_params(context, next_page_token), "region": "eu"}

    serve(requests_mock, numbers(2))

    list(stream(Filtered).get_records(None))

    assert requests_mock.request_history[0].qs["region"] == ["eu"]


def test_a_subclass_overriding_parse_response_takes_effect(requests_mock):
    class Enveloped(PhoneNumbersStream):
        def parse_response(self, response):
            body = response.json()
            return Page(body["items"], body["total"])

    serve(
        requests_mock, numbers(3), envelope=lambda rows, n: {"items": rows, "total": n}
    )

    assert len(list(stream(Enveloped).get_records(None))) == 3


def test_a_parse_response_that_yields_plain_records_still_pages(requests_mock):
    data = numbers(15)

    class Generator(PhoneNumbersStream):
        def parse_response(self, response):
            yield from response.json()["data"]

    def page(request, context):
        offset, limit = int(request.qs["offset"][0]), int(request.qs["limit"][0])
        return {"data": data[offset : offset + limit]}

    requests_mock.get(URL, json=page)

    records = list(stream(Generator, page_size=10).get_records(None))

    assert [r["id"] for r in records] == [r["id"] for r in data]


def test_request_metrics_are_logged(requests_mock, caplog):
    serve(requests_mock, numbers(30))

    with caplog.at_level(logging.INFO, logger="singer_sdk.metrics"):
        list(stream().get_records(None))

    points = [
        json.loads(r.getMessage().removeprefix("METRIC: "))
        for r in caplog.records
        if r.getMessage().startswith("METRIC: ")
    ]
    by_metric = {p["metric"]: p for p in points}
    assert requests_mock.call_count == 2  # the second shows nothing follows
    assert by_metric["http_request_count"]["value"] == requests_mock.call_count
    assert by_metric["http_request_count"]["tags"]["endpoint"] == "/phone-numbers"
    duration = by_metric["http_request_duration"]
    assert duration["tags"]["http_status_code"] == 200
    assert duration["tags"]["status"] == "succeeded"


def test_sync_costs_are_counted_per_request(requests_mock, caplog):
    class Costed(PhoneNumbersStream):
        def calculate_sync_cost(self, request, response, context):
            return {"requests": 1}

    serve(requests_mock, numbers(25))
    costed = stream(Costed, page_size=10)

    list(costed.get_records(None))
    with caplog.at_level(logging.INFO):
        costed.log_sync_costs()

    assert "Total Sync costs for stream phone_numbers: {'requests': 3}" in caplog.text


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        ({"status_code": 401, "json": {}}, "rejected the API key (401"),
        ({"status_code": 404, "text": "nope"}, "check `api_url`"),
        (
            {"status_code": 302, "headers": {"Location": "https://x/"}},
            "redirected (302)",
        ),
    ],
)
def test_fatal_answers_are_one_line_errors(requests_mock, response, fragment):
    requests_mock.get(URL, **response)

    with pytest.raises(APIError, match=re.escape(fragment)):
        list(stream().get_records(None))
    assert requests_mock.call_count == 1


def test_malformed_bodies_are_retried_then_fail(requests_mock):
    requests_mock.get(
        URL, text="<html>busy</html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(APIError) as caught:
        list(stream(max_retries=3).get_records(None))

    assert str(caught.value) == (
        "GET /v1/phone-numbers?limit=101&offset=0&order=asc answered 200 but the body "
        "is not valid JSON (text/html, 17 bytes; truncated or an HTML page?) (after 3 "
        "attempts)"
    )
    assert requests_mock.call_count == 3


def test_backoff_waits_go_through_the_stream_clock(requests_mock):
    requests_mock.get(
        URL,
        [
            {"status_code": 503, "text": "busy"},
            {"status_code": 429, "headers": {"Retry-After": "4"}},
            {"json": {"data": numbers(1), "count": 1}},
            {"json": {"data": [], "count": 1}},
        ],
    )
    fake = FakeClock()
    numbers_stream = stream()
    numbers_stream.clock = fake.clock

    assert len(list(numbers_stream.get_records(None))) == 1
    assert len(fake.slept) == 2
    assert 0.125 <= fake.slept[0] <= 0.25
    assert fake.slept[1] == 4.0


def test_a_request_line_names_method_path_and_query():
    assert request_line(None) == "GET ?"
    prepared = requests.Request("GET", URL, params={"limit": 5}).prepare()
    assert request_line(prepared) == "GET /v1/phone-numbers?limit=5"


def test_a_page_nobody_wants_any_more_is_not_requested(requests_mock):
    requests_mock.get(URL, json={"data": [], "count": 0})
    stopped = threading.Event()
    stopped.set()
    prepared = requests.Request("GET", URL).prepare()

    client = stream().read_list(None).client
    client.stopped = stopped

    with pytest.raises(FetchAbandonedError):
        client.send(prepared)
    assert requests_mock.call_count == 0
