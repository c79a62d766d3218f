"""The API's timestamp variants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tap_contactship.timestamps import (
    TimestampError,
    canonical,
    canonical_timestamp,
    parse_timestamp,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15T10:00:00Z", datetime(2026, 1, 15, 10, tzinfo=UTC)),
        ("2026-01-15T10:00:00.5Z", datetime(2026, 1, 15, 10, 0, 0, 500000, tzinfo=UTC)),
        (
            "2026-01-15T10:00:00.123456789Z",
            datetime(2026, 1, 15, 10, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2026-01-15T12:00:00+02:00", datetime(2026, 1, 15, 10, tzinfo=UTC)),
        ("2026-01-15 10:00:00", datetime(2026, 1, 15, 10, tzinfo=UTC)),
        ("2026-01-15", datetime(2026, 1, 15, tzinfo=UTC)),
    ],
)
def test_variants_read_as_the_same_instant(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z"])
def test_garbage_is_refused_quoting_at_most_40_characters(value):
    with pytest.raises(TimestampError, match="not an ISO 8601 timestamp"):
        parse_timestamp(value)


def test_instants_are_written_in_utc_with_microseconds_and_z():
    moment = datetime(2026, 1, 15, 12, tzinfo=timezone(timedelta(hours=2)))

    assert canonical_timestamp(moment) == "2026-01-15T10:00:00.000000Z"


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-21T02:10:00Z",
        "2026-03-21T02:10:00.000Z",
        "2026-03-21T02:10:00.000000Z",
        "2026-03-21T04:10:00+02:00",
        "2026-03-21T02:10:00.000000+00:00",
        "2026-03-21 02:10:00",
        "2026-03-20T23:10:00.0-03:00",
    ],
)
def test_every_style_of_one_instant_has_one_canonical_form(value):
    assert canonical(value) == "2026-03-21T02:10:00.000000Z"


def test_canonical_strings_sort_as_their_instants():
    values = [
        "2026-03-21T02:10:00.5Z",
        "2026-03-21T02:10:00Z",
        "2026-03-21T02:10:00.000Z",
        "2026-03-21T04:09:59.999999+02:00",
        "2026-03-21T02:10:01Z",
    ]

    by_string = sorted(values, key=canonical)
    by_instant = sorted(values, key=parse_timestamp)
    assert [parse_timestamp(v) for v in by_string] == [
        parse_timestamp(v) for v in by_instant
    ]


# Issue 27, case 4: the fast path must be as strict as parsing.

_DIGIT_OR_NOT = st.sampled_from("0123456789" * 4 + "9:-T.Za ٣")


@st.composite
def fixed_width(draw: st.DrawFn) -> str:
    """`…:SSZ`, `…:SS.mmmZ` or `…:SS.ffffffZ`: separators where the fast path
    looks, any digit (or, now and then, not a digit) everywhere else."""
    fraction = draw(st.sampled_from(["", ".000", ".000000"]))
    shape = "dddd-dd-ddTdd:dd:dd" + fraction.replace("0", "d") + "Z"
    return "".join(draw(_DIGIT_OR_NOT) if c == "d" else c for c in shape)


def reference(value: str) -> str | None:
    """`datetime.fromisoformat`'s reading of a `Z` value, canonical; None if none."""
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    if not value.isascii():
        return None  # fromisoformat reads other scripts' digits; the API writes none
    return canonical_timestamp(moment)


def canonical_or_none(value: str) -> str | None:
    try:
        return canonical(value)
    except TimestampError:
        return None


@given(fixed_width())
@example("2026-03-21T00:25:99Z")
@example("2026-13-45T99:99:99Z")
@example("2026-02-29T00:00:00.000Z")
@example("2024-02-29T23:59:59.999999Z")
def test_fixed_width_values_are_read_as_fromisoformat_reads_them(value):
    assert canonical_or_none(value) == reference(value)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=14))]),
    ),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
    st.booleans(),
)
def test_every_real_instant_is_read_back_exactly(moment, precision, zulu):
    text = moment.isoformat(timespec=precision)
    if zulu and moment.utcoffset() == timedelta(0):
        text = text.replace("+00:00", "Z")
    moment = datetime.fromisoformat(text)  # what the text says, at its precision
    assert canonical(text) == canonical_timestamp(moment)


@pytest.mark.parametrize(
    "value",
    ["2026-W12-3T00:25:09Z", "2026-03-21T00:25:09.12a456Z", "2026-03-21T00:25:09.1 Z"],
)
def test_shapes_that_are_not_the_canonical_one_are_parsed_or_refused(value):
    result = canonical_or_none(value)
    assert result is None or result == canonical_timestamp(parse_timestamp(value))
