"""The SDK's hooks that connect, judge an answer, retry and shape a record.

`ContactshipHooks` is the base of `ContactshipStream` (client.py): the URL, the
key and the session; `judge`, which checks and parses one answer (used by the
page client, transport.py); the `backoff_*` hooks, read once per list read into
a `RetryPolicy`; the throttle every request of a list passes; and
`post_process`, which makes a row the record the catalog declares.
"""

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
from tap_contactship.errors import APIError
from tap_contactship.fields import Fields
from tap_contactship.pagination import PageToken
from tap_contactship.reads import READ_VERSION, read_version
from tap_contactship.responses import Page, Verdict
from tap_contactship.retry import (
    SYSTEM_CLOCK,
    backoff_wait,
    is_throttled,
    retry_note,
    throttle_pause,
)
from tap_contactship.throttle import Throttle
from tap_contactship.transport import duration

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Generator

    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import MetadataMapping

Row = dict[str, t.Any]


class ContactshipHooks(RESTStream[PageToken]):
    """The API's address and key, what its answers mean, when to ask again."""

    #: `post_process` drops undeclared fields (see fields.py), which is all that
    #: root-level conformance does to JSON values; the SDK's pass costs a
    #: function call per field.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: `date-time` fields that the selection has rewritten in the canonical form.
    canonical_fields: t.ClassVar[tuple[str, ...]] = ()

    def __init__(self, tap: Tap, *args: t.Any, **kwargs: t.Any) -> None:
        """Remember the tap, whose start is the run's version."""
        super().__init__(tap, *args, **kwargs)
        self._owner = tap

    # `x-api-key` is not a header requests drops on a redirect to another host.
    allow_redirects = False
    #: Log the SDK's `http_request_duration` metric for every request.
    log_request_metrics = True
    #: Where retries and the throttle read the time and sleep.
    clock = SYSTEM_CLOCK

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
