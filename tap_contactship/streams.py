"""One class per Contactship endpoint; each says only what makes it different."""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timedelta, timezone

import requests
from singer_sdk import typing as th

from tap_contactship.client import ContactshipStream
from tap_contactship.errors import APIError
from tap_contactship.pagination import OverlapOffsetPaginator, Page

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

#: Ids are opaque: the docs show `pn-<uuid>`, `org-<uuid>`, `org123456` and
#: non-hex "UUIDs", so they are plain strings, never `format: uuid`.
Id = th.StringType


class PhoneNumbersStream(ContactshipStream):
    """Phone numbers registered to the organization (`GET /v1/phone-numbers`)."""

    name = "phone_numbers"
    path = "/phone-numbers"
    primary_keys = ("id",)
    replication_key = None

    schema = th.PropertiesList(
        th.Property("id", Id, required=True, description="Phone number id"),
        th.Property("phone_number", th.StringType, description="E.164 number"),
        th.Property("type", th.StringType, description="`inbound` or `outbound`"),
        th.Property("organization_id", Id),
        th.Property("created_at", th.DateTimeType),
    ).to_dict()

    def url_params(self, context: Context | None) -> dict[str, t.Any]:
        """Filter by `phone_number_type` when it is set."""
        params = super().url_params(context)
        if self.config.get("phone_number_type"):
            params["type"] = self.config["phone_number_type"]
        return params


def parse_timestamp(value: str) -> datetime:
    """Read the API's ISO 8601 variants (`Z`, offsets, any fraction); naive is UTC.

    Raises:
        APIError: The value is not an ISO 8601 timestamp.
    """
    # Python 3.10's fromisoformat wants exactly 3 or 6 fraction digits.
    normal = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip())
    try:
        parsed = datetime.fromisoformat(normal.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        msg = f"the API returned a timestamp that is not ISO 8601: {value[:40]!r}"
        raise APIError(msg) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_FRACTION = re.compile(r"\.(\d+)")


def iso_timestamp(moment: datetime) -> str:
    """Format a bookmark the way the API formats `created_at`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CallsStream(ContactshipStream):
    """Every call, incremental on `created_at` (`GET /v1/calls`).

    Calls change after they are created (status, result, analysis and recording
    arrive later) and the API has no `updated_at`, so each run re-reads the
    `calls_lookback_days` before its bookmark and emits those calls again; the
    primary key lets targets upsert them.
    """

    name = "calls"
    path = "/calls"
    primary_keys = ("id",)
    replication_key = "created_at"
    is_sorted = True
    # A STATE every thousand calls makes an interrupted first sync resumable.
    STATE_MSG_FREQUENCY = 1000

    schema = th.PropertiesList(
        th.Property("id", Id, required=True),
        th.Property("direction", th.StringType, description="`inbound`/`outbound`"),
        th.Property("from", th.StringType, description="E.164 number that called"),
        th.Property("call_record", th.StringType, description="Recording URL"),
        th.Property("call_status", th.StringType),
        th.Property("call_result", th.StringType),
        th.Property("disconnection_reason", th.StringType),
        th.Property("start_at", th.DateTimeType),
        th.Property("finished_at", th.DateTimeType),
        th.Property("duration", th.NumberType, description="Seconds"),
        th.Property(
            "call_analysis",
            th.ObjectType(
                th.Property("summary", th.StringType),
                th.Property("sentiment", th.StringType),
                additional_properties=True,
            ),
        ),
        th.Property("type", th.StringType),
        th.Property("created_at", th.DateTimeType, required=True),
        th.Property("agent_id", Id),
        th.Property("campaign_id", Id),
        th.Property(
            "contact",
            th.ObjectType(
                th.Property("id", Id),
                th.Property("full_name", th.StringType),
                th.Property("phone_number", th.StringType),
                th.Property("email", th.StringType),
                th.Property("country", th.StringType),
                additional_properties=True,
            ),
        ),
        th.Property(
            "chat_history",
            th.ArrayType(
                th.ObjectType(
                    th.Property("role", th.StringType),
                    th.Property("content", th.StringType),
                    additional_properties=True,
                )
            ),
            description="Transcript; only with `include_transcripts`",
        ),
        th.Property("transcript_format", th.StringType),
    ).to_dict()

    _window_start: datetime | None = None

    def url_params(self, context: Context | None) -> dict[str, t.Any]:
        """Ask for calls from a day before the window, and transcripts if wanted."""
        params = super().url_params(context)
        if self._window_start is not None:
            # The docs only show day precision and name no timezone: a day of
            # margin covers any reading of the date; the rest is cut client-side.
            day_before = self._window_start - timedelta(days=1)
            params["date_from"] = day_before.date().isoformat()
        if self.config.get("include_transcripts"):
            params.update(include_transcript="true", transcript_format="json")
        return params

    def window_start(self) -> datetime | None:
        """The earliest `created_at` this run emits.

        The bookmark minus the look-back on later runs, `start_date` on the first,
        never earlier than `start_date`; None means every call.
        """
        start_date = self.config.get("start_date")
        floor = parse_timestamp(start_date) if start_date else None
        bookmark = self.stream_state.get("replication_key_value")
        if not bookmark:
            return floor
        try:
            bookmarked = parse_timestamp(bookmark)
        except APIError:
            msg = (
                "the state's `calls` bookmark is not a timestamp; fix or clear it "
                "(meltano state clear <state id>)"
            )
            raise APIError(msg) from None
        lookback = timedelta(days=float(self.config["calls_lookback_days"]))
        start = bookmarked - lookback
        return max(start, floor) if floor else start

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Emit calls from the window start on, in `created_at` order."""
        start = self._window_start = self.window_start()
        bookmark = self.stream_state.get("replication_key_value")
        if start is not None and bookmark:
            # Re-read calls are older than the bookmark on purpose; starting the
            # sort check at the window keeps it guarding against real disorder.
            self.stream_state["replication_key_value"] = iso_timestamp(start)
        for row in super().get_records(context):
            created = row.get("created_at")
            # Parsed even without a window: a garbled value must not become the
            # bookmark that the next run starts from.
            created_at = None if created is None else parse_timestamp(created)
            if start is None or created_at is None or created_at >= start:
                yield row
        latest = self.stream_state.get("replication_key_value")
        if bookmark and (
            not latest or parse_timestamp(latest) < parse_timestamp(bookmark)
        ):
            self.stream_state["replication_key_value"] = bookmark


class AgentsStream(ContactshipStream):
    """Voice agents and their configuration (`GET /v1/agents`).

    The docs show `{"statusCode": 200, "data": [...]}` without `count`, newer
    endpoints `{"data": [...], "count": N}`; both parse, and with a `count` the
    list is paged like any other.
    """

    name = "agents"
    path = "/agents"
    primary_keys = ("id",)
    replication_key = None
    # Documented without paging: no `count` means the one page is the list.
    follow_without_count = False

    _named_item = th.ObjectType(
        th.Property("name", th.StringType),
        th.Property("type", th.StringType),
        th.Property("description", th.StringType),
        additional_properties=True,
    )
    schema = th.PropertiesList(
        th.Property("id", Id, required=True),
        th.Property("name", th.StringType),
        th.Property("person_name", th.StringType),
        th.Property("language", th.StringType),
        th.Property("webhook_url", th.StringType),
        th.Property("conversation_purpose", th.StringType),
        th.Property("prompt", th.StringType),
        th.Property("volume", th.NumberType),
        th.Property("voice_id", th.StringType),
        th.Property("interruption_sensitivity", th.NumberType),
        th.Property("ambient_sound", th.StringType),
        th.Property("voice_speed", th.NumberType),
        th.Property("voice_temperature", th.NumberType),
        th.Property("post_call_analysis_data", th.ArrayType(_named_item)),
        th.Property("tools", th.ArrayType(_named_item)),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
    ).to_dict()


class ContactsStream(ContactshipStream):
    """Contacts of the organization (`GET /v1/contacts`).

    The docs show a bare JSON array, no paging parameters, and "at most 100
    contacts per request". `limit`/`offset` are sent anyway: if the server
    honours them every contact is read; if it answers every offset with the
    first page, the rows are kept and a warning says the list may be cut.
    """

    name = "contacts"
    path = "/contacts"
    primary_keys = ("id",)
    replication_key = None
    offset_may_be_ignored = True
    #: The documented per-request cap.
    DOCUMENTED_CAP = 100

    schema = th.PropertiesList(
        th.Property("id", Id, required=True),
        th.Property("full_name", th.StringType),
        th.Property("phone_number", th.StringType),
        th.Property("email", th.StringType),
        th.Property("country", th.StringType),
        th.Property("description", th.StringType),
        th.Property(
            "additional_data",
            th.ArrayType(
                th.ObjectType(
                    th.Property("type", th.StringType),
                    th.Property("field", th.StringType),
                    th.Property("value", th.CustomType({})),
                    additional_properties=True,
                )
            ),
        ),
        th.Property("organization_id", Id),
        th.Property("created_at", th.DateTimeType),
    ).to_dict()

    def page_of(self, response: requests.Response, payload: t.Any) -> Page:
        """Read the bare JSON array the docs show (or a `data` envelope)."""
        if isinstance(payload, list):
            return Page(rows=self.records_of(response, payload), count=None)
        return super().page_of(response, payload)

    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> None:
        """Keep what the first page gave; say when it may be a truncated list."""
        cap = min(self.page_size, self.DOCUMENTED_CAP)
        if paginator.emitted >= cap:
            self.logger.warning(
                "contacts: the API ignores limit/offset on /v1/contacts and returned "
                "%d contacts; the list may be truncated at %d rows",
                paginator.emitted,
                paginator.emitted,
            )
        else:
            self.logger.info(
                "contacts: the API ignores limit/offset; all %d contacts fit in one "
                "response",
                paginator.emitted,
            )


STREAMS: list[type[ContactshipStream]] = [
    PhoneNumbersStream,
    CallsStream,
    AgentsStream,
    ContactsStream,
]
