"""One page request: retried as the stream's backoff hooks say, on its clock."""

from __future__ import annotations

import threading

import pytest
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_contactship.errors import FetchAbandonedError
from tap_contactship.responses import Page
from tap_contactship.streams import PhoneNumbersStream
from tap_contactship.tap import TapContactship
from tap_contactship.transport import PageClient
from tests.conftest import FakeClock

REQUEST = requests.Request("GET", "https://api.example.test/v1/phone-numbers").prepare()
PAGE = Page([{"id": "pn-1"}], 1)


class Hooked(PhoneNumbersStream):
    """The waits 1, 2, 3 s; `jitter` and `handler` as a test sets them."""

    tries = 5
    jitter = staticmethod(lambda value: value)
    backoffs: list[dict[str, object]]

    def backoff_wait_generator(self):
        attempt = 0
        yield
        while True:
            attempt += 1
            yield float(attempt)

    def backoff_max_tries(self) -> int:
        return self.tries

    def backoff_jitter(self, value: float) -> float:
        return self.jitter(value)

    def backoff_handler(self, details) -> None:
        self.backoffs.append(details)

    @staticmethod
    def backoffs_of(pages: PageClient) -> list[dict[str, object]]:
        return STREAMS[pages]


#: The stream each client was built from.
STREAMS: dict[PageClient, list[dict[str, object]]] = {}


def client(
    stop: threading.Event | None = None, **hooks
) -> tuple[PageClient, FakeClock]:
    tap = TapContactship(config={"api_key": "key-123456"})
    stream = Hooked(tap=tap)
    stream.backoffs = []
    for name, value in hooks.items():
        setattr(stream, name, value)
    fake = FakeClock()
    stream.clock = fake.clock
    pages = stream.read_list(None).client
    pages.stopped = stop or threading.Event()
    STREAMS[pages] = stream.backoffs
    return pages, fake


def test_retries_until_success_sleeping_each_wait_once():
    failures = [RetriableAPIError("500"), requests.exceptions.ReadTimeout()]

    def send(request) -> Page:
        if failures:
            raise failures.pop(0)
        return PAGE

    pages, fake = client(jitter=staticmethod(lambda value: value * 10))

    assert pages.with_retries(send, REQUEST) is PAGE
    assert fake.slept == [10.0, 20.0]
    backoffs = Hooked.backoffs_of(pages)
    assert [b["tries"] for b in backoffs] == [1, 2]
    assert [b["wait"] for b in backoffs] == [10.0, 20.0]


def test_gives_up_after_max_tries_with_the_last_failure():
    calls = []

    def send(request) -> Page:
        calls.append(1)
        raise RetriableAPIError(f"500 #{len(calls)}")

    pages, fake = client(tries=3)

    with pytest.raises(RetriableAPIError, match="500 #3"):
        pages.with_retries(send, REQUEST)
    assert len(calls) == 3
    assert fake.slept == [1.0, 2.0]


def test_what_is_not_retriable_fails_at_once():
    def send(request) -> Page:
        raise FatalAPIError("401")

    pages, fake = client()

    with pytest.raises(FatalAPIError):
        pages.with_retries(send, REQUEST)
    assert fake.slept == []


def test_an_abandoned_fetch_is_never_retried():
    calls = []

    def send(request) -> Page:
        calls.append(1)
        raise FetchAbandonedError

    pages, _ = client()

    with pytest.raises(FetchAbandonedError):
        pages.with_retries(send, REQUEST)
    assert calls == [1]


def test_a_stopped_fetch_is_not_retried():
    stop = threading.Event()
    stop.set()
    calls = []

    def send(request) -> Page:
        calls.append(1)
        raise RetriableAPIError("500")

    pages, fake = client(stop)

    with pytest.raises(RetriableAPIError):
        pages.with_retries(send, REQUEST)
    assert calls == [1]
    assert fake.slept == []
