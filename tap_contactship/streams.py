"""One class per Contactship endpoint; each says only what makes it different."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_contactship.client import ContactshipStream

if t.TYPE_CHECKING:
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


STREAMS: list[type[ContactshipStream]] = [PhoneNumbersStream]
