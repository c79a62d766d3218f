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

#: A fraction ends where the value or its offset does: Python 3.11's
#: fromisoformat skips what follows six digits (`…00.120000a456+00:00`).
_FRACTION = re.compile(r"\.(\d+)(?=[Zz+-]|$)")
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
    normal, fractions = _FRACTION.subn(
        lambda m: "." + m.group(1)[:6].ljust(6, "0"), value.strip()
    )
    try:
        if normal.count(".") != fractions or not normal.isascii():
            raise ValueError  # noqa: TRY301 (the same message as fromisoformat's)
        parsed = datetime.fromisoformat(normal.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        msg = f"not an ISO 8601 timestamp: {value[:40]!r}"
        raise TimestampError(msg) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def canonical_timestamp(moment: datetime) -> str:
    """The canonical form of an instant: UTC, microseconds, `Z`."""
    # Not strftime: its `%Y` writes the year 999 as `999`, not fixed width.
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def canonical(value: str) -> str:
    """The same instant as `value`, in the canonical form.

    The API's usual UTC forms are rewritten by slicing (every record passes
    here), once the shape says the date and time are real
    (`2026-13-45T99:99:99Z` has the right width and is not); anything else is
    parsed.

    Raises:
        TimestampError: The value is not an ISO 8601 timestamp.
    """
    if _FAST_SHAPE.fullmatch(value) and (value[8:10] <= "28" or _real_day(value)):
        length = len(value)
        if length == CANONICAL_LENGTH:
            return value
        if length == 20:  # `2026-03-21T02:10:00Z`
            return value[:19] + ".000000Z"
        return value[:23] + "000Z"  # `2026-03-21T02:10:00.000Z`
    return canonical_timestamp(parse_timestamp(value))


#: `…:00Z`, `…:00.000Z` and the canonical `…:00.000000Z` with every field in
#: range, ASCII digits only; a regular expression costs a tenth of parsing.
_FAST_SHAPE = re.compile(
    r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{3}|\.[0-9]{6})?Z"
)


def _real_day(value: str) -> bool:
    # Days 29 to 31 exist in some months only.
    try:
        datetime.fromisoformat(value[:10])
    except ValueError:
        return False
    return True
