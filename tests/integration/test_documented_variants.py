"""Every stream selected together, against the API's other documented shapes.

Each test here is a bug a user met while the suite ran one stream at a time
against whole-second `Z` timestamps and honest counts.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import emitted, sync, tap_config
from tests.fake_contactship import PATHS

STREAMS = ["phone_numbers", "calls", "agents", "contacts"]


def kinds_of(run, stream: str) -> list[str]:
    """The types of the stream's messages and of every STATE, in order."""
    return [
        m["type"]
        for m in run.messages
        if m.get("stream") == stream or m["type"] == "STATE"
    ]


def test_a_cut_contacts_list_is_never_retired_by_the_streams_around_it(api):
    api.seed_phone_numbers(30)
    api.seed(calls=40, agents=3, contacts=150)
    api.contacts_paging = False  # as documented: no paging, at most 100 rows

    run = sync(tap_config(api, emit_activate_version_messages=True), streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    activated = [m["stream"] for m in run.of_type("ACTIVATE_VERSION")]
    assert sorted(activated) == ["agents", "phone_numbers"]
    assert "contacts: the list may be incomplete" in run.stderr
    for stream in activated:
        kinds = kinds_of(run, stream)
        last_record = len(kinds) - 1 - kinds[::-1].index("RECORD")
        assert kinds[last_record + 1 : last_record + 3] == [
            "ACTIVATE_VERSION",
            "STATE",
        ], stream


@pytest.mark.parametrize("lookback_days", [0, 3])
def test_millisecond_timestamps_keep_incremental_calls_running(api, lookback_days):
    api.seed_phone_numbers(5)
    api.seed(calls=30, agents=2, contacts=5)
    for stream in STREAMS:
        api.variants[stream].timestamps = ".000Z"
    config = tap_config(api, calls_lookback_days=lookback_days)

    first = sync(config, streams=STREAMS)
    assert first.exit_code == 0, first.stderr
    api.seed(calls=45, agents=2, contacts=5)  # 15 calls more
    second = sync(config, streams=STREAMS, state=first.final_state())

    assert second.exit_code == 0, second.stderr
    delivered = {c["id"] for run in (first, second) for c in run.records("calls")}
    assert delivered == {c["id"] for c in api.calls}
    if lookback_days == 0:  # from the bookmark's own call on
        assert second.ids("calls") == [c["id"] for c in api.calls[29:]]
    bookmark = second.final_state()["bookmarks"]["calls"]["replication_key_value"]
    assert bookmark == emitted(api.calls)[-1]["created_at"]


def test_a_count_that_is_too_high_costs_at_most_two_requests_more(api):
    api.seed_phone_numbers(120)
    api.seed(calls=10, agents=2, contacts=5)
    api.variants["phone_numbers"].count_error = 40

    run = sync(tap_config(api, page_size=50, max_concurrent_requests=6))

    assert run.exit_code == 0, run.stderr
    assert run.ids("phone_numbers") == [r["id"] for r in api.phone_numbers]
    # ceil((120 - 1) / 50) = 3 requests read every row.
    assert len(api.data_requests(PATHS["phone_numbers"])) <= 3 + 2
    assert "phone_numbers: the API reported count=160" in run.stderr


@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"stream_maps": {"calls": {"minutes": "duration / 0"}}}, "ZeroDivisionError"),
        (
            {"stream_maps": {"calls": {"x": "undefined_name + 1"}}},
            "MapExpressionError: Failed to evaluate",
        ),
        (
            {
                "batch_config": {
                    "encoding": {"format": "parquet"},
                    "storage": {"root": "file://{tmp}"},
                }
            },
            "ModuleNotFoundError: No module named 'pyarrow'",
        ),
    ],
)
def test_an_error_raised_inside_the_sdk_is_one_line_not_a_traceback(
    api, tmp_path, settings, cause
):
    api.seed_phone_numbers(3)
    api.seed(calls=3, agents=1, contacts=1)
    settings = json.loads(json.dumps(settings).replace("{tmp}", str(tmp_path)))

    run = sync(tap_config(api, **settings), streams=STREAMS)

    assert run.exit_code == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith("tap-contactship: error: the sync failed: " + cause)


def test_in_batch_mode_a_version_follows_the_streams_last_batch_not_a_cut_list(
    api, tmp_path
):
    api.seed_phone_numbers(30)
    api.seed(calls=40, agents=3, contacts=150)
    api.contacts_paging = False
    config = tap_config(
        api,
        emit_activate_version_messages=True,
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
            "batch_size": 7,
        },
    )

    run = sync(config, streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    activated = [m["stream"] for m in run.of_type("ACTIVATE_VERSION")]
    assert sorted(activated) == ["agents", "phone_numbers"]
    for stream in activated:
        kinds = kinds_of(run, stream)
        # Right after its last BATCH, before any later STATE (the SDK writes
        # none after an unchanged one: then it ends the output).
        last_batch = len(kinds) - 1 - kinds[::-1].index("BATCH")
        assert kinds[last_batch + 1] == "ACTIVATE_VERSION", stream
