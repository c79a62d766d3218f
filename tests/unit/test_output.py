"""The fast RECORD writer says exactly what the SDK's writer says."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_contactship.output import BufferedSingerWriter

EXTRACTED = datetime(2026, 11, 26, 18, 0, 1, 123456, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "record",
    [
        {
            "id": "pn-1",
            "phone_number": "+12025550000",
            "created_at": "2026-01-01T00:00:00Z",
        },
        {"id": "c-1", "full_name": "José Ñúñez", "country": "México", "emoji": "📞"},
        {"id": "a-1", "volume": 1.2, "tools": [{"name": "book"}], "empty": None},
        {"id": "x", "when": EXTRACTED, "amount": Decimal("12.50"), "count": Decimal(3)},
        {"id": "n", "score": float("nan")},
        {"id": "d", "day": date(2026, 1, 2)},
        {"id": "big", "n": 2**70, "neg": -(2**65)},
        {"id": 'quote"and\\backslash', "nested": {"a": [1, 2, {"b": True}]}},
    ],
)
@pytest.mark.parametrize("version", [None, 1764180000])
def test_record_lines_parse_the_same_as_the_sdks(record, version):
    message = RecordMessage(
        stream="phone_numbers", record=record, version=version, time_extracted=EXTRACTED
    )

    ours = BufferedSingerWriter().serialize_message(message)
    theirs = SingerWriter().serialize_message(message)

    assert json.loads(ours) == json.loads(theirs)
    assert "\n" not in ours


def test_records_are_held_until_a_state_and_then_come_first(capsys):
    writer = BufferedSingerWriter()
    writer.write_message(RecordMessage(stream="s", record={"id": 1}))
    writer.write_message(RecordMessage(stream="s", record={"id": 2}))
    assert capsys.readouterr().out == ""

    writer.write_message(StateMessage(value={"bookmarks": {}}))

    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["RECORD", "RECORD", "STATE"]
