"""ContactshipStream: the SDK's REST stream; a list is read by a `ListRead`.

What connects, judges an answer and retries is in its base (hooks.py).
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk.singerlib import StateMessage
from singer_sdk.streams.rest import PageContext

from tap_contactship import batches
from tap_contactship.calls_window import Interrupted
from tap_contactship.errors import SyncInterruptedError
from tap_contactship.hooks import ContactshipHooks
from tap_contactship.output import whole_list_versions
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.progress import Progress
from tap_contactship.reader import Everything, ListRead, Outcome, Selection, rows_of
from tap_contactship.reads import WholeReads
from tap_contactship.transport import (
    PageClient,
    Requests,
    RetryPolicy,
    page_params,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

Row = dict[str, t.Any]

#: Why no ACTIVATE_VERSION follows a list, when one was asked for.
INCOMPLETE = (
    "the list may be incomplete, so no ACTIVATE_VERSION is sent: no row is deleted "
    "in the warehouse this run"
)
BATCH_MODE = (
    "emit_activate_version_messages does not apply in BATCH mode (batch files carry "
    "no table version, so a target would delete the rows it just loaded); "
    "deletions reach the dbt models through `whole_reads` instead"
)


class ContactshipStream(ContactshipHooks):
    """A Contactship list endpoint read with limit/offset paging."""

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key: str | None = None
    #: Keep paging when the API reports no ``count`` (else one page is all).
    follow_without_count = True
    #: The endpoint documents no paging, so ignoring ``offset`` is not an error.
    offset_may_be_ignored = False

    def __init__(
        self,
        tap: Tap,
        *args: t.Any,
        reads: WholeReads | None = None,
        batch_rows: Callable[[str, int], None] | None = None,
        interrupted: Interrupted | None = None,
        **kwargs: t.Any,
    ) -> None:
        """`reads` collects whole lists; `batch_rows(url, rows)` hears of each file.

        `interrupted`: the streams whose input state is an interrupted run's.
        """
        super().__init__(tap, *args, **kwargs)
        self.interrupted = interrupted or Interrupted()
        self.reads = reads if reads is not None else WholeReads()
        self.batch_rows = batch_rows or (lambda _url, _rows: None)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, t.Any]:
        # A list read asks once, without a token, and adds each page's
        # parameters itself (`Requests.at`).
        return {} if next_page_token is None else page_params(next_page_token)

    def selection(self, context: Context | None) -> Selection:  # noqa: ARG002
        """Which rows of the list this run emits (a new object per list read)."""
        return Everything()

    def read_list(self, context: Context | None) -> ListRead:
        """One read of the list, built from this stream's hooks, called once here.

        Pages come from a `ListRead`, not the SDK's request loop: that loop sends
        one request at a time and picks the next page from the raw response,
        while fetching ahead and the overlap check need parsed pages.
        """
        selection = self.selection(context)
        http = self.get_http_request(page=PageContext(context, next_page_token=None))
        http.params = {**http.params, **selection.params()}
        body = "json" if self.payload_as_json else "data"
        template = self.build_prepared_request(
            method=http.method, url=http.url, headers=http.headers, **{body: http.data}
        )
        retries = RetryPolicy(
            self.backoff_wait_generator,
            self.backoff_max_tries(),
            self.backoff_jitter,
            self.backoff_handler,
        )
        client = PageClient(
            Requests(http, template),
            self.requests_session,
            # Config numbers arrive as Decimal, which sockets refuse.
            timeout=float(self.config["request_timeout"]),
            allow_redirects=self.allow_redirects,
            retries=retries,
            throttle=self.throttle,
            clock=self.clock,
            judge=lambda response: self.judge(response, context),
            api_url=str(self.config["api_url"]),
        )
        counter = self.get_http_request_counter()
        counter.with_context(context)
        interval = float(self.config["progress_interval"])
        return ListRead(
            self.name,
            OverlapOffsetPaginator(
                int(self.config["page_size"]),
                follow_without_count=self.follow_without_count,
            ),
            client,
            selection,
            counter,
            Progress(self.logger, self.name, interval, self.clock.monotonic),
            warn=lambda line: self.logger.warning("%s: %s", self.name, line),
            offset_ignored=self.offset_ignored if self.offset_may_be_ignored else None,
        )

    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> bool:  # noqa: ARG002
        """Whether the rows read are the whole list although `offset` is ignored."""
        return False

    @override
    def request_records(self, context: Context | None) -> Iterable[Row]:
        try:
            outcome = yield from rows_of(self.read_list(context).pages())
        except SyncInterruptedError:
            # Between pages: every record handed over is in the state, which a
            # STATE says now, so the next run resumes right here.
            self._owner.write_message(StateMessage(value=self._owner.state))
            raise
        # Reached after the SDK wrote the last record: only a list read whole
        # lets a target retire the rows it did not contain.
        if not outcome.complete:
            self.withheld(INCOMPLETE)
        elif self.emit_activate_version_messages and self.read_version is not None:
            for message in whole_list_versions(self.stream_maps, self.read_version):
                self._owner.write_message(message)
        self.list_ended(outcome)

    def list_ended(self, outcome: Outcome) -> None:
        """A list read whole goes into `whole_reads`."""
        if outcome.complete and self.read_version is not None:
            self.reads.finished(self.name, self.read_version, outcome.rows)

    def withheld(self, why: str) -> None:
        """Say why no ACTIVATE_VERSION follows, if one was asked for."""
        if self.emit_activate_version_messages:
            self.logger.warning("%s: %s", self.name, why)

    @override
    def get_batches(
        # `Any`: the SDK's BatchConfig and encoding classes live in a private
        # module; what is used of them is `batches.BatchConfig`.
        self,
        batch_config: t.Any,
        context: Context | None = None,
    ) -> Iterator[tuple[t.Any, list[str]]]:
        """Write the pages to JSONL batch files (see batches.py)."""
        self.withheld(BATCH_MODE)
        # The SDK marks a sync in progress in its record loop only; an
        # interrupted BATCH sync must be told apart from a finished one as well,
        # or the next run reads the whole look-back again (calls_window.py).
        self.state_manager.write_starting_replication_value(
            context,
            self.replication_method,
            self.replication_key,
            dict(self.config),
            self.compare_start_date,
        )
        files = batches.BatchFiles(batch_config, f"{self.tap_name}--{self.name}")
        # The tap refuses BATCH mode with more than one map per stream.
        mapped = batches.MappedRows(self.stream_maps[0], self.post_process, context)
        outcome = yield from batches.batch_files(
            self.read_list(context).pages(),
            files,
            mapped,
            batch_config.encoding,
            noted=self.batch_rows,
            bookmark=lambda row: self.bookmark(row, context),
        )
        self.list_ended(outcome)

    def bookmark(self, row: Row, context: Context | None) -> None:
        """Move the bookmark to `row`, the last of a batch file (rows are sorted)."""
        if self.replication_key and self.replication_method == "INCREMENTAL":
            self.state_manager.increment_state(
                row, context=context, replication_key=self.replication_key
            )
