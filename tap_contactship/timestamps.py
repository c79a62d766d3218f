"""The API's timestamps: reading its ISO 8601 variants, writing bookmarks."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"\.(\d+)")


class TimestampError(ValueError):
    """A value that is not an ISO 8601 timestamp."""


def parse_timestamp(value: str) -> datetime:
    """Read ISO 8601 with `Z`, an offset or none (UTC), and any fraction length.

    Raises:
        TimestampError: The value is not an ISO 8601 timestamp.
    """
    # Python 3.10's fromisoformat wants exactly 3 or 6 fraction digits.
    normal = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip())
    try:
        parsed = datetime.fromisoformat(normal.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        msg = f"not an ISO 8601 timestamp: {value[:40]!r}"
        raise TimestampError(msg) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso_timestamp(moment: datetime) -> str:
    """Format a bookmark the way the API formats `created_at`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_z(value: str) -> str:
    """The same instant as ``2026-01-15T10:00:00Z`` (microseconds when present).

    Values already in UTC with a `Z` pass unchanged: every warehouse reads
    them alike. Offsets, naive values (UTC) and space separators are
    rewritten, so `+02:00` never lands in a column that drops it.

    Raises:
        TimestampError: The value is not an ISO 8601 timestamp.
    """
    if is_utc_z(value):
        return value
    moment = parse_timestamp(value).astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def is_utc_z(value: str) -> bool:
    """Whether a value is already written in UTC with a `Z` (checked cheaply)."""
    return value[-1:] == "Z" and value[10:11] == "T"
