"""The API's timestamp variants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tap_contactship.timestamps import TimestampError, iso_timestamp, parse_timestamp

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


def test_bookmarks_are_written_in_utc_like_the_api():
    moment = datetime(2026, 1, 15, 12, tzinfo=timezone(timedelta(hours=2)))

    assert iso_timestamp(moment) == "2026-01-15T10:00:00Z"


def test_values_already_in_utc_with_z_pass_unchanged_others_are_rewritten():
    from tap_contactship.timestamps import utc_z

    assert utc_z("2026-01-15T10:00:00.123Z") == "2026-01-15T10:00:00.123Z"
    assert utc_z("2026-01-15T12:00:00+02:00") == "2026-01-15T10:00:00Z"
    assert utc_z("2026-01-15 10:00:00.25") == "2026-01-15T10:00:00.250000Z"
