"""One class per Contactship endpoint; each says only what makes it different."""

from __future__ import annotations

import sys
import typing as t
from datetime import timedelta

from singer_sdk import typing as th

from tap_contactship import responses
from tap_contactship.calls_window import CallsWindow, run_start
from tap_contactship.client import ContactshipStream
from tap_contactship.reads import READ_VERSION_PROPERTY

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from tap_contactship.pagination import OverlapOffsetPaginator, PageToken
    from tap_contactship.responses import Page

#: An object the API may grow, declared without properties so that every key
#: lands: targets keep only the declared keys of an object that declares some
#: (z3 target-bigquery's RECORD columns drop the rest), while an object without
#: properties lands whole in every target (VARIANT, JSON or jsonb). The keys
#: the docs name are in the property's description instead. No `properties`
#: key at all (`th.ObjectType` writes an empty one): the SDK's schema
#: flattener drops an object with empty `properties` while its record
#: flattener expands the values, so SCHEMA and RECORD would disagree; without
#: the key both keep the object as one JSON column at every depth.
FreeForm = th.CustomType({"type": ["object"], "additionalProperties": True})
#: The same inside an array, where flattening never reaches, with the empty
#: `properties` the SDK's record conformance reads on an array's objects
#: (target-snowflake's: `KeyError: 'properties'` without it).
FreeFormItem = th.ObjectType(additional_properties=True)


#: Ids are opaque: the docs show `pn-<uuid>`, `org-<uuid>`, `org123456` and
#: non-hex "UUIDs", so they are plain strings, never `format: uuid`.
Id = th.StringType


class PhoneNumbersStream(ContactshipStream):
    """Phone numbers registered to the organization (`GET /v1/phone-numbers`)."""

    name = "phone_numbers"
    path = "/phone-numbers"

    schema = th.PropertiesList(
        th.Property("id", Id, required=True, description="Phone number id"),
        th.Property("phone_number", th.StringType, description="E.164 number"),
        th.Property("type", th.StringType, description="`inbound` or `outbound`"),
        th.Property("organization_id", Id),
        th.Property("created_at", th.DateTimeType),
        READ_VERSION_PROPERTY,
    ).to_dict()

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, t.Any]:
        """Filter by `phone_number_type` when it is set."""
        params = super().get_url_params(context, next_page_token)
        if self.config.get("phone_number_type"):
            params["type"] = self.config["phone_number_type"]
        return params


class CallsStream(ContactshipStream):
    """Every call, incremental on `created_at` (`GET /v1/calls`).

    Calls change after they are created (status, result, analysis and recording
    arrive later) and the API has no `updated_at`, so a run that starts after a
    finished one re-reads the `calls_lookback_days` before its bookmark and
    emits those calls again; the primary key lets targets upsert them. A run
    that resumes an interrupted one continues where it stopped instead (see
    calls_window.py).
    """

    name = "calls"
    path = "/calls"
    replication_key = "created_at"
    is_sorted = True
    # A STATE every thousand calls, and one when a signal stops the sync.
    STATE_MSG_FREQUENCY = 1000
    canonical_fields = ("created_at",)

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
        th.Property("call_analysis", FreeForm, description="`summary`, `sentiment`, …"),
        th.Property("type", th.StringType),
        th.Property("created_at", th.DateTimeType, required=True),
        th.Property("agent_id", Id),
        th.Property("campaign_id", Id),
        th.Property(
            "contact",
            FreeForm,
            description="`id`, `full_name`, `phone_number`, `email`, `country`, …",
        ),
        th.Property(
            "chat_history",
            th.ArrayType(FreeFormItem),
            description="Transcript, turns of `role`, `content`, …; only with"
            " `include_transcripts`",
        ),
        th.Property("transcript_format", th.StringType),
    ).to_dict()

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageToken | None
    ) -> dict[str, t.Any]:
        """Ask for transcripts if wanted (the window's `date_from` is its own)."""
        params = super().get_url_params(context, next_page_token)
        if self.config.get("include_transcripts"):
            params.update(include_transcript="true", transcript_format="json")
        return params

    @override
    def selection(self, context: Context | None) -> CallsWindow:
        """The calls from where this run starts on (see calls_window.py)."""
        start = run_start(
            self.stream_state.get("replication_key_value"),
            interrupted=self.name in self.interrupted.streams,
            lookback=timedelta(days=float(self.config["calls_lookback_days"])),
            start_date=self.config.get("start_date"),
        )
        return CallsWindow(start)

    @property
    @override
    def check_sorted(self) -> bool:
        # The look-back re-reads calls older than the bookmark on purpose, which
        # the SDK's check would take for disorder; the window checks the order
        # itself, as instants.
        return False


class AgentsStream(ContactshipStream):
    """Voice agents and their configuration (`GET /v1/agents`).

    The docs show `{"statusCode": 200, "data": [...]}` without `count`, newer
    endpoints `{"data": [...], "count": N}`; both parse, and with a `count` the
    list is paged like any other.
    """

    name = "agents"
    path = "/agents"
    # Documented without paging: no `count` means the one page is the list.
    follow_without_count = False

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
        th.Property(
            "post_call_analysis_data",
            th.ArrayType(FreeFormItem),
            description="Items of `name`, `type`, `description`, …",
        ),
        th.Property(
            "tools",
            th.ArrayType(FreeFormItem),
            description="Items of `name`, `type`, `description`, …",
        ),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        READ_VERSION_PROPERTY,
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
            th.ArrayType(FreeFormItem),
            description="Items of `type`, `field`, `value` (any JSON), …",
        ),
        th.Property("organization_id", Id),
        th.Property("created_at", th.DateTimeType),
        READ_VERSION_PROPERTY,
    ).to_dict()

    @override
    def parse_response(self, response: requests.Response) -> Page:
        """Read the bare JSON array the docs show (or a `data` envelope)."""
        return responses.list_or_envelope_page(responses.body(response))

    @override
    def offset_ignored(self, paginator: OverlapOffsetPaginator) -> bool:
        """Keep what the first page gave; say when it may be a truncated list.

        An answer shorter than the documented cap is the whole list, unless it
        holds exactly the rows asked for: a server that honours `limit` but
        not `offset` may have more.
        """
        asked = int(self.config["page_size"]) + 1
        rows = paginator.emitted
        if rows < self.DOCUMENTED_CAP and rows != asked:
            return True
        self.logger.warning(
            "contacts: the API ignores limit/offset on /v1/contacts and returned "
            "%d contacts; the list may be truncated at %d rows",
            rows,
            rows,
        )
        return False


STREAMS: list[type[ContactshipStream]] = [
    PhoneNumbersStream,
    CallsStream,
    AgentsStream,
    ContactsStream,
]
