"""One page request: built, sent, judged, retried. Built from plain values.

`PageClient.fetch(token)` is what the fetcher calls from its worker threads.
The client never sees the stream: it gets how to build a request
(`Requests`, made once per list read from the stream's `get_http_request` and
`build_prepared_request`), the session, how long a response may take, the
retry policy (`RetryPolicy`, the stream's `backoff_*` hooks read once), the
throttle every request of the list passes, the clock that sleeps, and
`judge(response) -> Page`, which checks and parses an answer (the stream's
`validate_response` and `parse_response`).

The retry loop is plain: the wait generator is driven as the `backoff`
library drives it (primed with `next`, then sent each failure), the jitter
applied to its value, and the result slept on the client's clock, so tests
need no sleeping and read the waits off a fake clock.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
from dataclasses import dataclass

import requests
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError

from tap_contactship import deadline, responses
from tap_contactship.errors import (
    APIError,
    FetchAbandonedError,
    MalformedResponseError,
)
from tap_contactship.responses import MalformedBodyError, Page
from tap_contactship.retry import NETWORK_ERRORS, Clock, is_retriable, status_of

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Generator

    from singer_sdk.streams.rest import HTTPRequest

    from tap_contactship.pagination import PageToken
    from tap_contactship.throttle import Throttle

#: What a retry is tried for: an answer worth asking again, or the network.
RETRIED = (RetriableAPIError, *NETWORK_ERRORS)


def page_params(token: PageToken) -> dict[str, t.Any]:
    """The query parameters that read the page at `token`."""
    offset, limit = token
    return {"limit": limit, "offset": offset, "order": "asc"}


@dataclass(frozen=True)
class Requests:
    """The requests of one list: one built request, with each page's query.

    `http` is the stream's request without paging (`get_http_request` with no
    token) and `template` that request prepared and authenticated once
    (`build_prepared_request`); a page's request is a copy with its query.
    """

    http: HTTPRequest
    template: requests.PreparedRequest

    def at(self, token: PageToken) -> requests.PreparedRequest:
        """The request for the page at `token`."""
        query = {**page_params(token), **self.http.params}
        request = self.template.copy()
        request.prepare_url(
            self.http.url, dataclasses.replace(self.http, params=query).encode_params()
        )
        return request


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry, as the stream's `backoff_*` hooks say."""

    #: The wait generator (`backoff_wait_generator`): primed, then sent each failure.
    waits: Callable[[], Generator[float, t.Any, None]]
    max_tries: int
    jitter: Callable[[float], float]
    #: Told each retry, as `backoff_handler` is: `exception`, `tries`, `wait`.
    noted: Callable[[dict[str, t.Any]], None]


@dataclass(eq=False)
class PageClient:
    """Fetches one page at a time for one list read, from plain values."""

    build: Requests
    session: requests.Session
    #: Seconds for a whole response; whether to follow a redirect.
    timeout: float
    allow_redirects: bool
    retries: RetryPolicy
    throttle: Throttle
    clock: Clock
    judge: Callable[[requests.Response], Page]
    #: Named in the line of a request that failed for good.
    api_url: str
    #: Set once nobody wants a page any more (the fetcher's `stopped`).
    stopped: threading.Event = dataclasses.field(default_factory=threading.Event)

    def fetch(self, token: PageToken) -> Page:
        """The page at `token`, retried as the policy says.

        Raises:
            APIError: The request failed for good (one line, naming the cause).
        """
        request = self.build.at(token)
        try:
            return self.with_retries(self.send, request)
        except RETRIED as exc:
            message = responses.gave_up_message(
                exc,
                attempts=self.retries.max_tries,
                api_url=self.api_url,
                request_line=responses.request_line(request),
            )
            raise APIError.of(message, status_of(exc)) from None

    def with_retries(
        self,
        send: Callable[[requests.PreparedRequest], Page],
        request: requests.PreparedRequest,
    ) -> Page:
        """`send(request)`, tried again after each wait the policy chooses.

        Raises:
            RetriableAPIError: The last failure, once the tries are spent (or a
                network failure that waiting cannot fix, or reading stopped).
        """
        policy = self.retries
        waits = policy.waits()
        next(waits)
        tries = 0
        while True:
            tries += 1
            try:
                return send(request)
            except RETRIED as exc:
                if tries >= policy.max_tries or self.stopped.is_set():
                    raise
                if not is_retriable(exc):
                    raise
                try:
                    wait = policy.jitter(waits.send(exc))
                except StopIteration:  # the generator has no more waits
                    raise exc from None
                policy.noted({"exception": exc, "tries": tries, "wait": wait})
                if wait > 0:
                    self.clock.sleep(wait)

    def send(self, request: requests.PreparedRequest) -> Page:
        """Send once and judge the answer.

        Raises:
            FetchAbandonedError: Reading stopped; the page is not wanted.
            MalformedResponseError: A 200 whose body is not the envelope.
        """
        self.throttle.wait()
        if self.stopped.is_set():
            raise FetchAbandonedError
        response = deadline.send(
            self.session,
            request,
            timeout=self.timeout,
            allow_redirects=self.allow_redirects,
        )
        try:
            page = self.judge(response)
        except MalformedBodyError as exc:
            line = responses.request_line(request)
            raise MalformedResponseError(
                responses.malformed_message(line, str(exc)), response
            ) from None
        self.throttle.succeeded()
        return page


def duration(
    logger: logging.Logger,
    stream: str,
    endpoint: str | None,
    context: t.Mapping[str, t.Any] | None,
    response: requests.Response,
) -> None:
    """Log the SDK's `http_request_duration` metric for one response."""
    ok = metrics.Status.SUCCEEDED if response.ok else metrics.Status.FAILED
    tags: dict[str, t.Any] = {
        metrics.Tag.STREAM: stream,
        metrics.Tag.ENDPOINT: endpoint,
        metrics.Tag.HTTP_STATUS_CODE: response.status_code,
        metrics.Tag.STATUS: ok,
    }
    if context:
        tags[metrics.Tag.CONTEXT] = context
    point = metrics.Point(
        "timer",
        metric=metrics.Metric.HTTP_REQUEST_DURATION,
        value=response.elapsed.total_seconds(),
        tags=tags,
    )
    metrics.log(logger, point)
