"""The API's timestamp variants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

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
