"""Every stream selected together, against the API's other documented shapes.

Each test here is a bug a user met while the suite ran one stream at a time
against whole-second `Z` timestamps and honest counts.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tests.catalogs import catalog
from tests.conftest import batch_config, emitted, sync, tap_config
from tests.fake_contactship import PATHS
from tests.worlds import batch_rows

STREAMS = ["phone_numbers", "calls", "agents", "contacts"]


def kinds_of(run, stream: str) -> list[str]:
    """The types of the stream's messages and of every STATE, in order."""
    return [
        m["type"]
        for m in run.messages
        if m.get("stream") == stream or m["type"] == "STATE"
    ]


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


def test_in_batch_mode_no_version_is_activated_and_a_cut_list_is_still_loaded(
    api, tmp_path
):
    api.seed_phone_numbers(30)
    api.seed(calls=40, agents=3, contacts=150)
    api.contacts_paging = False
    config = tap_config(
        api,
        emit_activate_version_messages=True,
        batch_config=batch_config(
            f"file://{tmp_path}", "gzip", size=7, prefix="batch-"
        ),
    )

    run = sync(config, streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    # Batch rows carry no table version: target-postgres deletes rows whose
    # version is NULL on ACTIVATE_VERSION, so it would delete them all.
    assert run.of_type("ACTIVATE_VERSION") == []
    for stream in STREAMS:
        assert f"{stream}: emit_activate_version_messages does not apply" in (
            run.stderr
        )
    contacts = [
        row
        for m in run.of_type("BATCH")
        if m["stream"] == "contacts"
        for row in batch_rows(m)
    ]
    assert len(contacts) == 100
    assert "contacts: the API ignores limit/offset" in run.stderr


@pytest.mark.parametrize("style", [None, "Z", ".000Z", "+02:00", "micro", "mixed"])
def test_every_record_matches_its_schema_types_and_formats_included(api, style):
    api.seed_phone_numbers(12)
    api.seed(calls=25, agents=3, contacts=7)
    for stream in STREAMS:
        api.variants[stream].timestamps = style
        rows = getattr(api, stream)
        rows[0]["beta_field"] = {"nested": True}  # undeclared: dropped

    run = sync(tap_config(api, include_transcripts=True), streams=STREAMS)

    assert run.exit_code == 0, run.stderr

    def canonical_date_time(value: object) -> bool:
        # The tap's one form: UTC, microseconds, `Z`.
        return not isinstance(value, str) or bool(
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
        )

    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(canonical_date_time)

    schemas = {m["stream"]: m["schema"] for m in run.of_type("SCHEMA")}
    for stream in STREAMS:
        validator = Draft7Validator(schemas[stream], format_checker=checker)
        records = run.records(stream)
        assert records, stream
        for record in records:
            validator.validate(record)
            assert record.keys() <= schemas[stream]["properties"].keys()


@pytest.mark.parametrize("batch", [False, True])
def test_a_deselected_field_is_in_no_record_and_no_batch_file(api, tmp_path, batch):
    api.seed_phone_numbers(5)
    selection = catalog(["phone_numbers"])
    (entry,) = [
        s for s in selection["streams"] if s["tap_stream_id"] == "phone_numbers"
    ]
    for item in entry["metadata"]:
        if item["breadcrumb"] == ["properties", "phone_number"]:
            item["metadata"]["selected"] = False
    config = tap_config(api)
    if batch:
        config["batch_config"] = batch_config(tmp_path)
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(selection))

    run = sync(config, "--catalog", str(catalog_file))

    assert run.exit_code == 0, run.stderr
    rows = batch_rows(run.of_type("BATCH")[0]) if batch else run.records()
    assert len(rows) == 5
    assert all("phone_number" not in row and "type" in row for row in rows)
