"""The API's timestamps: reading its ISO 8601 variants, writing one canonical form.

The API writes the same instant several ways (`2026-03-21T02:10:00Z`,
`2026-03-21T02:10:00.000Z`, `2026-03-21T04:10:00+02:00`, microseconds with
`+00:00`). The tap writes every `date-time` it emits or keeps in state one
way: UTC, six fraction digits, `Z` (`2026-03-21T02:10:00.000000Z`). Fixed width
makes string order the order of instants, which is how the SDK compares
bookmarks; with mixed widths `"…00.000Z" < "…00Z"` although both are the
same instant.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_FRACTION = re.compile(r"\.(\d+)")
#: Characters in the canonical form, `2026-03-21T02:10:00.000000Z`.
CANONICAL_LENGTH = 27


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


def canonical_timestamp(moment: datetime) -> str:
    """The canonical form of an instant: UTC, microseconds, `Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: str) -> str:
    """The same instant as `value`, in the canonical form.

    The API's usual UTC forms are rewritten by slicing (every record passes
    here); anything else is parsed.

    Raises:
        TimestampError: The value is not an ISO 8601 timestamp.
    """
    if value[-1:] == "Z" and value[10:11] == "T" and value[19:20] in {".", "Z"}:
        length = len(value)
        if length == CANONICAL_LENGTH:
            return value
        if length == 20:  # `2026-03-21T02:10:00Z`
            return value[:19] + ".000000Z"
        if length == 24:  # `2026-03-21T02:10:00.000Z`
            return value[:23] + "000Z"
    return canonical_timestamp(parse_timestamp(value))
