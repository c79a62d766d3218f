"""ContactshipStream: the SDK's REST stream, with pages fetched ahead by `Fetcher`."""

from __future__ import annotations

import logging
import sys
import threading
import typing as t
from functools import cached_property

from singer_sdk import RESTStream, metrics
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import PageContext

from tap_contactship import interrupts, responses
from tap_contactship.errors import (
    APIError,
    FetchAbandonedError,
    MalformedResponseError,
    OffsetIgnoredError,
)
from tap_contactship.fetcher import Fetcher
from tap_contactship.output import BufferedSingerWriter
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
from tap_contactship.progress import Progress
from tap_contactship.responses import MalformedBodyError, Page, Verdict
from tap_contactship.retry import (
    NETWORK_ERRORS,
    SYSTEM_CLOCK,
    Throttle,
    backoff_step,
    call_with_retries,
    is_throttled,
    network_cause,
    throttle_pause,
)
from tap_contactship.settings import DEFAULT_USER_AGENT
from tap_contactship.timestamps import TimestampError, canonical

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context


class ContactshipStream(RESTStream[PageToken]):
    """A Contactship list endpoint read with limit/offset paging."""

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key: str | None = None
    #: Keep paging when the API reports no ``count`` (else one page is all): a
    #: documented total that goes missing must not cut the list after a page.
    follow_without_count = True
    #: The endpoint documents no paging, so ignoring ``offset`` is not an error.
    offset_may_be_ignored = False
    #: Records are parsed JSON already; `post_process` drops undeclared fields,
    #: which is all the SDK's per-record conforming would do for these schemas.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # `x-api-key` is not a header requests drops on a redirect to another host,
    # so redirects are refused rather than followed.
    allow_redirects = False
    #: Where retries and the throttle read the time and sleep.
    clock = SYSTEM_CLOCK

    def __init__(self, tap: Tap, *args: t.Any, **kwargs: t.Any) -> None:
        """Remember the tap, whose message writer holds ACTIVATE_VERSION back."""
        super().__init__(tap, *args, **kwargs)
        self._owner = tap

    @property
    @override
    def url_base(self) -> str:
        root = str(self.config["api_url"]).rstrip("/")
        # Accept the root with or without the version segment.
        return root if root.endswith("/v1") else root + "/v1"

    @cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        key = str(self.config["api_key"]).strip()
        return APIKeyAuthenticator(key="x-api-key", value=key, location="header")

    @cached_property
    @override
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or DEFAULT_USER_AGENT)

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override]
        # The SDK reads JSON config numbers as Decimal, which sockets reject.
        return float(self.config["request_timeout"])

    @property
    def page_size(self) -> int:
        """New rows wanted per request (the ``page_size`` setting)."""
        return int(self.config["page_size"])

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        session = super().requests_session
        # Proxy and CA settings are read from the environment once here; left to
        # requests they are looked up again for every single request.
        environment = session.merge_environment_settings(
            self.url_base, proxies={}, stream=None, verify=None, cert=None
        )
        session.trust_env = False
        session.proxies = environment["proxies"]
        session.verify = environment["verify"]
        return session

    @cached_property
    def throttle(self) -> Throttle:
        """Pages in flight and the shared pause after a 429."""
        return Throttle(int(self.config["max_concurrent_requests"]), self.clock)

    # Requests

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, t.Any]:
        if next_page_token is None:
            return {}
        offset, limit = next_page_token
        return {"limit": limit, "offset": offset, "order": "asc"}

    @override
    def get_new_paginator(self) -> OverlapOffsetPaginator:  # type: ignore[override]
        # Not an SDK paginator: it needs the parsed rows (see pagination.py).
        return OverlapOffsetPaginator(
            self.page_size, follow_without_count=self.follow_without_count
        )

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        # The one place this stream leaves the SDK's path: its loop sends one
        # request at a time and picks the next page from the raw response, while
        # fetching ahead and the overlap check need parsed pages. Each request is
        # still built by `get_http_request`, checked by `validate_response`,
        # parsed by `parse_response` and retried by `request_decorator`.
        paginator = self.get_new_paginator()
        progress = Progress(
            self.logger,
            self.name,
            float(self.config["progress_interval"]),
            self.clock.monotonic,
        )
        send = self.request_decorator(self._send)
        lock = threading.Lock()
        with self.get_http_request_counter() as counter:
            counter.with_context(context)

            def fetch(token: PageToken) -> Page:
                page = self._fetch_page(send, context, token, fetcher.stopped)
                with lock:
                    counter.increment()
                return page

            fetcher = Fetcher(
                paginator,
                fetch,
                max_in_flight=self.throttle.max_in_flight,
                limit=lambda: self.throttle.limit,
                name=self.name,
                check=interrupts.check,
            )
            complete = True
            try:
                for rows in fetcher.pages():
                    progress.update(paginator.emitted, paginator.count)
                    yield from rows
            except OffsetIgnoredError:
                if not self.offset_may_be_ignored:
                    raise
                complete = self.offset_ignored(paginator)
        for warning in paginator.warnings:
            self.logger.warning("%s: %s", self.name, warning)
        # Reached only after the SDK wrote the last record. Only a list read
        # completely may let a target retire the rows it did not contain.
        complete = complete and paginator.complete
        writer = self._owner.message_writer
        if isinstance(writer, BufferedSingerWriter):
            for stream_map in self.stream_maps:
                if complete:
                    writer.activate(stream_map.stream_alias)
                else:
                    writer.discard(stream_map.stream_alias)
        if self.emit_activate_version_messages and not complete:
            self.logger.warning(
                "%s: the list may be incomplete, so no ACTIVATE_VERSION is sent: "
                "no row is deleted in the warehouse this run",
                self.name,
            )

    def _fetch_page(
        self,
        send: Callable[..., Page],
        context: Context | None,
        token: PageToken,
        stopped: threading.Event,
    ) -> Page:
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=token)
        )
        request = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )
        try:
            return send(request, context, stopped)
        except (RetriableAPIError, *NETWORK_ERRORS) as exc:
            message = responses.gave_up_message(
                exc,
                attempts=self.backoff_max_tries(),
                api_url=str(self.config["api_url"]),
                request_line=responses.request_line(request),
            )
            raise APIError(message) from None

    def _send(
        self,
        request: requests.PreparedRequest,
        context: Context | None,
        stopped: threading.Event,
    ) -> Page:
        self.throttle.wait()
        if stopped.is_set():
            raise FetchAbandonedError
        response = self.requests_session.send(
            request, timeout=self.timeout, allow_redirects=self.allow_redirects
        )
        metrics.log(
            self.metrics_logger,
            metrics.Point(
                "timer",
                metric=metrics.Metric.HTTP_REQUEST_DURATION,
                value=response.elapsed.total_seconds(),
                tags={
                    metrics.Tag.STREAM: self.name,
                    metrics.Tag.ENDPOINT: self.path,
                    metrics.Tag.HTTP_STATUS_CODE: response.status_code,
                    metrics.Tag.STATUS: metrics.Status.SUCCEEDED
                    if response.ok
                    else metrics.Status.FAILED,
                },
            ),
        )
        self.validate_response(response)
        try:
            rows = self.parse_response(response)
        except MalformedBodyError as exc:
            message = responses.malformed_message(
                responses.request_line(request), str(exc)
            )
            raise MalformedResponseError(message, response) from None
        page = rows if isinstance(rows, Page) else Page(rows, None)
        self.update_sync_costs(request, response, context)
        self.throttle.succeeded()
        return page

    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> bool:  # noqa: ARG002
        """React to an endpoint ignoring ``offset``; the rows so far stand.

        Returns:
            Whether the rows read are nonetheless the whole list.
        """
        return False

    # Responses

    @override
    def parse_response(self, response: requests.Response) -> Page:
        """Read the ``{"data": [...], "count": N}`` envelope.

        Raises:
            MalformedBodyError: The body is not that envelope.
        """
        return responses.envelope_page(self.decode(response))

    def decode(self, response: requests.Response) -> t.Any:
        """The body as JSON.

        Raises:
            MalformedBodyError: It is not JSON.
        """
        return responses.decode_json(
            response.content, response.headers.get("Content-Type")
        )

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        verdict = responses.verdict(status, is_redirect=response.is_redirect)
        if verdict is Verdict.OK:
            return
        line = responses.request_line(response.request)
        if verdict is Verdict.RETRY:
            raise RetriableAPIError(self.response_error_message(response), response)
        if verdict is Verdict.REDIRECTED:
            location = response.headers.get("Location", "?")
            raise APIError(responses.redirect_message(line, status, location))
        if verdict is Verdict.KEY_REJECTED:
            raise APIError(responses.key_rejected_message(status, response.reason))
        raise APIError(self.response_error_message(response))

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return responses.failure_message(
            responses.request_line(response.request),
            response.status_code,
            response.reason,
            response.text,
        )

    # Retries

    @override
    def request_decorator(self, func: Callable[..., t.Any]) -> Callable[..., t.Any]:
        # The SDK's hooks, driven with this stream's clock (testable waits), and
        # without the `backoff` library's own log lines: `backoff_handler` says
        # it once, with the attempt count, and the final error is one line.
        def with_retries(
            request: requests.PreparedRequest,
            context: Context | None,
            stopped: threading.Event,
        ) -> t.Any:
            return call_with_retries(
                lambda: func(request, context, stopped),
                wait_generator=self.backoff_wait_generator,
                max_tries=self.backoff_max_tries(),
                jitter=self.backoff_jitter,
                on_backoff=self.backoff_handler,
                clock=self.clock,
                stop=stopped,
            )

        return with_retries

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"])

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        # A 429 waits in the throttle that every request passes (this one
        # included), so it costs no sleep here; see `backoff_handler`.
        failures = 0
        exception = yield  # type: ignore[misc]
        while True:
            if is_throttled(exception):
                wait = 0.0
            else:
                failures += 1
                wait = backoff_step(failures)
            exception = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # `backoff_step` is jittered already; Retry-After needs none

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exception = details["exception"]
        wait = float(details["wait"])
        if is_throttled(exception):
            wait = throttle_pause(exception, int(details["tries"]))
            self.throttle.throttled(wait)
        response = getattr(exception, "response", None)
        if response is not None:
            reason = f"{response.status_code} {response.reason}"
        else:
            reason = network_cause(exception)[0]
        self.logger.warning(
            "%s: request failed with %s (attempt %d of %d); retrying in %.1f s",
            self.name,
            reason,
            details["tries"],
            self.backoff_max_tries(),
            max(wait, self.throttle.remaining()),
        )

    # Records

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        if not self._declared.issuperset(row):
            row = self._declared_only(row)
        for name in self._timestamps:
            value = row.get(name)
            # One form for every instant: see timestamps.py.
            if isinstance(value, str):
                row[name] = self._canonical(name, value)
        return row

    def _declared_only(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        undeclared = sorted(row.keys() - self._declared)
        if undeclared != self._reported_undeclared:
            self._reported_undeclared = undeclared
            self.logger.warning(
                "%s: dropping fields the schema does not declare: %s",
                self.name,
                ", ".join(undeclared),
            )
        return {key: value for key, value in row.items() if key in self._declared}

    def _canonical(self, name: str, value: str) -> str:
        try:
            return canonical(value)
        except TimestampError:
            msg = (
                f"the API returned a `{self.name}.{name}` that is not an ISO 8601 "
                f"timestamp: {value[:40]!r}"
            )
            raise APIError(msg) from None

    @cached_property
    def _timestamps(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, spec in self.schema["properties"].items()
            if spec.get("format") == "date-time"
        )

    @override
    def generate_child_contexts(
        self, record: dict[str, t.Any], context: Context | None
    ) -> Iterable[Context | None]:
        # No Contactship stream has children; the default copies a context and
        # filters every record for them.
        return (
            super().generate_child_contexts(record, context)
            if self.child_streams
            else ()
        )

    @cached_property
    def _declared(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    _reported_undeclared: list[str] | None = None

    @override
    def log(
        self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any
    ) -> None:
        # The SDK's own ERROR lines ("An unhandled error occurred while syncing")
        # come before the CLI's one line, which says why: only for debugging.
        if level >= logging.ERROR:
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)
