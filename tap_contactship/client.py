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

from tap_contactship import responses
from tap_contactship.errors import APIError, OffsetIgnoredError
from tap_contactship.output import end_version
from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
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
    from collections.abc import Generator, Iterable

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context


class ContactshipStream(RESTStream[PageToken]):
    """A Contactship list endpoint read with limit/offset paging."""

    primary_keys: t.ClassVar[t.Sequence[str]] = ("id",)
    replication_key: str | None = None
    #: Keep paging when the API reports no ``count`` (else one page is all).
    follow_without_count = True
    #: The endpoint documents no paging, so ignoring ``offset`` is not an error.
    offset_may_be_ignored = False
    #: The SDK drops undeclared top-level fields (one warning); objects are
    #: free-form and pass whole, so nothing nested needs walking.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY
    # `x-api-key` is not a header requests drops on a redirect to another host.
    allow_redirects = False
    #: Log the SDK's `http_request_duration` metric for every request.
    log_request_metrics = True
    #: Where retries and the throttle read the time and sleep.
    clock = SYSTEM_CLOCK

    def __init__(self, tap: Tap, *args: t.Any, **kwargs: t.Any) -> None:
        """Remember the tap, whose writer holds this stream's ACTIVATE_VERSION."""
        super().__init__(tap, *args, **kwargs)
        self._owner = tap

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
        # The SDK's loop sends one request at a time and picks the next page from
        # the raw response; fetching ahead and the overlap check need parsed
        # pages, so they come from the page client (see transport.py).
        paginator = OverlapOffsetPaginator(
            int(self.config["page_size"]),
            follow_without_count=self.follow_without_count,
        )
        complete = True
        try:
            yield from PageClient(self, context).rows(paginator)
        except OffsetIgnoredError:
            if not self.offset_may_be_ignored:
                raise
            complete = self.offset_ignored(paginator)
        # Reached after the SDK wrote the last record: only a list read whole
        # lets a target retire the rows it did not contain.
        complete = complete and paginator.complete
        end_version(self, self._owner.message_writer, complete=complete)

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
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        for name in self.timestamp_fields:
            value = row.get(name)
            if isinstance(value, str):  # one form for every instant
                row[name] = api_timestamp(value, f"{self.name}.{name}")
        return row

    @cached_property
    def timestamp_fields(self) -> tuple[str, ...]:
        """The fields the schema types `date-time`."""
        properties = self.schema["properties"].items()
        return tuple(n for n, s in properties if s.get("format") == "date-time")

    @override
    def log(
        self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any
    ) -> None:
        # The SDK's ERROR lines here ("An unhandled error occurred while
        # syncing") would come before the CLI's one line saying why.
        if level >= logging.ERROR:
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)
