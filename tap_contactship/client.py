"""ContactshipStream: the SDK's REST stream; pages come from `Fetcher`."""

from __future__ import annotations

import logging
import sys
import typing as t
from functools import cached_property

from singer_sdk import RESTStream
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import Metadata

from tap_contactship import responses
from tap_contactship.batches import BatchFiles, MappedRows
from tap_contactship.errors import APIError, OffsetIgnoredError
from tap_contactship.fields import Fields
from tap_contactship.output import end_version, note_batch_rows, withhold_version
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.reads import READ_VERSION, WholeReads, read_version
from tap_contactship.responses import Page, Verdict, api_timestamp
from tap_contactship.retry import (
    SYSTEM_CLOCK,
    backoff_wait,
    is_throttled,
    retry_note,
    throttle_pause,
)
from tap_contactship.throttle import Throttle
from tap_contactship.transport import PageClient

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import MetadataMapping


class Listing:
    """The pages of one list; once they are iterated, whether the list was whole."""

    def __init__(self, pages: Generator[list[dict[str, t.Any]], None, bool]) -> None:
        """Wrap what `ContactshipStream.read_pages` returns."""
        self.pages = pages
        self.complete = False

    def __iter__(self) -> Iterator[list[dict[str, t.Any]]]:
        """Each page; at the end, `complete` holds the generator's answer."""
        self.complete = yield from self.pages


class ContactshipStream(RESTStream[PageToken]):
    """A Contactship list endpoint read with limit/offset paging."""

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key: str | None = None
    #: Keep paging when the API reports no ``count`` (else one page is all).
    follow_without_count = True
    #: The endpoint documents no paging, so ignoring ``offset`` is not an error.
    offset_may_be_ignored = False
    #: `post_process` drops undeclared top-level fields (one warning), which is
    #: all that root-level conformance does to JSON values: they are never
    #: datetimes, bytes or NaN, and objects are free-form, so nothing nested
    #: needs walking. The SDK's pass costs a function call per field.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # `x-api-key` is not a header requests drops on a redirect to another host.
    allow_redirects = False
    #: Log the SDK's `http_request_duration` metric for every request.
    log_request_metrics = True
    #: Where retries and the throttle read the time and sleep.
    clock = SYSTEM_CLOCK
    #: `date-time` fields that `select` has rewritten in the canonical form.
    canonical_fields: t.ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, tap: Tap, *args: t.Any, reads: WholeReads | None = None, **kwargs: t.Any
    ) -> None:
        """Remember the tap, whose writer holds this stream's ACTIVATE_VERSION.

        `reads`: where a full-table stream says it read its list whole.
        """
        super().__init__(tap, *args, **kwargs)
        self._owner = tap
        self.reads = reads if reads is not None else WholeReads()

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

    @cached_property
    def throttle(self) -> Throttle:
        """Pages in flight and the shared pause after a 429."""
        return Throttle(int(self.config["max_concurrent_requests"]), self.clock)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, t.Any]:
        if next_page_token is None:
            return {}
        offset, limit = next_page_token
        return {"limit": limit, "offset": offset, "order": "asc"}

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        listing = Listing(self.read_pages(context))
        rows = 0
        for page in listing:
            rows += len(page)
            yield from page
        # Reached after the SDK wrote the last record: only a list read whole
        # lets a target retire the rows it did not contain.
        end_version(self, self._owner.message_writer, complete=listing.complete)
        self.finished_list(complete=listing.complete, rows=rows)

    def finished_list(self, *, complete: bool, rows: int) -> None:
        """The list ended after `rows` rows; a whole one goes into `whole_reads`."""
        if complete and self.read_version is not None:
            self.reads.finished(self.name, self.read_version, rows)

    def read_pages(
        self, context: Context | None
    ) -> Generator[list[dict[str, t.Any]], None, bool]:
        """The list, page by page, as `select` keeps it; returns whether it is whole.

        Pages come from the page client, not the SDK's request loop: that loop
        sends one request at a time and picks the next page from the raw
        response, while fetching ahead and the overlap check need parsed pages
        (see transport.py).
        """
        paginator = OverlapOffsetPaginator(
            int(self.config["page_size"]),
            follow_without_count=self.follow_without_count,
        )
        complete = True
        try:
            for page in PageClient(self, context).pages(paginator):
                yield self.select(page)
        except OffsetIgnoredError:
            if not self.offset_may_be_ignored:
                raise
            complete = self.offset_ignored(paginator)
        return complete and paginator.complete

    def select(self, rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The rows of one page that this run emits, before `post_process`."""
        return rows

    @override
    def get_batches(
        # `Any`: the SDK's BatchConfig and encoding classes live in a private
        # module; what is used of them is `batches.BatchConfig`.
        self,
        batch_config: t.Any,
        context: Context | None = None,
    ) -> Iterator[tuple[t.Any, list[str]]]:
        """Write the pages to JSONL batch files; each file once it is whole.

        The rows are the record path's (`select`, then `post_process`) without
        the SDK's per-record loop. After each file the bookmark moves to its
        last row, and the SDK writes the BATCH message and then a STATE, so an
        interrupted sync resumes after the last file announced. A file that
        fails halfway is removed, never announced.
        """
        # Batch rows carry no table version (targets take it from RECORD
        # messages only): target-postgres would delete them all on the next
        # ACTIVATE_VERSION, as rows of an older version.
        withhold_version(
            self,
            self._owner.message_writer,
            "emit_activate_version_messages does not apply in BATCH mode (batch "
            "files carry no table version, so a target would delete the rows it "
            "just loaded); deletions reach the dbt models through `whole_reads` "
            "instead",
        )
        files = BatchFiles(batch_config, f"{self.tap_name}--{self.name}")
        writer = self._owner.message_writer
        # The SDK applies stream maps and flattening in its record loop, which
        # BATCH mode skips: applied here, a batch row is the RECORD's record.
        # The tap refuses BATCH mode with more than one map per stream (every
        # map's BATCH message would name the same files).
        mapped = MappedRows(self.stream_maps[0], self.post_process, context)
        listing = Listing(self.read_pages(context))
        read = 0  # as in RECORD mode: the list's rows, before the map
        try:
            for page in listing:
                read += len(page)
                rows, sources = mapped.of(page)
                for url, source in files.write(rows, sources):
                    self.bookmark(source, context)
                    note_batch_rows(writer, url, files.sizes[url])
                    yield batch_config.encoding, [url]
            for url, source in files.finish():
                self.bookmark(source, context)
                note_batch_rows(writer, url, files.sizes[url])
                yield batch_config.encoding, [url]
        except BaseException:
            files.abandon()
            raise
        if mapped.last is not None:
            # Rows a map filtered out after the last file: the final STATE
            # (the tap's, at the end of the sync) covers them, as in RECORD mode.
            self.bookmark(mapped.last, context)
        self.finished_list(complete=listing.complete, rows=read)

    def bookmark(self, row: dict[str, t.Any], context: Context | None) -> None:
        """Move the bookmark to `row`, the last of a batch file (rows are sorted)."""
        if self.replication_key and self.replication_method == "INCREMENTAL":
            self.state_manager.increment_state(
                row, context=context, replication_key=self.replication_key
            )

    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> bool:  # noqa: ARG002
        """Whether the rows read are the whole list although `offset` is ignored."""
        return False

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
            raise APIError.of(responses.describe_failure(verdict, response), status)

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
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        # The SDK's conformance is off (see TYPE_CONFORMANCE_LEVEL): the fields
        # a record may carry are checked here, in the pass that rewrites its
        # timestamps, with a set comparison in C for the usual clean row.
        fields = self.fields
        if not row.keys() <= fields.kept:
            row = fields.only_kept(row)
        for name in fields.timestamps:
            value = row.get(name)
            if isinstance(value, str):  # one form for every instant
                row[name] = api_timestamp(value, f"{self.name}.{name}", row.get("id"))
        if self.read_version is not None:
            row[READ_VERSION] = self.read_version
        return row

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
