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
    here), once their date and time are checked to be a real instant written
    the one way (`2026-13-45T99:99:99Z` has the right shape and is not);
    anything else is parsed.

    Raises:
        TimestampError: The value is not an ISO 8601 timestamp.
    """
    length = len(value)
    if (
        length in _FAST_LENGTHS
        and value[-1] == "Z"
        and value[10] == "T"
        and value[19] == ("Z" if length == 20 else ".")
        and _is_instant(value[:19])
        and (length == 20 or _is_digits(value[20:-1]))
    ):
        if length == CANONICAL_LENGTH:
            return value
        if length == 20:  # `2026-03-21T02:10:00Z`
            return value[:19] + ".000000Z"
        return value[:23] + "000Z"  # `2026-03-21T02:10:00.000Z`
    return canonical_timestamp(parse_timestamp(value))


#: `…:00Z`, `…:00.000Z` and the canonical `…:00.000000Z`.
_FAST_LENGTHS = frozenset({20, 24, CANONICAL_LENGTH})


def _is_instant(text: str) -> bool:
    # One C parse and one C format: a value that reads back the same is a real
    # date and time written `YYYY-MM-DDTHH:MM:SS` (fromisoformat also takes
    # week dates and other digits, which would not be canonical).
    try:
        return datetime.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def _is_digits(text: str) -> bool:
    return text.isdigit() and text.isascii()
