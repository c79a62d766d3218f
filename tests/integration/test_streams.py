"""calls (incremental, look-back), agents (two envelopes), contacts (paged or not)."""

from __future__ import annotations

import itertools
import signal
import threading
from datetime import datetime, timedelta, timezone

import pytest

from tap_contactship.errors import ExitCode
from tap_contactship.tap import TapContactship
from tests.conftest import batch_config, emitted, sync, tap_config, unversioned
from tests.fake_contactship import EPOCH, Response, make_call
from tests.worlds import batch_rows

CALLS = "/v1/calls"
LOOKBACK = {"calls_lookback_days": 3}


def sync_calls(api, state=None, **settings):
    return sync(tap_config(api, **settings), streams=["calls"], state=state)


def bookmark_of(run) -> str:
    return run.final_state()["bookmarks"]["calls"]["replication_key_value"]


def state_at(value: str) -> dict:
    return {
        "bookmarks": {
            "calls": {"replication_key": "created_at", "replication_key_value": value}
        }
    }


def created(row) -> datetime:
    """A call's `created_at` (or a calls state's bookmark) as an instant."""
    value = row.get("created_at") or row["replication_key_value"]
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_first_run_reads_every_call_in_order_and_bookmarks_the_last(api):
    api.seed(calls=250)

    run = sync_calls(api)

    assert run.exit_code == 0, run.stderr
    assert run.records("calls") == emitted(sorted(api.calls, key=created))
    first = api.data_requests(CALLS)[0].params
    assert first["order"] == "asc"
    assert "date_from" not in first
    assert "include_transcript" not in first
    assert bookmark_of(run) == emitted(api.calls)[-1]["created_at"]


def test_start_date_bounds_the_first_run(api):
    api.seed(calls=300)  # one every 10 minutes from 2026-01-01T00:00Z

    run = sync_calls(api, start_date="2026-01-02T06:00:00Z")
    assert run.exit_code == 0, run.stderr

    since = datetime(2026, 1, 2, 6, tzinfo=timezone.utc)
    expected = [c["id"] for c in api.calls if created(c) >= since]
    assert run.ids("calls") == expected
    # Day precision and an unknown timezone: ask from the day before, cut here.
    assert api.data_requests(CALLS)[0].params["date_from"] == "2026-01-01"


def test_next_run_rereads_the_lookback_window_exactly(api):
    api.seed(calls=1000)
    bookmark = api.calls[800]["created_at"]

    run = sync_calls(api, state=state_at(bookmark), calls_lookback_days=2)
    assert run.exit_code == 0, run.stderr

    window_start = created(api.calls[800]) - timedelta(days=2)
    expected = [c["id"] for c in api.calls if created(c) >= window_start]
    assert run.ids("calls") == expected
    assert api.data_requests(CALLS)[0].params["date_from"] == (
        (window_start - timedelta(days=1)).date().isoformat()
    )
    assert bookmark_of(run) == emitted(api.calls)[-1]["created_at"]


def test_a_call_that_changes_after_the_first_run_is_emitted_again(api):
    api.seed(calls=60)
    first = sync_calls(api)
    assert first.exit_code == 0, first.stderr
    ringing = api.calls[-2]
    assert first.records("calls")[-2]["call_status"] != "completed"

    ringing.update(call_status="completed", call_result="answered", duration=95)
    api.calls.append(
        {**api.calls[0], "id": "brand-new", "created_at": "2026-01-01T10:05:00Z"}
    )
    second = sync_calls(api, state=first.final_state())
    assert second.exit_code == 0, second.stderr

    again = {r["id"]: r for r in second.records("calls")}
    assert again[ringing["id"]]["call_status"] == "completed"
    assert again[ringing["id"]]["duration"] == 95
    assert "brand-new" in again
    assert bookmark_of(second) >= bookmark_of(first)


def test_the_bookmark_is_the_newest_call_delivered_never_a_state_newer_than_the_api(
    api,
):
    api.seed(calls=50)
    later = "2026-03-01T00:00:00Z"  # newer than every call the API still has

    run = sync_calls(api, state=state_at(later), calls_lookback_days=60)

    assert run.exit_code == 0, run.stderr
    assert len(run.records("calls")) == 50
    # The SDK's bookmark: the newest call delivered. A bookmark the API cannot
    # back (a state from another organization) gives way to what it has, so
    # the next run reads more, never less.
    assert bookmark_of(run) == emitted(api.calls)[-1]["created_at"]


def test_start_date_is_a_floor_for_the_lookback(api):
    api.seed(calls=600)
    bookmark = api.calls[500]["created_at"]

    run = sync_calls(
        api,
        state=state_at(bookmark),
        calls_lookback_days=30,
        start_date=api.calls[400]["created_at"],
    )
    assert run.exit_code == 0, run.stderr

    assert run.ids("calls") == [c["id"] for c in api.calls[400:]]


def test_interrupted_run_resumes_without_losing_calls(api, sleeps):
    api.seed(calls=2600)
    api.hooks.append(
        lambda fake, seen: (
            Response(503, b"down")
            if seen.path == CALLS and int(seen.params["offset"]) >= 2199
            else None
        )
    )

    broken = sync_calls(api, page_size=100, max_retries=2)

    assert broken.exit_code == ExitCode.API_FAULT
    assert len(broken.records("calls")) == 2201  # pages of 101 rows, overlapping by 1
    checkpoint = broken.final_state()  # a STATE is written every 1000 calls
    # The SDK's marker says the run did not finish: the next one resumes.
    assert "starting_replication_value" in checkpoint["bookmarks"]["calls"]
    assert bookmark_of(broken) == emitted(api.calls)[1999]["created_at"]

    api.hooks.clear()
    resumed = sync_calls(api, state=checkpoint, page_size=100, calls_lookback_days=1)

    assert resumed.exit_code == 0, resumed.stderr
    delivered = set(broken.ids("calls")) | set(resumed.ids("calls"))
    assert delivered == {c["id"] for c in api.calls}
    # It continued where the broken run's last STATE was: the 600 calls after
    # it and the one that STATE names, no look-back.
    assert len(resumed.records("calls")) == 600 + 1
    assert bookmark_of(resumed) == emitted(api.calls)[-1]["created_at"]


def test_transcripts_are_requested_only_when_enabled(api):
    api.seed(calls=5)

    off = sync_calls(api)
    assert off.exit_code == 0, off.stderr
    on = sync_calls(api, include_transcripts=True)
    assert on.exit_code == 0, on.stderr

    assert all("chat_history" not in r for r in off.records("calls"))
    params = api.data_requests(CALLS)[-1].params
    assert params["include_transcript"] == "true"
    assert params["transcript_format"] == "json"
    transcript = on.records("calls")[0]["chat_history"]
    assert transcript[0] == {"role": "agent", "content": "Hi, this is Sarah."}


def test_open_objects_keep_unknown_sub_fields(api):
    api.seed(calls=1)

    run = sync_calls(api)
    assert run.exit_code == 0, run.stderr
    record = run.records("calls")[0]

    assert record["contact"]["crm_owner"] == "extra field kept"
    assert record["call_analysis"]["score"] == 0


@pytest.mark.parametrize("agents", [0, 3, 250])
def test_agents_documented_envelope_is_one_request(api, agents):
    api.seed(agents=agents)

    run = sync(tap_config(api), streams=["agents"])

    assert run.exit_code == 0, run.stderr
    assert unversioned(run.records("agents")) == emitted(api.agents)
    assert len(api.data_requests("/v1/agents")) == 1


def test_agents_count_envelope_is_paged(api):
    api.seed(agents=250)
    api.agents_envelope = "count"

    run = sync(tap_config(api, page_size=100), streams=["agents"])
    assert run.exit_code == 0, run.stderr

    assert sorted(run.ids("agents")) == sorted(a["id"] for a in api.agents)
    assert len(api.data_requests("/v1/agents")) == 3
    record = run.records("agents")[0]
    assert record["tools"][0]["type"] == "calendar"
    assert len(record["prompt"]) > 1000


def test_contact_ids_are_opaque_strings(api):
    api.seed(contacts=2)

    run = sync(tap_config(api), streams=["contacts"])
    assert run.exit_code == 0, run.stderr

    assert run.ids("contacts")[0] == "c1a2b3c4-d5e6-f7g8-h9i0-000000000000"
    assert run.records("contacts")[1]["additional_data"][1]["value"] == 1


def test_undeclared_fields_are_dropped_with_one_warning(api, caplog):
    api.seed_phone_numbers(3)
    for row in api.phone_numbers:
        row["beta_flag"] = True

    run = sync(tap_config(api), streams=["phone_numbers"])

    assert run.exit_code == 0
    assert all("beta_flag" not in r for r in run.records())
    # `post_process` drops them (the SDK's conformance is off) and says so
    # once, in the SDK's words.
    assert (
        caplog.text.count(
            "Properties ('beta_flag',) were present in the 'phone_numbers' stream "
            "but not found in catalog schema. Ignoring."
        )
        == 1
    )


def test_timestamps_in_every_documented_style_are_read(api):
    api.seed(calls=3)
    api.calls[0]["created_at"] = "2026-01-01T00:00:00.000Z"
    api.calls[1]["created_at"] = "2026-01-01T00:10:00.123456+00:00"
    bookmark = "2026-01-01T00:05:00Z"

    run = sync_calls(api, state=state_at(bookmark), calls_lookback_days=0)
    assert run.exit_code == 0, run.stderr

    assert run.ids("calls") == [api.calls[1]["id"], api.calls[2]["id"]]


def test_a_garbled_timestamp_is_one_clear_error(api):
    api.seed(calls=3)
    api.calls[1]["created_at"] = "2026-01-01T00:10:00Z-garbled"

    run = sync_calls(api)

    assert run.exit_code == ExitCode.API_FAULT
    assert run.stderr.strip().splitlines()[-1] == (
        "tap-contactship: error: the API returned a `calls.created_at` that is not "
        f"a valid ISO 8601 timestamp in the row with id {api.calls[1]['id']!r}: "
        "'2026-01-01T00:10:00Z-garbled'"
    )


def test_a_corrupt_bookmark_is_one_clear_error(api):
    api.seed(calls=3)

    run = sync_calls(api, state=state_at("not-a-date"))

    assert run.exit_code == ExitCode.CONFIG
    assert (
        "the state's `calls` bookmark is not a timestamp" in run.stderr.splitlines()[-1]
    )


def test_every_timestamp_reaches_the_target_in_utc_with_z(api):
    api.seed(calls=3)
    api.calls[0]["start_at"] = "2026-01-01T02:00:00+02:00"
    api.calls[0]["finished_at"] = "2026-01-01 00:03:00.5"
    api.calls[1]["created_at"] = "2026-01-01T05:10:00.123456+05:00"
    api.calls[2]["created_at"] = "2026-01-01T00:20:00.000Z"

    run = sync_calls(api)

    assert run.exit_code == 0, run.stderr
    first, second, third = run.records("calls")
    assert first["start_at"] == "2026-01-01T00:00:00.000000Z"
    assert first["finished_at"] == "2026-01-01T00:03:00.500000Z"
    assert second["created_at"] == "2026-01-01T00:10:00.123456Z"
    assert third["created_at"] == "2026-01-01T00:20:00.000000Z"
    assert bookmark_of(run) == "2026-01-01T00:20:00.000000Z"


def test_a_garbled_timestamp_in_another_field_names_it(api):
    api.seed(calls=2)
    api.calls[1]["finished_at"] = "half past ten"

    run = sync_calls(api)

    assert run.exit_code == ExitCode.API_FAULT
    assert run.stderr.strip().splitlines()[-1] == (
        "tap-contactship: error: the API returned a `calls.finished_at` that is not "
        f"a valid ISO 8601 timestamp in the row with id {api.calls[1]['id']!r}: "
        "'half past ten'"
    )


def test_every_column_has_a_type_and_every_object_lands_whole():
    """What targets do with our SCHEMA: a column without a type is dropped by
    target-duckdb; an object with declared properties keeps only those in
    z3's BigQuery RECORDs. So every field is typed, and objects (and array
    items) declare no properties, whatever the API adds later."""
    catalog = TapContactship(config={"api_key": "unused-key"}).catalog_dict
    for stream in catalog["streams"]:
        for name, schema in stream["schema"]["properties"].items():
            assert schema.get("type"), (stream["tap_stream_id"], name)
            for part in (schema, schema.get("items", {})):
                if "object" in part.get("type", []):
                    assert not part.get("properties"), (stream["tap_stream_id"], name)
                    assert part.get("additionalProperties") is True


def delivered_calls(run, *, batch: bool) -> list[str]:
    """The ids of the calls a run handed over, in RECORD or in BATCH messages."""
    if not batch:
        return run.ids("calls")
    return [
        row["id"]
        for message in run.of_type("BATCH")
        if message["stream"] == "calls"
        for row in batch_rows(message)
    ]


@pytest.mark.parametrize("batch", [False, True], ids=["RECORD", "BATCH"])
def test_a_sync_interrupted_every_5000_calls_finishes_rereading_one_call_a_resume(
    api, sleeps, tmp_path, batch
):
    """Issue #30, case 1: the look-back (3 days, 8,640 calls here) is longer
    than what a run gets through before SIGTERM (4,500 calls past where it
    starts); each resumed run must still get further than the one before.
    In BATCH mode a run hands over whole files of 1,000 calls only."""
    batching = {"batch_config": batch_config(tmp_path, size=1_000)} if batch else {}
    api.calls = [
        make_call(n, created=EPOCH + timedelta(seconds=30 * n)) for n in range(12_000)
    ]
    # The last finished run stopped at call 8,000: its look-back reaches back
    # to the first call, so 12,000 calls remain to read.
    state = state_at(emitted(api.calls)[8_000]["created_at"])
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    start = EPOCH
    skipped: dict[tuple[str, datetime], int] = {}

    def terminate_4500_calls_past_the_start(fake, seen):
        if seen.path != CALLS:
            return
        # `date_from` is a day: the calls before the run's start that it
        # brings are read (and dropped) first.
        day = seen.params["date_from"]
        if (day, start) not in skipped:
            since = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
            skipped[day, start] = sum(since <= created(c) < start for c in fake.calls)
        if int(seen.params["offset"]) == skipped[day, start] + 4_500:
            signal.pthread_kill(main_thread, signal.SIGTERM)

    api.hooks.append(terminate_4500_calls_past_the_start)
    runs: list = []
    while len(runs) < 10:
        bookmark = created(state["bookmarks"]["calls"])
        resumed = "starting_replication_value" in state["bookmarks"]["calls"]
        start = bookmark if resumed else bookmark - timedelta(days=3)
        run = sync_calls(
            api,
            state=state,
            page_size=100,
            max_concurrent_requests=1,
            **LOOKBACK,
            **batching,
        )
        runs.append(run)
        state = run.final_state()
        if run.exit_code == 0:
            break
        assert run.exit_code == 143, run.stderr
        assert 0 < len(delivered_calls(run, batch=batch)) <= 5_000

    assert runs[-1].exit_code == 0, f"not finished after {len(runs)} runs"
    delivered = [set(delivered_calls(run, batch=batch)) for run in runs]
    assert set().union(*delivered) == {c["id"] for c in api.calls}
    for before, after in itertools.pairwise(delivered):
        # The call the interrupted run's last STATE names, and no other.
        assert len(before & after) == 1
    assert bookmark_of(runs[-1]) == emitted(api.calls)[-1]["created_at"]
