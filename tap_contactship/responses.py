"""What a response means: its envelope, and for a failure, retry or fail and why.

Pure functions of status, headers and body, so every envelope and every error
message can be tested without a server.
"""

from __future__ import annotations

import enum
import typing as t
from http import HTTPStatus
from urllib.parse import urlparse

import orjson
from singer_sdk.exceptions import RetriableAPIError

from tap_contactship.errors import APIError, MalformedResponseError
from tap_contactship.retry import network_cause
from tap_contactship.timestamps import TimestampError, canonical

if t.TYPE_CHECKING:
    import requests

#: How much of an error body to quote in a message.
ERROR_BODY_CHARS = 300


class Page(list[dict[str, t.Any]]):
    """The rows of one response (a list, as `parse_response` promises) and a total.

    `total` is the list's `count` as the API reported it, or None without one.
    """

    def __init__(self, rows: t.Iterable[dict[str, t.Any]], total: int | None) -> None:
        """Hold the rows and the reported total."""
        super().__init__(rows)
        self.total = total


class MalformedBodyError(ValueError):
    """A body that is not the envelope the endpoint documents; says why."""


def decode_json(body: bytes, content_type: str | None) -> t.Any:
    """Decode a body once.

    Raises:
        MalformedBodyError: It is not JSON (HTML, truncated, empty).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        msg = (
            f"the body is not valid JSON ({content_type or 'no content type'}, "
            f"{len(body)} bytes; truncated or an HTML page?)"
        )
        raise MalformedBodyError(msg) from None


def body(response: requests.Response) -> t.Any:
    """A response's body as JSON.

    Raises:
        MalformedBodyError: It is not JSON.
    """
    return decode_json(response.content, response.headers.get("Content-Type"))


def envelope_page(payload: t.Any) -> Page:
    """Read ``{"data": [...], "count": N}`` (``count`` optional).

    Raises:
        MalformedBodyError: The payload is not that envelope.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        msg = 'it is not a {"data": [...]} envelope'
        raise MalformedBodyError(msg)
    count = payload.get("count")
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or count < 0
    ):
        msg = "its `count` is not a whole number"
        raise MalformedBodyError(msg)
    return Page(objects(payload["data"]), count)


def list_or_envelope_page(payload: t.Any) -> Page:
    """Read a bare JSON array (no count), or else the ``data`` envelope.

    Raises:
        MalformedBodyError: The payload is neither.
    """
    if isinstance(payload, list):
        return Page(objects(payload), None)
    return envelope_page(payload)


def objects(rows: list[t.Any]) -> list[dict[str, t.Any]]:
    """Check that every element of a list is a JSON object.

    Raises:
        MalformedBodyError: One is not.
    """
    if not all(isinstance(row, dict) for row in rows):
        msg = "its list holds something other than objects"
        raise MalformedBodyError(msg)
    return rows


class Verdict(enum.Enum):
    """What to do with a response, by its status."""

    OK = "ok"
    RETRY = "retry"
    REDIRECTED = "redirected"
    KEY_REJECTED = "key rejected"
    FAIL = "fail"


def verdict(status: int, *, is_redirect: bool = False) -> Verdict:
    """Classify a status: 429 and 5xx are worth retrying, other errors are not."""
    if is_redirect:
        return Verdict.REDIRECTED
    if status < HTTPStatus.BAD_REQUEST:
        return Verdict.OK
    if (
        status == HTTPStatus.TOO_MANY_REQUESTS
        or status >= HTTPStatus.INTERNAL_SERVER_ERROR
    ):
        return Verdict.RETRY
    if status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN}:
        return Verdict.KEY_REJECTED
    return Verdict.FAIL


def describe_failure(verdict: Verdict, response: requests.Response) -> str:
    """One line for a response that is not a page: what was asked, and why not."""
    line = request_line(response.request)
    status, reason = response.status_code, response.reason
    if verdict is Verdict.REDIRECTED:
        location = response.headers.get("Location", "?")
        return redirect_message(line, status, location)
    if verdict is Verdict.KEY_REJECTED:
        return key_rejected_message(status, reason)
    return failure_message(line, status, reason, response.text)


def failure_message(request_line: str, status: int, reason: str, body: str) -> str:
    """One line for a failed request, quoting the start of the body."""
    body = " ".join(body.split())
    if len(body) > ERROR_BODY_CHARS:
        body = body[:ERROR_BODY_CHARS] + "..."
    msg = f"{request_line} failed with {status} {reason}"
    if body:
        msg += f": {body}"
    if status == HTTPStatus.NOT_FOUND:
        msg += "; check `api_url` (it should be the API root, e.g. https://api.contactship.ai)"
    return msg


def key_rejected_message(status: int, reason: str) -> str:
    """One line for a 401/403, naming the setting to fix."""
    return (
        f"the Contactship API rejected the API key ({status} {reason}); check "
        "`api_key` (env TAP_CONTACTSHIP_API_KEY with --config=ENV, or Meltano's "
        "`meltano config set tap-contactship api_key`)"
    )


def redirect_message(request_line: str, status: int, location: str) -> str:
    """One line for a redirect, which is never followed."""
    return (
        f"{request_line} was redirected ({status}) to {location}; set `api_url` "
        "to the final address (redirects are not followed, so the API key is never "
        "sent anywhere else)"
    )


def malformed_message(request_line: str, why: str) -> str:
    """One line for a 200 whose body cannot be used."""
    return f"{request_line} answered 200 but {why}"


def request_line(request: requests.PreparedRequest | None) -> str:
    """`GET /v1/calls?limit=101&offset=0`: what a message says was asked."""
    if request is None or request.url is None:
        return "GET ?"
    parsed = urlparse(request.url)
    path = f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path
    return f"{request.method or 'GET'} {path}"


def api_timestamp(value: str, field: str | None = None, row_id: t.Any = None) -> str:
    """A timestamp from the API in the canonical form (see timestamps.py).

    In that form, string order is the order of instants.

    Raises:
        APIError: It is not an ISO 8601 timestamp (a bookmark taken from it
            would be wrong); names the field and the row's id, when given.
    """
    try:
        return canonical(value)
    except TimestampError:
        what = (
            f"a `{field}` that is not a valid ISO 8601 timestamp"
            if field
            else "a timestamp that is not a valid ISO 8601 one"
        )
        row = f" in the row with id {str(row_id)[:80]!r}" if row_id is not None else ""
        raise APIError(f"the API returned {what}{row}: {value[:40]!r}") from None


def out_of_order_message(created_at: str, previous: str) -> str:
    """One line for a call that came before the one it follows in `created_at`."""
    return (
        "the API returned calls out of `created_at` order, so a bookmark would be "
        f"wrong; it may be ignoring order=asc ({created_at} came after {previous})"
    )


def gave_up_message(
    error: BaseException, *, attempts: int, api_url: str, request_line: str
) -> str:
    """One line for a request that failed for good, naming the cause."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    if isinstance(error, MalformedResponseError):
        return f"{error} (after {tries})"
    if isinstance(error, RetriableAPIError):
        return f"giving up after {tries}: {error}"
    cause, retried = network_cause(error)
    after = f" after {tries}" if retried else ""
    return (
        f"could not get a response from {api_url} ({request_line}){after}: "
        f"{type(error).__name__}: {cause}; check `api_url`, the network and "
        "`request_timeout`"
    )
