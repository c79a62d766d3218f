"""What a diagnosis saw, per list: the facts, and what the tap does about each.

Pure functions of the exchanges `diagnose.py` recorded. Facts hold no value
from the API, only shapes, styles, counts and salted hashes (shapes.py), so
the JSON document can go into a public bug report.
"""

from __future__ import annotations

import typing as t

from tap_contactship.exchanges import envelope_of
from tap_contactship.reads import READ_VERSION
from tap_contactship.shapes import Hasher, field_shapes, key_shape, timestamp_style
from tap_contactship.timestamps import TimestampError, parse_timestamp

if t.TYPE_CHECKING:
    from tap_contactship.client import ContactshipStream
    from tap_contactship.exchanges import Exchange

#: Fields whose values are a vocabulary, not data: reported as they are.
VOCABULARY = (
    "type",
    "direction",
    "call_status",
    "call_result",
    "disconnection_reason",
    "transcript_format",
    "language",
)
#: Zones run from UTC-12 to UTC+14: a `date_from` day starting further off is
#: not a zone.
MAX_ZONE_HOURS = 14


def instant(row: dict[str, t.Any]) -> t.Any:
    """A row's `created_at` as an instant; None if it has none or it is garbled."""
    value = row.get("created_at")
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except TimestampError:
        return None


def day_boundary(rows: list[dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """The first row of a UTC day that follows a row of an earlier day."""
    moments = [instant(row) for row in rows]
    for before, row, moment in zip(moments, rows[1:], moments[1:], strict=False):
        if before and moment and moment.date() > before.date():
            return row
    return None


def order_of(rows: list[dict[str, t.Any]]) -> str | None:
    """`asc`, `desc` or `unsorted` by `created_at`; None with fewer than two."""
    moments = [m for m in map(instant, rows) if m is not None]
    if len(moments) < 2 or len(set(moments)) < 2:
        return None
    if moments == sorted(moments):
        return "asc"
    return "desc" if moments == sorted(moments, reverse=True) else "unsorted"


class Seen:
    """The exchanges of one list, by purpose."""

    def __init__(self, exchanges: list[Exchange]) -> None:
        """Index the exchanges by what they asked."""
        self.all = exchanges
        self.by = {e.purpose: e for e in exchanges}

    def rows(self, purpose: str) -> list[dict[str, t.Any]] | None:
        """Rows of the exchange with that purpose; None if not asked or failed."""
        exchange = self.by.get(purpose)
        if exchange is None or exchange.status != 200:
            return None
        return envelope_of(exchange.payload)[1]


def paging_facts(seen: Seen, largest_limit: int) -> dict[str, t.Any]:
    """Envelope, count, default page, limit/offset, the largest page."""
    largest = seen.by.get("largest page")
    first = seen.rows("largest page") or []
    envelope, _, count = envelope_of(largest.payload if largest else None)
    facts: dict[str, t.Any] = {"envelope": envelope, "count_present": count is not None}
    facts["tap_refuses"] = largest.refused is not None if largest else None
    default = seen.rows("default page")
    if default is not None:
        known = count if count is not None else len(first)
        facts["default_page_size"] = len(default) if known > len(default) else None
        facts["default_order"] = order_of(default)
    overlap = seen.rows("overlapping page")
    if overlap is not None and len(first) >= 2:
        ids = [row.get("id") for row in overlap]
        facts["offset_honoured"] = ids[:1] == [first[1].get("id")]
        facts["limit_honoured"] = len(overlap) <= 2
    facts["largest_page"] = {"asked": largest_limit, "served": len(first)}
    facts["order_asc_holds"] = (
        None if order_of(first) is None else (order_of(first) == "asc")
    )
    facts["count"], cap = count_verdict(seen, count, len(first), facts)
    facts["largest_page"]["cap"] = cap
    facts["largest_page"]["whole_list"] = (
        cap is None
        and len(first) < largest_limit
        and facts.get("offset_honoured") is not False
        and (count == len(first) or seen.rows("page after the largest") == [])
    )
    return facts


def count_verdict(
    seen: Seen, count: int | None, served: int, facts: dict[str, t.Any]
) -> tuple[str, int | None]:
    """Whether `count` agrees with the rows, and the server's page cap if seen."""
    after = seen.rows("page after the largest")
    longer = None if after is None else bool(after)
    if facts.get("offset_honoured") is False:
        return ("absent" if count is None else "not checked (offset ignored)"), None
    if count is None:
        return "absent", served if longer else None
    if count < served:
        return f"too low (count {count}, one page held {served})", None
    if count == served:
        return "consistent", None
    return _count_beyond_page(count, served, seen.rows("page at count - 1"), longer)


def _count_beyond_page(
    count: int, served: int, end: list[dict[str, t.Any]] | None, longer: bool | None
) -> tuple[str, int | None]:
    """A `count` above the largest page: a cap, or a count too high (or low)."""
    if end is None:
        return "not checked (request budget)", None
    if len(end) == 1:
        return "consistent", served
    if len(end) >= 2:
        return f"too low (count {count}, rows past it)", served
    if longer is False:
        return f"too high (count {count}, the list has {served} rows)", None
    return f"too high (count {count}, no row at offset {count - 1})", (
        served if longer else None
    )


def field_facts(
    stream: ContactshipStream, rows: list[dict[str, t.Any]], hasher: Hasher
) -> dict[str, t.Any]:
    """Timestamp styles, undeclared and unseen fields, shapes, vocabularies."""
    properties = stream.schema["properties"]
    stamps: dict[str, set[str]] = {}
    vocabulary: dict[str, set[str]] = {}
    for row in rows:
        for name, value in row.items():
            schema = properties.get(name, {})
            if isinstance(value, str) and schema.get("format") == "date-time":
                stamps.setdefault(name, set()).add(timestamp_style(value))
            if name in VOCABULARY and isinstance(value, str) and len(value) <= 40:
                vocabulary.setdefault(name, set()).add(value)
    present = {name for row in rows for name in row}
    return {
        "timestamps": {k: sorted(v) for k, v in sorted(stamps.items())},
        "undeclared_fields": sorted(key_shape(n) for n in present - set(properties)),
        # `read_version` is the tap's own column, never the API's.
        "never_seen_fields": (
            sorted(set(properties) - present - {READ_VERSION}) if rows else []
        ),
        "field_shapes": field_shapes(rows),
        "values": {k: sorted(v)[:12] for k, v in sorted(vocabulary.items())},
        "sample_ids": [hasher(row.get("id")) for row in rows[:3]],
    }


def date_from_verdict(seen: Seen) -> str:
    """How the API reads a `date_from` day, from the probe at a day boundary."""
    boundary = day_boundary(seen.rows("largest page") or [])
    dated = seen.rows("date_from at a day boundary")
    if boundary is None or not dated:
        return _date_from_unchecked(boundary, dated)
    midnight = instant(boundary).replace(hour=0, minute=0, second=0, microsecond=0)
    first = instant(dated[0])
    if dated[0].get("id") == boundary.get("id") or first is None:
        return "a UTC day"
    hours = abs((first - midnight).total_seconds()) / 3600
    if first < midnight and hours > MAX_ZONE_HOURS:
        return "ignored (calls from long before that day came back)"
    if first < midnight:
        return f"a day starting {hours:.1f} h or more before UTC midnight (east of UTC)"
    return f"a day starting {hours:.1f} h or more after UTC midnight (west of UTC)"


def _date_from_unchecked(
    boundary: dict[str, t.Any] | None, dated: list[dict[str, t.Any]] | None
) -> str:
    if boundary is None:
        return "not checked (no two sampled calls on different UTC days)"
    if dated is None:
        return "not checked (request budget or an error)"
    return "no call came back: date_from is not read as a day"


def transcript_verdict(seen: Seen) -> str:
    """Whether a transcript came back in the format asked for (json)."""
    rows = seen.rows("transcript")
    if not rows:
        return "not checked (no call, or an error)"
    history = rows[0].get("chat_history")
    if isinstance(history, list):
        return "json, as requested"
    if isinstance(history, str):
        return "a string (TOON?), although json was requested"
    return "absent: include_transcript was not honoured"


def response_times(exchanges: list[Exchange]) -> dict[str, float]:
    """Median and slowest response, in milliseconds."""
    times = sorted(e.seconds for e in exchanges if e.status is not None)
    if not times:
        return {}
    return {
        "median_ms": round(times[len(times) // 2] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def statuses(exchanges: list[Exchange]) -> dict[str, int]:
    """How many attempts got each HTTP status (`no response`: none came)."""
    counted: dict[str, int] = {}
    for exchange in exchanges:
        for status in exchange.statuses:
            name = str(status) if status else "no response"
            counted[name] = counted.get(name, 0) + 1
    return dict(sorted(counted.items()))


def stream_facts(
    stream: ContactshipStream,
    exchanges: list[Exchange],
    largest_limit: int,
    hasher: Hasher,
) -> dict[str, t.Any]:
    """Everything the diagnosis learnt about one list."""
    seen = Seen(exchanges)
    rows = [row for e in exchanges for row in e.rows]
    headers: dict[str, str] = {}
    for exchange in exchanges:
        headers.update(exchange.rate_headers)
    facts: dict[str, t.Any] = {
        "path": "/v1" + str(stream.path),
        "requests": len(exchanges),
        "failures": [
            f"{e.purpose}: " + (f"HTTP {e.status}" if e.status else "no response")
            for e in exchanges
            if e.error
        ],
        **paging_facts(seen, largest_limit),
        **field_facts(stream, rows, hasher),
        "response_times": response_times(exchanges),
        "statuses": statuses(exchanges),
        "rate_limit_headers": headers,
    }
    if stream.name == "calls":
        facts["date_from"] = date_from_verdict(seen)
        facts["transcripts"] = transcript_verdict(seen)
    return facts
