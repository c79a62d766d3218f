"""Page requests: prepared from the stream's hooks, sent, retried, parsed.

`PageClient.pages(paginator)` reads a list: it hands `fetch(token)` to the
fetcher, which calls it from its worker threads, and counts the requests.
Every step goes through the stream's public SDK hooks: `get_http_request` and
`build_prepared_request` build the request (body and `payload_as_json`
included), `validate_response` and `parse_response` judge the answer,
`update_sync_costs` counts it, and the `backoff` library retries it with the
stream's `backoff_wait_generator`, `backoff_max_tries`, `backoff_jitter` and
`backoff_handler`. Waits go through the stream's clock (tests pass a fake one)
instead of the library's own sleep, and a 429 waits in the throttle that every
request of the stream passes.
"""

from __future__ import annotations

import threading
import typing as t

import backoff
import requests
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams.rest import PageContext

from tap_contactship import deadline, interrupts, responses
from tap_contactship.errors import (
    APIError,
    FetchAbandonedError,
    MalformedResponseError,
)
from tap_contactship.fetcher import Fetcher
from tap_contactship.progress import Progress
from tap_contactship.responses import MalformedBodyError, Page
from tap_contactship.retry import NETWORK_ERRORS, is_retriable

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

    from tap_contactship.client import ContactshipStream
    from tap_contactship.pagination import OverlapOffsetPaginator, PageToken


class PageClient:
    """Fetches the pages of one stream's list for one sync."""

    def __init__(
        self,
        stream: ContactshipStream,
        context: Context | None,
        stopped: threading.Event | None = None,
    ) -> None:
        """Fetch for `stream`; once `stopped` is set, nobody wants a page any more."""
        self.stream = stream
        self.context = context
        self.stopped = stopped or threading.Event()

    def pages(
        self, paginator: OverlapOffsetPaginator
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Page by page, the rows the paginator accepts; fetched ahead by a `Fetcher`.

        Requests are counted (the SDK's `http_request_count`) and progress is
        logged as the pages go by; a signal stops reading between pages.
        """
        stream = self.stream
        interval = float(stream.config["progress_interval"])
        progress = Progress(
            stream.logger, stream.name, interval, stream.clock.monotonic
        )
        lock = threading.Lock()
        with stream.get_http_request_counter() as counter:
            counter.with_context(self.context)

            def fetch(token: PageToken) -> Page:
                page = self.fetch(token)
                with lock:
                    counter.increment()
                return page

            fetcher = Fetcher(
                paginator,
                fetch,
                max_in_flight=stream.throttle.max_in_flight,
                limit=lambda: stream.throttle.limit,
                name=stream.name,
                check=interrupts.check,
            )
            self.stopped = fetcher.stopped
            try:
                for rows in fetcher.pages():
                    progress.update(paginator.emitted, paginator.count)
                    yield rows
            finally:
                for warning in paginator.warnings:
                    stream.logger.warning("%s: %s", stream.name, warning)

    def fetch(self, token: PageToken) -> Page:
        """The page at `token`, retried as the stream's backoff hooks say.

        Raises:
            APIError: The request failed for good (one line, naming the cause).
        """
        request = self.prepare(token)
        try:
            return self.with_retries(self.send)(request)
        except (RetriableAPIError, *NETWORK_ERRORS) as exc:
            message = responses.gave_up_message(
                exc,
                attempts=self.stream.backoff_max_tries(),
                api_url=str(self.stream.config["api_url"]),
                request_line=responses.request_line(request),
            )
            raise APIError(message) from None

    def prepare(self, token: PageToken) -> requests.PreparedRequest:
        """The request for the page at `token`, as the stream's hooks build it."""
        stream = self.stream
        http_request = stream.get_http_request(
            page=PageContext(stream_context=self.context, next_page_token=token)
        )
        body = "json" if stream.payload_as_json else "data"
        return stream.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
            **{body: http_request.data},
        )

    def send(self, request: requests.PreparedRequest) -> Page:
        """Send once and parse.

        Raises:
            FetchAbandonedError: Reading stopped; the page is not wanted.
            MalformedResponseError: A 200 whose body is not the envelope.
        """
        stream = self.stream
        stream.throttle.wait()
        if self.stopped.is_set():
            raise FetchAbandonedError
        # Config numbers arrive as Decimal, which sockets refuse.
        response = deadline.send(
            stream.requests_session,
            request,
            timeout=float(stream.config["request_timeout"]),
            allow_redirects=stream.allow_redirects,
        )
        self.log_duration(response)
        stream.validate_response(response)
        try:
            rows = stream.parse_response(response)
        except MalformedBodyError as exc:
            line = responses.request_line(request)
            raise MalformedResponseError(
                responses.malformed_message(line, str(exc)), response
            ) from None
        page = rows if isinstance(rows, Page) else Page(rows, None)
        stream.update_sync_costs(request, response, self.context)
        stream.throttle.succeeded()
        return page

    def with_retries(
        self, send: t.Callable[[requests.PreparedRequest], Page]
    ) -> t.Callable[[requests.PreparedRequest], Page]:
        """`send`, retried by the `backoff` library on the stream's hooks.

        The library would sleep itself; the wait it is given is zero and the
        stream's clock sleeps the real one, so tests need no sleeping. Made per
        request: the wait in between belongs to that request alone.
        """
        stream = self.stream
        wait = 0.0

        def jitter(value: float) -> float:
            nonlocal wait
            wait = stream.backoff_jitter(value)
            return 0.0

        def on_backoff(details: t.Any) -> None:
            stream.backoff_handler({**details, "wait": wait})
            if wait > 0:
                stream.clock.sleep(wait)

        return backoff.on_exception(
            stream.backoff_wait_generator,
            (RetriableAPIError, *NETWORK_ERRORS),
            max_tries=stream.backoff_max_tries,
            giveup=lambda exc: self.stopped.is_set() or not is_retriable(exc),
            jitter=jitter,
            on_backoff=on_backoff,
            # `backoff_handler` says it once, with the attempt count.
            logger=None,
        )(send)

    def log_duration(self, response: requests.Response) -> None:
        """The SDK's `http_request_duration` metric, unless the stream turns it off."""
        stream = self.stream
        if not stream.log_request_metrics:
            return
        tags: dict[str, t.Any] = {
            metrics.Tag.STREAM: stream.name,
            metrics.Tag.ENDPOINT: stream.path,
            metrics.Tag.HTTP_STATUS_CODE: response.status_code,
            metrics.Tag.STATUS: metrics.Status.SUCCEEDED
            if response.ok
            else metrics.Status.FAILED,
        }
        if self.context:
            tags[metrics.Tag.CONTEXT] = self.context
        metrics.log(
            stream.metrics_logger,
            metrics.Point(
                "timer",
                metric=metrics.Metric.HTTP_REQUEST_DURATION,
                value=response.elapsed.total_seconds(),
                tags=tags,
            ),
        )
