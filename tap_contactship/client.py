"""ContactshipStream: the SDK's REST stream; a list is read by a `ListRead`."""

from __future__ import annotations

import logging
import sys
import typing as t
from functools import cached_property

from singer_sdk import RESTStream
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import Metadata, StateMessage
from singer_sdk.streams.rest import PageContext

from tap_contactship import batches, responses
from tap_contactship.calls_window import Interrupted
from tap_contactship.errors import APIError, SyncInterruptedError
from tap_contactship.fields import Fields
from tap_contactship.output import WholeListVersion
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.progress import Progress
from tap_contactship.reader import Everything, ListRead, Outcome, Selection, rows_of
from tap_contactship.reads import READ_VERSION, WholeReads, read_version
from tap_contactship.responses import Page, Verdict
from tap_contactship.retry import (
    SYSTEM_CLOCK,
    backoff_wait,
    is_throttled,
    retry_note,
    throttle_pause,
)
from tap_contactship.throttle import Throttle
from tap_contactship.transport import (
    PageClient,
    Requests,
    RetryPolicy,
    duration,
    page_params,
)

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import MetadataMapping

Row = dict[str, t.Any]


class ContactshipStream(RESTStream[PageToken]):
    """A Contactship list endpoint read with limit/offset paging."""

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key: str | None = None
    #: Keep paging when the API reports no ``count`` (else one page is all).
    follow_without_count = True
    #: `post_process` drops undeclared fields (see fields.py), which is all that
    #: root-level conformance does to JSON values; the SDK's pass costs a
    #: function call per field.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # `x-api-key` is not a header requests drops on a redirect to another host.
    allow_redirects = False
    #: Log the SDK's `http_request_duration` metric for every request.
    log_request_metrics = True
    #: Where retries and the throttle read the time and sleep.
    clock = SYSTEM_CLOCK
    #: `date-time` fields that the selection has rewritten in the canonical form.
    canonical_fields: t.ClassVar[tuple[str, ...]] = ()
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
        self._owner = tap
        self.reads = reads if reads is not None else WholeReads()
        self.batch_rows = batch_rows or (lambda _url, _rows: None)

    @cached_property
    def read_version(self) -> int | None:
        """The version every row carries, for a stream that declares one."""
        if READ_VERSION not in self.schema.get("properties", {}):
            return None
        return read_version(self._owner)

    @property
    @override
    def metadata(self) -> MetadataMapping:
        metadata = super().metadata
        # Never deselected: without it the warehouse cannot tell current rows
        # from deleted ones.
        entry = metadata.get(("properties", READ_VERSION))
        if entry is not None:
            entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return metadata

    @property
    @override
    def url_base(self) -> str:
        root = str(self.config["api_url"]).rstrip("/")
        return root if root.endswith("/v1") else root + "/v1"

    @cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        key = str(self.config["api_key"]).strip()
        return APIKeyAuthenticator(key="x-api-key", value=key, location="header")

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        session = super().requests_session
        # Proxy and CA settings read once, not looked up again for every request.
        found = session.merge_environment_settings(self.url_base, {}, None, None, None)
        session.trust_env = False
        session.proxies, session.verify = found["proxies"], found["verify"]
        return session

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
            self.withheld(
                "the list may be incomplete, so no ACTIVATE_VERSION is sent: no "
                "row is deleted in the warehouse this run"
            )
        elif self.emit_activate_version_messages and self.read_version is not None:
            for stream_map in self.stream_maps:
                if not isinstance(stream_map, RemoveRecordTransform):
                    alias = stream_map.stream_alias
                    message = WholeListVersion(alias, self.read_version)
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
        self.withheld(
            "emit_activate_version_messages does not apply in BATCH mode (batch "
            "files carry no table version, so a target would delete the rows it "
            "just loaded); deletions reach the dbt models through `whole_reads` "
            "instead"
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

    @cached_property
    def throttle(self) -> Throttle:
        """Pages in flight and the shared pause after a 429."""
        return Throttle(int(self.config["max_concurrent_requests"]), self.clock)

    def judge(self, response: requests.Response, context: Context | None) -> Page:
        """Check and parse one answer; count it as the SDK does."""
        if self.log_request_metrics:
            duration(self.metrics_logger, self.name, self.path, context, response)
        self.validate_response(response)
        rows = self.parse_response(response)
        self.update_sync_costs(response.request, response, context)
        return rows if isinstance(rows, Page) else Page(rows, None)

    @override
    def parse_response(self, response: requests.Response) -> Page:
        return responses.envelope_page(responses.body(response))

    @override
    def validate_response(self, response: requests.Response) -> None:
        status, redirected = response.status_code, response.is_redirect
        verdict = responses.verdict(status, is_redirect=redirected)
        if verdict is Verdict.RETRY:
            raise RetriableAPIError(self.response_error_message(response), response)
        if verdict is not Verdict.OK:
            raise APIError(responses.describe_failure(verdict, response))

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return responses.describe_failure(Verdict.FAIL, response)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"])

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        return backoff_wait()

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # `backoff_wait` is jittered already; Retry-After needs none

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exception, tries = details["exception"], int(details["tries"])
        wait = float(details["wait"])
        if is_throttled(exception):  # every request of the stream holds
            wait = throttle_pause(exception, tries)
            self.throttle.throttled(wait)
        wait = max(wait, self.throttle.remaining())
        note = retry_note(exception, tries, self.backoff_max_tries(), wait)
        self.logger.warning("%s: %s", self.name, note)

    @override
    def post_process(self, row: Row, context: Context | None = None) -> Row | None:
        return self.fields.shape(row, self.read_version)

    @cached_property
    def fields(self) -> Fields:
        """Which fields a record keeps, from the catalog's schema and selection."""
        return Fields(
            self.name,
            self.effective_schema,
            self.mask,
            self.logger,
            canonical=self.canonical_fields,
        )

    @override
    def log(
        self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any
    ) -> None:
        # The SDK's ERROR lines here ("An unhandled error occurred while
        # syncing") would come before the CLI's one line saying why.
        if level >= logging.ERROR:
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)
