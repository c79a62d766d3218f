"""One list read, page by page: the way a page walks from HTTP to the stream.

    paginator.token -> Fetcher (pages in flight, fetcher.py)
        -> PageClient.fetch (build, send, judge, retry: transport.py)
        -> paginator.accept (the rows that are new: pagination.py)
        -> Selection.select (the rows this run emits: the stream's)
        -> yielded to the stream, which hands them to the SDK or a batch file

`ListRead` is built per list read from plain values (see
`ContactshipStream.read_list`) and never sees the stream; when the pages end it
*returns* an `Outcome`: whether the list was read whole, and how many rows it
held. The stream decides what that means (its ACTIVATE_VERSION, `whole_reads`).
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass

from tap_contactship import interrupts
from tap_contactship.errors import OffsetIgnoredError
from tap_contactship.fetcher import Fetcher

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from singer_sdk import metrics

    from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
    from tap_contactship.progress import Progress
    from tap_contactship.responses import Page
    from tap_contactship.transport import PageClient

Row = dict[str, t.Any]


class Selection(t.Protocol):
    """Which rows of a list one run emits: a per-sync object of the stream's."""

    def params(self) -> dict[str, t.Any]:
        """Query parameters that narrow the list on the server."""
        ...

    def select(self, rows: list[Row]) -> list[Row]:
        """The rows of one page that this run emits, in order."""
        ...


class Everything:
    """Every row of the list (the selection of every stream but calls)."""

    def params(self) -> dict[str, t.Any]:
        """Nothing narrows the list."""
        return {}

    def select(self, rows: list[Row]) -> list[Row]:
        """Every row."""
        return rows


@dataclass(frozen=True)
class Outcome:
    """How a list read ended."""

    #: Every row of the list was read (a target may retire the rest).
    complete: bool
    #: Rows handed to the stream.
    rows: int


@dataclass
class ListRead:
    """The pages of one list, fetched ahead, as the selection keeps them."""

    name: str
    paginator: OverlapOffsetPaginator
    client: PageClient
    selection: Selection
    #: The SDK's `http_request_count`, entered by the read.
    counter: metrics.Counter
    progress: Progress
    warn: Callable[[str], None]
    #: Whether the rows read are the whole list although `offset` was ignored;
    #: None: an ignored `offset` is an error.
    offset_ignored: Callable[[OverlapOffsetPaginator], bool] | None = None

    def pages(self) -> Generator[list[Row], None, Outcome]:
        """Each page's selected rows; returns how the list ended.

        A signal stops reading between pages (`interrupts.check`).
        """
        paginator, rows = self.paginator, 0
        complete = True
        try:
            for page in self._fetched():
                kept = self.selection.select(page)
                rows += len(kept)
                yield kept
        except OffsetIgnoredError:
            if self.offset_ignored is None:
                raise
            complete = self.offset_ignored(paginator)
        return Outcome(complete=complete and paginator.complete, rows=rows)

    def _fetched(self) -> Iterator[list[Row]]:
        lock = threading.Lock()
        counter = self.counter

        def fetch(token: PageToken) -> Page:
            page = self.client.fetch(token)
            with lock:
                counter.increment()
            return page

        throttle = self.client.throttle
        fetcher = Fetcher(
            self.paginator,
            fetch,
            max_in_flight=throttle.max_in_flight,
            limit=lambda: throttle.limit,
            name=self.name,
            check=interrupts.check,
        )
        # Pages fetched ahead stop retrying once the fetcher stops.
        self.client.stopped = fetcher.stopped
        try:
            with counter:
                for page in fetcher.pages():
                    self.progress.update(self.paginator.emitted, self.paginator.count)
                    yield page
        finally:
            for warning in self.paginator.warnings:
                self.warn(warning)


def rows_of(
    pages: Generator[list[Row], None, Outcome],
) -> Generator[Row, None, Outcome]:
    """The rows of `pages`, one by one; returns what `pages` returns."""
    while True:
        try:
            page = next(pages)
        except StopIteration as end:
            outcome: Outcome = end.value
            return outcome
        yield from page
