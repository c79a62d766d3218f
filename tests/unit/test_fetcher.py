"""Fetching ahead with a function for `fetch`: order, limits, stopping."""

from __future__ import annotations

import threading

import pytest

from tap_contactship.errors import SyncInterruptedError
from tap_contactship.fetcher import Fetcher
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.responses import Page

DATA = [{"id": f"r{i:04d}"} for i in range(95)]


class Server:
    """`fetch` for the fetcher: serves DATA and counts calls in flight."""

    def __init__(self, data=DATA) -> None:
        self.data = list(data)
        self.tokens: list[PageToken] = []
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.release.set()
        self.before: list = []

    def __call__(self, token: PageToken) -> Page:
        with self.lock:
            self.tokens.append(token)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            for change in self.before:
                change(self)
        self.release.wait(5)
        with self.lock:
            self.in_flight -= 1
        return Page(
            self.data[token.offset : token.offset + token.limit], len(self.data)
        )


def read(fetcher: Fetcher) -> list[str]:
    return [row["id"] for rows in fetcher.pages() for row in rows]


@pytest.mark.parametrize("in_flight", [1, 2, 6])
def test_same_rows_in_the_same_order_at_any_concurrency(in_flight):
    server = Server()
    fetcher = Fetcher(
        OverlapOffsetPaginator(10),
        server,
        max_in_flight=in_flight,
        limit=lambda: in_flight,
    )

    assert read(fetcher) == [r["id"] for r in DATA]
    assert len(server.tokens) == 10
    assert server.peak <= in_flight


def test_only_one_page_in_flight_until_the_count_is_known():
    server = Server()
    fetcher = Fetcher(
        OverlapOffsetPaginator(10), server, max_in_flight=6, limit=lambda: 6
    )
    pages = fetcher.pages()

    next(pages)

    assert server.tokens[0] == PageToken(0, 11)
    assert all(token.offset > 0 for token in server.tokens[1:])


def test_a_lowered_limit_is_respected_for_new_pages():
    server = Server()
    limit = [6]
    sizes: list[int] = []
    fetcher = Fetcher(
        OverlapOffsetPaginator(5),
        server,
        max_in_flight=6,
        limit=lambda: limit[0],
        check=lambda: sizes.append(len(fetcher.in_flight)),
    )
    pages = fetcher.pages()
    next(pages)
    limit[0] = 1
    lowered = len(sizes)

    rest = [row["id"] for rows in pages for row in rows]

    assert len(rest) == 95 - 6  # all but the first page
    after = sizes[lowered:]
    # Pages already in flight are kept and drain; none is added beyond the limit.
    assert after == sorted(after, reverse=True)
    assert after[-1] == 0


def test_pages_gone_off_plan_are_dropped_and_read_again():
    server = Server()

    def release_row_3(srv: Server) -> None:
        if len(srv.tokens) == 2:
            del srv.data[3]

    server.before.append(release_row_3)
    fetcher = Fetcher(
        OverlapOffsetPaginator(10), server, max_in_flight=4, limit=lambda: 4
    )

    ids = read(fetcher)

    assert len(ids) == len(set(ids))
    assert set(ids) >= {r["id"] for r in server.data}


def test_a_check_that_raises_stops_reading_and_abandons_pages_in_flight():
    server = Server()
    signals: list[int] = []

    def check() -> None:
        if signals:
            raise SyncInterruptedError(signals[0])

    fetcher = Fetcher(
        OverlapOffsetPaginator(10),
        server,
        max_in_flight=4,
        limit=lambda: 4,
        check=check,
    )
    pages = fetcher.pages()
    next(pages)
    signals.append(2)

    with pytest.raises(SyncInterruptedError):
        next(pages)
    assert fetcher.stopped.is_set()
    assert fetcher.in_flight == {}


def test_the_check_runs_while_a_slow_page_is_awaited(monkeypatch):
    server = Server()
    server.release.clear()  # every request hangs
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise SyncInterruptedError(15)

    monkeypatch.setattr(Fetcher, "CHECK_INTERVAL", 0.01)
    fetcher = Fetcher(
        OverlapOffsetPaginator(10),
        server,
        max_in_flight=2,
        limit=lambda: 2,
        check=check,
    )
    try:
        with pytest.raises(SyncInterruptedError):
            read(fetcher)
    finally:
        server.release.set()


def test_a_failed_fetch_is_raised_to_the_reader():
    def fetch(token: PageToken) -> Page:
        raise RuntimeError("boom")

    fetcher = Fetcher(
        OverlapOffsetPaginator(10), fetch, max_in_flight=2, limit=lambda: 2
    )

    with pytest.raises(RuntimeError, match="boom"):
        read(fetcher)
