"""The base stream every Contactship endpoint shares: requests, paging, retries."""

from __future__ import annotations

import email.utils
import json
import random
import sys
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlparse

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_contactship import __version__
from tap_contactship.errors import APIError, redact
from tap_contactship.pagination import (
    OffsetIgnoredError,
    OverlapOffsetPaginator,
    Page,
    PageToken,
)
from tap_contactship.progress import Progress
from tap_contactship.throttle import Throttle

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from backoff.types import Details
    from singer_sdk.helpers.types import Context

#: Longest wait a ``Retry-After`` header can impose, in seconds.
MAX_RETRY_AFTER = 300.0
#: Exponential backoff: 0.25 s, 1 s, 4 s, 16 s, 60 s (before jitter). A blip
#: costs a quarter second; five attempts still span about twenty seconds.
BACKOFF_BASE = 0.25
BACKOFF_FACTOR = 4.0
#: Longest exponential backoff step, in seconds.
MAX_BACKOFF = 60.0
#: How much of an error body to quote in a message.
ERROR_BODY_CHARS = 300

_RETRIABLE_NETWORK_ERRORS = (
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class MalformedResponseError(RetriableAPIError):
    """A 200 whose body is not the expected JSON envelope (retried, then fatal)."""


class Abandoned(Exception):
    """A page fetched ahead is no longer wanted: the sync stopped."""


class ContactshipStream(RESTStream[PageToken]):
    """A Contactship list endpoint read with limit/offset paging."""

    #: Keep paging when the API reports no ``count`` (else one page is all): a
    #: documented total that goes missing must not cut the list after a page.
    follow_without_count = True
    #: The endpoint documents no paging, so ignoring ``offset`` is not an error.
    offset_may_be_ignored = False
    #: Records are parsed JSON already; `post_process` drops undeclared fields,
    #: which is all the SDK's per-record conforming would do for these schemas.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    _stopping = False
    # `x-api-key` is not a header requests drops on a redirect to another host,
    # so redirects are refused rather than followed.
    allow_redirects = False

    @property
    @override
    def url_base(self) -> str:
        root = str(self.config["api_url"]).rstrip("/")
        # Accept the root with or without the version segment.
        return root if root.endswith("/v1") else root + "/v1"

    @cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(
            key="x-api-key", value=self.config["api_key"], location="header"
        )

    @cached_property
    @override
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or f"tap-contactship/{__version__}")

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
        session = requests.Session()
        # Proxy and CA settings are read from the environment once here; left to
        # requests they are looked up again for every single request.
        environment = session.merge_environment_settings(
            self.url_base, proxies={}, stream=None, verify=None, cert=None
        )
        session.trust_env = False
        session.proxies = environment["proxies"]
        session.verify = environment["verify"]
        return session

    # Requests

    def url_params(self, context: Context | None) -> dict[str, t.Any]:  # noqa: ARG002
        """Query parameters that do not depend on the page (filters, options)."""
        return {}

    @override
    def get_http_request(self, *, page: PageContext[PageToken]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.params = self.url_params(page.stream_context)
        if page.next_page_token is not None:
            offset, limit = page.next_page_token
            request.params.update(limit=limit, offset=offset, order="asc")
        return request

    def build_page_request(
        self, context: Context | None, token: PageToken | None
    ) -> requests.PreparedRequest:
        """Prepare the authenticated request for one page."""
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=token)
        )
        return self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )

    def send_page_request(self, request: requests.PreparedRequest) -> Page:
        """Send one request and return its parsed page; no retries here."""
        self.throttle.wait()
        if self._stopping:
            raise Abandoned
        response = self.requests_session.send(
            request, timeout=self.timeout, allow_redirects=self.allow_redirects
        )
        self.validate_response(response)
        page = self.parse_page(response)
        self.throttle.succeeded()
        return page

    def fetch_page(self, context: Context | None, token: PageToken | None) -> Page:
        """Fetch one page, retrying what is worth retrying.

        Raises:
            APIError: The request failed for good; the message is one line.
        """
        request = self.build_page_request(context, token)
        try:
            return self._send_with_retries(request)
        except MalformedResponseError as exc:
            raise APIError(
                self._redact(f"{exc} (after {self.backoff_max_tries()} attempts)")
            ) from None
        except RetriableAPIError as exc:
            raise APIError(
                self._redact(
                    f"giving up after {self.backoff_max_tries()} attempts: {exc}"
                )
            ) from None
        except _RETRIABLE_NETWORK_ERRORS as exc:
            reason = type(exc).__name__
            raise APIError(
                f"could not get a response from {self.config['api_url']} "
                f"({reason} on GET {self._path_of(request)}) after "
                f"{self.backoff_max_tries()} attempts; check `api_url`, the network "
                "and `request_timeout`"
            ) from None

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        paginator = OverlapOffsetPaginator(
            self.page_size, follow_without_count=self.follow_without_count
        )
        progress = Progress(
            self.logger, self.name, float(self.config["progress_interval"])
        )
        pool = ThreadPoolExecutor(self.throttle.max_in_flight, self.name)
        in_flight: dict[PageToken, Future[Page]] = {}
        self._stopping = False
        try:
            while not paginator.finished:
                self._fetch_ahead(paginator, in_flight, pool, context)
                token = paginator.token
                rows = paginator.accept(token, in_flight.pop(token).result())
                # Refill before the SDK spends time on these rows.
                self._fetch_ahead(paginator, in_flight, pool, context)
                progress.update(paginator.emitted, paginator.count)
                yield from rows
        except OffsetIgnoredError:
            if not self.offset_may_be_ignored:
                raise
            self.offset_ignored(paginator)
        finally:
            # Pages still being fetched ahead are abandoned, not waited for.
            self._stopping = True
            pool.shutdown(wait=False, cancel_futures=True)
        for warning in paginator.warnings:
            self.logger.warning("%s: %s", self.name, warning)

    def _fetch_ahead(
        self,
        paginator: OverlapOffsetPaginator,
        in_flight: dict[PageToken, Future[Page]],
        pool: ThreadPoolExecutor,
        context: Context | None,
    ) -> None:
        # Once the total is known, the next pages are fetched ahead; a page is
        # only ever accepted if it is still the one the paginator expects.
        if paginator.finished:
            return
        known = paginator.count is not None
        plan = paginator.planned(self.throttle.max_in_flight if known else 1)
        # Pages off the plan (rows shifted) are dropped; pages still on it are
        # kept even when a 429 lowered the limit: fetching them again would
        # only cost the API more requests.
        for token in set(in_flight) - set(plan):
            in_flight.pop(token).cancel()
        limit = self.throttle.limit if known else 1
        for position, token in enumerate(plan):
            if token not in in_flight and (position == 0 or len(in_flight) < limit):
                in_flight[token] = pool.submit(self.fetch_page, context, token)

    @cached_property
    def throttle(self) -> Throttle:
        """Pages in flight and the shared pause after a 429."""
        return Throttle(int(self.config["max_concurrent_requests"]))

    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> None:
        """React to an endpoint ignoring ``offset``; the rows so far stand."""

    @override
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        if self._declared.issuperset(row):
            return row
        undeclared = sorted(row.keys() - self._declared)
        if undeclared != self._reported_undeclared:
            self._reported_undeclared = undeclared
            self.logger.warning(
                "%s: dropping fields the schema does not declare: %s",
                self.name,
                ", ".join(undeclared),
            )
        return {key: value for key, value in row.items() if key in self._declared}

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

    # Responses

    def parse_page(self, response: requests.Response) -> Page:
        """Parse the ``{"data": [...], "count": N}`` envelope.

        Raises:
            MalformedResponseError: The body is not that envelope.
        """
        return self.page_of(response, self.decode_json(response))

    def page_of(self, response: requests.Response, payload: t.Any) -> Page:
        """Turn a decoded body into a page (override for other envelopes).

        Raises:
            MalformedResponseError: The body is not the expected envelope.
        """
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            self.malformed(response, 'it is not a {"data": [...]} envelope')
        count = payload.get("count")
        if count is not None and (not isinstance(count, int) or count < 0):
            self.malformed(response, "its `count` is not a whole number")
        return Page(rows=self.records_of(response, payload["data"]), count=count)

    def decode_json(self, response: requests.Response) -> t.Any:
        """Decode the body once.

        Raises:
            MalformedResponseError: The body is not JSON (HTML, truncated, empty).
        """
        try:
            return json.loads(response.content)
        except ValueError:
            content_type = response.headers.get("Content-Type", "no content type")
            self.malformed(
                response,
                f"the body is not valid JSON ({content_type}, "
                f"{len(response.content)} bytes; truncated or an HTML page?)",
            )

    def records_of(
        self, response: requests.Response, rows: list[t.Any]
    ) -> list[dict[str, t.Any]]:
        """Check that every element of a list body is a JSON object."""
        if not all(isinstance(row, dict) for row in rows):
            self.malformed(response, "its list holds something other than objects")
        return rows

    def malformed(self, response: requests.Response, why: str) -> t.NoReturn:
        """Raise the error for an unusable 200 body."""
        msg = f"GET {self._path_of(response.request)} answered 200 but {why}"
        raise MalformedResponseError(self._redact(msg), response)

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if response.is_redirect:
            location = response.headers.get("Location", "?")
            msg = (
                f"GET {self._path_of(response.request)} was redirected ({status}) to "
                f"{location}; set `api_url` to the final address (redirects are not "
                "followed, so the API key is never sent anywhere else)"
            )
            raise APIError(self._redact(msg))
        if status < HTTPStatus.BAD_REQUEST:
            return
        if (
            status in self.extra_retry_statuses
            or status >= HTTPStatus.INTERNAL_SERVER_ERROR
        ):
            raise RetriableAPIError(self.response_error_message(response), response)
        if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
            msg = (
                f"the Contactship API rejected the API key ({status} "
                f"{response.reason}); check `api_key` (env TAP_CONTACTSHIP_API_KEY)"
            )
            raise APIError(msg)
        hint = ""
        if status == HTTPStatus.NOT_FOUND:
            hint = "; check `api_url` (it should be the API root, e.g. https://api.contactship.ai)"
        raise APIError(self.response_error_message(response) + hint)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        body = " ".join(response.text.split())
        if len(body) > ERROR_BODY_CHARS:
            body = body[:ERROR_BODY_CHARS] + "..."
        msg = (
            f"GET {self._path_of(response.request)} failed with {response.status_code} "
            f"{response.reason}"
        )
        if body:
            msg += f": {body}"
        return self._redact(msg)

    # Retries

    @override
    def request_decorator(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        # As the SDK's, minus backoff's own log lines: `backoff_handler` says it
        # once, with the attempt count, and the final error is raised as one line.
        return backoff.on_exception(
            self.backoff_wait_generator,
            (RetriableAPIError, *_RETRIABLE_NETWORK_ERRORS),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"])

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        # 429s and other failures back off separately: a 500 right after a 429
        # is that request's first server failure, not its second.
        failures = {True: 0, False: 0}
        exception = yield  # type: ignore[misc]
        while True:
            throttled = _status(exception) == HTTPStatus.TOO_MANY_REQUESTS
            failures[throttled] += 1
            exception = yield self.retry_wait(exception, failures[throttled])

    def retry_wait(self, exception: Exception, attempt: int) -> float:
        """Seconds this request waits before its retry, for its n-th failure.

        A 429 pauses every request of the stream instead (see `Throttle`), for
        its ``Retry-After`` or else the exponential step, so this one waits 0.
        """
        if self._stopping:
            return 0.0
        # Jitter spreads out clients that failed together; Retry-After needs none.
        step = min(MAX_BACKOFF, BACKOFF_BASE * BACKOFF_FACTOR ** (attempt - 1))
        step *= random.uniform(0.5, 1.0)  # noqa: S311
        if _status(exception) == HTTPStatus.TOO_MANY_REQUESTS:
            response = t.cast("requests.Response", getattr(exception, "response", None))
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            pause = step if retry_after is None else min(retry_after, MAX_RETRY_AFTER)
            self.throttle.throttled(pause)
            return 0.0
        return step

    @override
    def backoff_jitter(self, value: float) -> float:
        return value

    @override
    def backoff_handler(self, details: Details) -> None:
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        if response is not None:
            reason = f"{response.status_code} {response.reason}"
        else:
            reason = type(exception).__name__
        wait = max(details.get("wait", 0.0), self.throttle.remaining())
        self.logger.warning(
            "%s: request failed with %s (attempt %d of %d); retrying in %.1f s",
            self.name,
            reason,
            details["tries"],
            self.backoff_max_tries(),
            wait,
        )

    # Helpers

    @cached_property
    def _send_with_retries(self) -> t.Callable[[requests.PreparedRequest], Page]:
        return t.cast(
            "t.Callable[[requests.PreparedRequest], Page]",
            self.request_decorator(self.send_page_request),
        )

    def _redact(self, text: str) -> str:
        return redact(text, [self.config.get("api_key", "")])

    def _path_of(self, request: requests.PreparedRequest | None) -> str:
        if request is None or request.url is None:
            return self.path or ""
        parsed = urlparse(request.url)
        return f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path


def _status(exception: BaseException | None) -> int | None:
    response = getattr(exception, "response", None)
    return None if response is None else int(response.status_code)


def parse_retry_after(value: str | None) -> float | None:
    """Read a ``Retry-After`` header: delay seconds or an HTTP date.

    Returns:
        Seconds from now (never negative), or None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
