"""Invariants of the real command on generated worlds, every stream selected.

CI runs the `ci` profile (derandomized, a fixed number of examples); a
developer hunting for bugs runs thousands:

    .venv/bin/pytest tests/integration/test_properties.py --hypothesis-profile=long

A failure Hypothesis shrinks is kept below as an `@example`, so it runs on
every later run whatever the profile draws.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tap_contactship.client import ContactshipStream
from tests.conftest import FakeClock, Run, batch_config, instant, sync, unversioned
from tests.fake_contactship import (
    EPOCH,
    FakeContactship,
    Response,
    Seen,
    make_call,
    make_contact,
)
from tests.worlds import (
    FULL_TABLE,
    KEY,
    STREAMS,
    Snapshot,
    Staging,
    Warehouse,
    World,
    batch_rows,
    bookmark,
    check_activate_version,
    check_bookmark,
    check_one_line_or_success,
    check_records,
    check_requests,
    cut_after_state,
    interrupted,
    seconds_apart,
    worlds,
)


@contextlib.contextmanager
def served(world: World) -> Iterator[FakeContactship]:
    """The world's fake API, with the tap's waits recorded instead of slept."""
    with (
        FakeContactship() as api,
        mock.patch.object(ContactshipStream, "clock", FakeClock().clock),
    ):
        world.build(api)
        yield api


def run_asserting_every_invariant(
    api: FakeContactship, world: World, state: dict | None = None
) -> tuple[Run, Snapshot, Snapshot]:
    before = Snapshot.of(api)
    run = sync(world.config(api), state=state)
    after = Snapshot.of(api)
    check_one_line_or_success(run)
    assert run.exit_code == 0, run.stderr
    check_records(run, world, before, after, state)
    check_activate_version(run, world, before, after)
    check_bookmark(run, state)
    return run, before, after


@given(worlds())
# Found on the way (shrunk by Hypothesis): a `count` one too low, the last page
# ending exactly at it: the third call was never read.
@example(
    World.plain(created={"calls": [EPOCH] * 3}, count_errors={"calls": -1}, page_size=1)
)
# A server capping pages at one row and a `count` too low: a short page that
# reached `count` was taken for the end.
@example(
    World.plain(
        created={"phone_numbers": [EPOCH] * 2},
        count_errors={"phone_numbers": -1},
        max_limits={"phone_numbers": 1},
        page_size=1,
    )
)
# Contacts ignoring paging with a single contact: probes for a second row met
# the same row at every offset and looped until the request budget ran out.
@example(
    World.plain(created={"contacts": [EPOCH]}, contacts_paging=False, page_size=11)
)
# A number released behind the reader between two pages: every later row
# slides one place forward, and only the overlap row shows it (a deliberate
# bug, skipping the overlap, went unnoticed by the drawn worlds).
@example(
    World.plain(
        created={"phone_numbers": seconds_apart(30)},
        churn=[(2, "release_number", 2)],
    )
)
# A call created between the first two pages, with a `count` too high: two
# short pages of the same length looked like a cap of 2, and the pages fetched
# ahead at that stride were wasted (the bound allows as many as are in flight).
@example(
    World.plain(
        created={"calls": [EPOCH] * 2},
        count_errors={"calls": 6},
        page_size=6,
        concurrency=6,
        churn=[(1, "add_call", 0)],
    )
)
# One number, a server serving one row per request and a `count` too high:
# pages were fetched ahead of a probe (a read whose answer decides what
# follows) into rows that did not exist.
@example(
    World.plain(
        created={"phone_numbers": [EPOCH]},
        count_errors={"phone_numbers": 5},
        max_limits={"phone_numbers": 1},
        page_size=1,
        concurrency=5,
    )
)
# A server serving one row per request, and the first number released between
# two requests: the probe for the second row met an empty page (the row had
# slid into the first place) and the list seemed to end there. A probe has no
# anchor; a `count` that dropped shows the shift now.
@example(
    World.plain(
        created={"phone_numbers": [EPOCH] * 2},
        max_limits={"phone_numbers": 1},
        page_size=1,
        churn=[(1, "release_number", 0)],
    )
)
# The case: a `count` 40 too high, taken for a cap, planned pages ahead
# at the short page's stride (a deliberate bug the drawn worlds missed).
@example(
    World.plain(
        created={"phone_numbers": seconds_apart(120)},
        count_errors={"phone_numbers": 40},
        page_size=50,
        concurrency=6,
    )
)
def test_every_world_is_read_exactly_once_within_the_request_bound(world):
    with served(world) as api:
        _, before, after = run_asserting_every_invariant(api, world)
        check_requests(api, world, before, after)


@given(worlds(misbehave=False), st.integers(0, 20), st.integers(0, 80))
def test_a_later_run_reads_the_look_back_and_new_calls_with_current_values(
    world, new_calls, changed
):
    with served(world) as api:
        first, _, _ = run_asserting_every_invariant(api, world)
        latest = max((instant(c["created_at"]) for c in api.calls), default=None)
        for n in range(new_calls):
            moment = (latest or instant("2026-01-01T00:00:00Z")) + timedelta(
                seconds=n, milliseconds=500 * (n % 2)
            )
            api.calls.append(make_call(len(api.calls), created=moment))
        if api.calls:
            api.calls[changed % len(api.calls)]["call_status"] = "completed"
        second, _, after = run_asserting_every_invariant(
            api, world, state=first.final_state()
        )

    # Current values for every call in the window the second run re-read.
    delivered = {row["id"]: row for row in second.records("calls")}
    for call_id, row in after.rows["calls"].items():
        if call_id in delivered:
            assert delivered[call_id] == row


@given(worlds(misbehave=False), st.integers(0, 1000))
def test_cutting_stdout_after_any_state_and_resuming_delivers_the_rest(world, which):
    with served(world) as api:
        first, _, _ = run_asserting_every_invariant(api, world)
        kept, state = cut_after_state(first, which)
        warehouse = Warehouse()
        warehouse.load(kept, run=1)
        resumed, _, after = run_asserting_every_invariant(api, world, state=state)
        warehouse.load(resumed.messages, run=2)

    for stream in STREAMS:
        expected = set(after.rows[stream])
        if stream == "contacts" and not world.contacts_paging:
            expected = set(list(after.rows[stream])[:100])
        assert set(warehouse.rows(stream)) == expected, stream


@given(
    worlds(misbehave=False),
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 6), st.integers(0, 10**6)),
        min_size=1,
        max_size=4,
    ),
)
def test_resuming_again_and_again_while_calls_arrive_rereads_at_most_a_page(
    world, cuts
):
    """After a finished run, runs cut after any STATE and resumed, any number
    of times, while calls are created and changed: every call is delivered,
    and a run that resumes an interrupted one re-emits only the calls created
    at the instant its state names (at most a page), never the look-back."""
    with served(world) as api:
        config = world.config(api)
        finished = sync(config)
        assert finished.exit_code == 0, finished.stderr
        state = finished.final_state()
        delivered = set(finished.ids("calls"))
        for which, new_calls, changed in cuts:
            newest = max((instant(c["created_at"]) for c in api.calls), default=EPOCH)
            for n in range(new_calls):
                moment = newest + timedelta(seconds=n + 1)
                api.calls.append(make_call(len(api.calls), created=moment))
            if api.calls:
                api.calls[changed % len(api.calls)]["call_status"] = "completed"
            run = sync(config, state=state)
            assert run.exit_code == 0, run.stderr
            kept, cut = cut_after_state(run, which)
            ids = [
                m["record"]["id"]
                for m in kept
                if m["type"] == "RECORD" and m["stream"] == "calls"
            ]
            if interrupted(state):
                check_rereads(api, state, ids, delivered, world.page_size)
            delivered |= set(ids)
            state = cut
        last = sync(config, state=state)
        assert last.exit_code == 0, last.stderr
        if interrupted(state):
            check_rereads(api, state, last.ids("calls"), delivered, world.page_size)
        delivered |= set(last.ids("calls"))

        assert delivered == {c["id"] for c in api.calls}


def check_rereads(
    api: FakeContactship, state: dict, ids: list[str], delivered: set, page: int
) -> None:
    """A resumed run re-emits only calls created when its state's bookmark says."""
    again = {i for i in ids if i in delivered}
    if bookmark(state) is None:  # cut before any call: nothing to re-read
        assert not again
        return
    mark = instant(bookmark(state) or "")
    created = {c["id"]: instant(c["created_at"]) for c in api.calls}
    assert all(created[i] == mark for i in again), "re-read before the bookmark"
    same_instant = sum(moment == mark for moment in created.values())
    assert len(again) <= max(page, same_instant)


@contextlib.contextmanager
def batch_mode(compression: str, size: int) -> Iterator[tuple[dict, Path]]:
    """The `batch_config` setting, and the folder its files go to."""
    with tempfile.TemporaryDirectory() as folder:
        setting = batch_config(folder, compression, size=size)
        yield {"batch_config": setting}, Path(folder)


def batches(run: Run) -> dict[str, list[list[dict]]]:
    """Each stream's batch files, as lists of rows, in the order announced."""
    files: dict[str, list[list[dict]]] = {stream: [] for stream in STREAMS}
    for message in run.of_type("BATCH"):
        files[message["stream"]].append(batch_rows(message))
    return files


@given(
    worlds(misbehave=False),
    st.sampled_from(["none", "gzip"]),
    st.integers(1, 30),
)
def test_batch_files_hold_the_record_output_row_for_row(world, compression, size):
    with served(world) as api:
        records, _, _ = run_asserting_every_invariant(api, world)
    with served(world) as api, batch_mode(compression, size) as (setting, folder):
        run = sync(world.config(api, **setting))
        check_one_line_or_success(run)
        assert run.exit_code == 0, run.stderr
        files = batches(run)
        names = {p.name for p in folder.iterdir()}

    # Only `whole_reads` is RECORDs: the same lists read whole, the same sizes.
    reads = run.records("whole_reads")
    assert run.records() == reads
    assert [(r["stream"], r["row_count"]) for r in reads] == [
        (r["stream"], r["row_count"]) for r in records.records("whole_reads")
    ]
    assert run.of_type("ACTIVATE_VERSION") == []
    assert len(names) == len(run.of_type("BATCH")), "a file nobody announced"
    for stream in STREAMS:
        rows = [row for file in files[stream] for row in file]
        assert unversioned(rows) == unversioned(records.records(stream)), stream
        sizes = [len(file) for file in files[stream]]
        assert (
            all(n == size for n in sizes[:-1]) and 0 < sizes[-1] <= size
            if sizes
            else True
        )
    assert bookmark(run.final_state()) == bookmark(records.final_state())
    marks = [
        mark
        for mark in (bookmark(m["value"]) for m in run.of_type("STATE"))
        if mark is not None
    ]
    assert marks == sorted(marks), "a STATE moved the calls bookmark back"


@given(worlds(misbehave=False), st.integers(1, 12), st.integers(0, 1000))
def test_cutting_batch_output_after_any_state_and_resuming_delivers_the_rest(
    world, size, which
):
    with served(world) as api, batch_mode("none", size) as (setting, _):
        config = world.config(api, **setting)
        first = sync(config)
        assert first.exit_code == 0, first.stderr
        kept, state = cut_after_state(first, which)
        warehouse = Warehouse()
        warehouse.load(kept, run=1)
        resumed = sync(config, state=state)
        assert resumed.exit_code == 0, resumed.stderr
        warehouse.load(resumed.messages, run=2)
        after = Snapshot.of(api)

    for stream in STREAMS:
        expected = set(after.rows[stream])
        if stream == "contacts" and not world.contacts_paging:
            expected = set(list(after.rows[stream])[:100])
        assert set(warehouse.rows(stream)) == expected, stream


class Organization(RuleBasedStateMachine):
    """Hourly runs against an organization that changes between them.

    After every run the warehouse (upserts, ACTIVATE_VERSION deletes) still
    holds every row the API has; after a complete run it holds exactly the
    API's full-table lists, every call, and current values for every call in
    the window that run re-read. Runs may be cut after any STATE (a killed
    loader) or fail midway (an API that went down).
    """

    LOOKBACK_DAYS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = mock.patch.object(ContactshipStream, "clock", FakeClock().clock)
        self.sleeping.start()
        self.api = FakeContactship().start()
        self.api.api_key = KEY
        self.api.seed_phone_numbers(12)
        self.api.seed(calls=25, agents=2, contacts=9)
        self.warehouse = Warehouse()
        self.staging = Staging()
        #: Every id a run handed to the warehouse.
        self.ever: dict[str, set[str]] = {stream: set() for stream in STREAMS}
        self.state: dict | None = None
        self.runs = 0
        #: Whether nothing changed since the last complete run.
        self.synced = False
        #: Where that run started re-reading calls; None: every call.
        self.reread_from: datetime | None = None

    def teardown(self) -> None:
        self.api.stop()
        self.sleeping.stop()

    def config(self, **overrides) -> dict:
        return {
            "api_key": KEY,
            "api_url": self.api.url,
            "page_size": 5,
            "calls_lookback_days": self.LOOKBACK_DAYS,
            "emit_activate_version_messages": True,
            "progress_interval": 0,
            **overrides,
        }

    def changed(self) -> None:
        self.synced = False

    def newest_call(self) -> datetime:
        return max(instant(c["created_at"]) for c in self.api.calls)

    @rule(count=st.integers(1, 8), hours_apart=st.sampled_from([0, 1, 7]))
    def create_calls(self, count: int, hours_apart: int) -> None:
        newest = self.newest_call()
        for n in range(count):
            moment = newest + timedelta(hours=hours_apart * (n + 1), seconds=n + 1)
            self.api.calls.append(make_call(len(self.api.calls), created=moment))
        self.changed()

    @rule(which=st.integers(0, 10**6), inside=st.booleans())
    def change_a_call(self, which: int, inside: bool) -> None:
        window = self.newest_call() - timedelta(days=self.LOOKBACK_DAYS)
        calls = [
            c for c in self.api.calls if (instant(c["created_at"]) >= window) == inside
        ]
        if calls:
            call = calls[which % len(calls)]
            call["call_status"] = "completed"
            call["duration"] = call["duration"] + 1
            call["call_analysis"] = {**call["call_analysis"], "revised": which}
            self.changed()

    @rule(which=st.integers(0, 10**6))
    def release_a_number(self, which: int) -> None:
        if self.api.phone_numbers:
            self.api.release_phone_number(which % len(self.api.phone_numbers))
            self.changed()

    @rule()
    def add_a_number(self) -> None:
        self.api.add_phone_number()
        self.changed()

    @rule()
    def add_a_contact(self) -> None:
        newest = max(instant(c["created_at"]) for c in self.api.contacts)
        contact = make_contact(len(self.api.contacts) + 500)
        contact["created_at"] = (newest + timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        self.api.contacts.append(contact)
        self.changed()

    def run(self, **overrides) -> Run:
        run = sync(self.config(**overrides), state=self.state)
        check_one_line_or_success(run)
        return run

    def load(self, messages: list[dict]) -> None:
        self.runs += 1
        self.warehouse.load(messages, run=self.runs)
        self.staging.load(messages, run=self.runs)
        for message in messages:
            if message["type"] == "RECORD" and message["stream"] in self.ever:
                self.ever[message["stream"]].add(message["record"]["id"])

    @rule()
    def complete_run(self) -> None:
        start = window_start_of(self.state, self.LOOKBACK_DAYS)
        run = self.run()
        assert run.exit_code == 0, run.stderr
        self.load(run.messages)
        self.state = run.final_state()
        self.synced, self.reread_from = True, start

    @rule(which=st.integers(0, 1000))
    def run_cut_after_a_state(self, which: int) -> None:
        run = self.run()
        assert run.exit_code == 0, run.stderr
        kept, self.state = cut_after_state(run, which)
        self.load(kept)
        self.changed()

    @rule(after=st.integers(1, 12))
    def run_that_fails_midway(self, after: int) -> None:
        first = len(self.api.requests)

        def down(api: FakeContactship, seen: Seen) -> Response | None:
            return Response(503, b"down") if len(api.requests) > first + after else None

        self.api.hooks.append(down)
        try:
            run = self.run(max_retries=1)
        finally:
            self.api.hooks.remove(down)
        self.load(run.messages)
        states = run.of_type("STATE")
        if states:
            self.state = states[-1]["value"]
        if run.exit_code != 0:
            self.changed()

    @invariant()
    def the_warehouse_never_loses_a_row_the_api_has(self) -> None:
        server = Snapshot.of(self.api)
        for stream in ("phone_numbers", "agents", "contacts"):
            loaded = self.warehouse.rows(stream)
            # Rows the API still has and a run already delivered stay.
            assert set(loaded) >= set(server.rows[stream]) & self.ever[stream], stream
        if not self.synced:
            return
        for stream in ("phone_numbers", "agents", "contacts"):
            assert self.warehouse.rows(stream) == server.rows[stream], stream
        calls = self.warehouse.rows("calls")
        assert set(calls) == set(server.rows["calls"])
        for call_id, row in server.rows["calls"].items():
            if self.reread_from is None or (
                instant(row["created_at"]) >= self.reread_from
            ):
                assert calls[call_id] == row, "a call in the look-back is stale"

    @invariant()
    def staging_shows_the_api_rows_once_a_run_completed(self) -> None:
        """Without ACTIVATE_VERSION: deletes come from `whole_reads` alone."""
        server = Snapshot.of(self.api)
        for stream in FULL_TABLE:
            shown = self.staging.current(stream)
            assert set(shown) >= set(server.rows[stream]) & self.ever[stream], stream
            if self.synced:
                assert shown == server.rows[stream], stream


def window_start_of(state: dict | None, lookback_days: float) -> datetime | None:
    mark = bookmark(state)
    if mark is None:
        return None
    if interrupted(state):  # resumed where it stopped: no look-back
        return instant(mark)
    return instant(mark) - timedelta(days=lookback_days)


Organization.TestCase.settings = settings(stateful_step_count=12)
TestOrganization = Organization.TestCase
