"""Generated Contactship organizations ("worlds"), and what must hold for each.

A world is one fake API in one of the shapes the docs show: timestamps in every
documented style, agents in either envelope, contacts paged or not, `count`
honest, too high or too low, pages clamped below `limit`, rows created or
released mid-sync, 429s with `Retry-After`, 5xx and dropped connections. The
property tests run the real command against it, every stream selected, and
check what a target would see (`check_run`); `Warehouse` applies the messages
the way an upserting, deleting target does.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from hypothesis import strategies as st
from singer_sdk import Target
from singer_sdk.sinks import BatchSink

from tests.conftest import Run, emitted, instant, unversioned
from tests.fake_contactship import (
    DATE_TIME_FIELDS,
    DROP,
    EPOCH,
    PATHS,
    FakeContactship,
    Response,
    Seen,
    make_agent,
    make_call,
    make_contact,
)

STREAMS = ("phone_numbers", "calls", "agents", "contacts")
FULL_TABLE = ("phone_numbers", "agents", "contacts")
#: Never seen on stdout or stderr, at any point.
KEY = "prop-key-7c1d9e"
#: Contacts the API returns at most when it ignores paging (the docs' cap).
CONTACTS_CAP = 100
CANONICAL = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class World:
    """One organization and how its API behaves."""

    created: dict[str, list[datetime]]
    styles: dict[str, str | None]
    count_errors: dict[str, int]
    max_limits: dict[str, int | None]
    agents_envelope: str
    contacts_paging: bool
    page_size: int
    concurrency: int
    lookback_days: float
    #: Request number → "429", "500" or "drop".
    faults: dict[int, str] = field(default_factory=dict)
    #: Changes to the data while it is read: (which stream's request, counted
    #: per stream, the change comes before; the change; a row position).
    churn: list[tuple[int, str, int]] = field(default_factory=list)

    @classmethod
    def plain(cls, **changes: Any) -> World:
        """An honest, empty world with `changes` (for explicit examples)."""
        streams = dict.fromkeys(STREAMS)
        fields: dict[str, Any] = {
            "created": {stream: [] for stream in STREAMS},
            "styles": dict(streams),
            "count_errors": dict.fromkeys(STREAMS, 0),
            "max_limits": dict(streams),
            "agents_envelope": "status",
            "contacts_paging": True,
            "page_size": 5,
            "concurrency": 1,
            "lookback_days": 0.0,
        }
        for name, value in changes.items():
            if isinstance(fields.get(name), dict) and isinstance(value, dict):
                fields[name] = {**fields[name], **value}
            else:
                fields[name] = value
        return cls(**fields)

    def honest(self, stream: str) -> bool:
        """Whether the stream's list can be known complete from its answers.

        A `count` too high promises rows that never come; contacts without
        paging may be cut at the documented cap.
        """
        if stream == "contacts":
            return self.contacts_paging
        if stream == "agents" and self.agents_envelope == "status":
            return True
        return self.count_errors[stream] <= 0

    def config(self, api: FakeContactship, **overrides: Any) -> dict[str, Any]:
        """The tap's settings for this world."""
        return {
            "api_key": KEY,
            "api_url": api.url,
            "page_size": self.page_size,
            "max_concurrent_requests": self.concurrency,
            "calls_lookback_days": self.lookback_days,
            "emit_activate_version_messages": True,
            "progress_interval": 0,
            **overrides,
        }

    def build(self, api: FakeContactship) -> None:
        """Give `api` this world's data and behaviour."""
        api.api_key = KEY
        created = self.created["phone_numbers"]
        api.seed_phone_numbers(len(created), created)
        api.calls = [
            make_call(n, created=moment)
            for n, moment in enumerate(self.created["calls"])
        ]
        api.agents = [
            {**make_agent(n), "created_at": _z(moment), "updated_at": _z(moment)}
            for n, moment in enumerate(self.created["agents"])
        ]
        api.contacts = [
            {**make_contact(n), "created_at": _z(moment)}
            for n, moment in enumerate(self.created["contacts"])
        ]
        api.agents_envelope = self.agents_envelope
        api.contacts_paging = self.contacts_paging
        for stream in STREAMS:
            variant = api.variants[stream]
            variant.timestamps = self.styles[stream]
            variant.count_error = self.count_errors[stream]
            variant.max_limit = self.max_limits[stream]
        api.hooks.append(self._misbehave)

    def _misbehave(self, api: FakeContactship, seen: Seen) -> Response | None:
        # Numbered over the fake's whole life, later runs included.
        number = len(api.requests) - 1
        nth_of_stream = len(api.data_requests(seen.path)) - 1
        for at, change, position in self.churn:
            if at == nth_of_stream and PATHS[CHANGED[change]] == seen.path:
                _change(api, change, position)
        fault = self.faults.get(number)
        if fault == "429":
            return Response(429, b'{"message": "slow down"}', {"Retry-After": "1"})
        if fault == "500":
            return Response(500, b'{"message": "oops"}')
        if fault == "drop":
            return DROP
        return None


#: The stream each change alters.
CHANGED = {
    "add_number": "phone_numbers",
    "release_number": "phone_numbers",
    "add_call": "calls",
    "add_contact": "contacts",
}


def _change(api: FakeContactship, change: str, position: int) -> None:
    if change == "add_number":
        api.add_phone_number()
    elif change == "release_number" and api.phone_numbers:
        api.release_phone_number(position % len(api.phone_numbers))
    elif change == "add_call":
        latest = max((instant(c["created_at"]) for c in api.calls), default=EPOCH)
        api.calls.append(make_call(len(api.calls), created=latest + timedelta(1)))
    elif change == "add_contact":
        latest = max((instant(c["created_at"]) for c in api.contacts), default=EPOCH)
        contact = make_contact(len(api.contacts) + 1000)
        api.contacts.append({**contact, "created_at": _z(latest + timedelta(1))})


def _z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# Strategies

#: Instants a few minutes apart at most, so many share a second (where `Z`,
#: `.000Z` and `+02:00` spellings of one instant meet) and some a millisecond.
moments = st.builds(
    lambda seconds, millis: EPOCH + timedelta(seconds=seconds, milliseconds=millis),
    st.integers(0, 400),
    st.sampled_from([0, 0, 0, 1, 500, 999]),
)


def seconds_apart(count: int) -> list[datetime]:
    """`count` instants a second apart from the epoch."""
    return [EPOCH + timedelta(seconds=n) for n in range(count)]


def created_list(max_size: int) -> st.SearchStrategy[list[datetime]]:
    """Creation instants of one list, in the order the API sorts them."""
    return st.lists(moments, max_size=max_size).map(sorted)


styles = st.sampled_from([None, "Z", ".000Z", "+02:00", "micro", "mixed"])
count_errors = st.one_of(st.just(0), st.integers(1, 60), st.integers(-30, -1))
max_limits = st.one_of(st.none(), st.integers(1, 30))


@st.composite
def worlds(draw: st.DrawFn, *, misbehave: bool = True) -> World:
    """A world; with `misbehave`, faults and mid-sync changes too."""
    sizes = {"phone_numbers": 60, "calls": 80, "agents": 6, "contacts": 130}
    return World(
        created={s: draw(created_list(size)) for s, size in sizes.items()},
        styles={s: draw(styles) for s in STREAMS},
        count_errors={s: draw(count_errors) for s in STREAMS},
        max_limits={s: draw(max_limits) for s in STREAMS},
        agents_envelope=draw(st.sampled_from(["status", "count"])),
        contacts_paging=draw(st.booleans()),
        # Small pages most often: more page boundaries for rows to slip across.
        page_size=draw(st.one_of(st.integers(1, 6), st.integers(1, 40))),
        concurrency=draw(st.integers(1, 6)),
        lookback_days=draw(st.sampled_from([0.0, 3.0, 1 / 1440, 10 / 86400])),
        faults=draw(
            st.dictionaries(
                st.integers(0, 30), st.sampled_from(["429", "500", "drop"]), max_size=3
            )
            if misbehave
            else st.just({})
        ),
        churn=draw(
            st.lists(
                st.tuples(
                    st.integers(1, 5), st.sampled_from(sorted(CHANGED)), st.integers()
                ),
                max_size=3,
            )
            if misbehave
            else st.just([])
        ),
    )


# What a target sees


@dataclass
class Snapshot:
    """The server's rows of every stream, by id."""

    rows: dict[str, dict[str, dict[str, Any]]]

    @classmethod
    def of(cls, api: FakeContactship) -> Snapshot:
        """The rows `api` has now, in the order it stores them."""
        with api.lock:
            lists = {
                "phone_numbers": api.phone_numbers,
                "calls": api.calls,
                "agents": api.agents,
                "contacts": api.contacts,
            }
            return cls(
                {
                    stream: {row["id"]: dict(row) for row in emitted(rows)}
                    for stream, rows in lists.items()
                }
            )


def records(run: Run, stream: str) -> list[dict[str, Any]]:
    """The stream's RECORDs in order, without their `read_version`."""
    return unversioned(run.records(stream))


def bookmark(state: dict[str, Any] | None) -> str | None:
    """The calls bookmark in a STATE value."""
    if not state:
        return None
    value = state.get("bookmarks", {}).get("calls", {}).get("replication_key_value")
    return str(value) if value else None


def interrupted(state: dict[str, Any] | None) -> bool:
    """Whether `state` is from a run whose calls sync had not finished.

    The SDK's `starting_replication_value` stays in a stream's STATEs until
    the stream's sync ends.
    """
    calls = (state or {}).get("bookmarks", {}).get("calls", {})
    return "starting_replication_value" in calls


def window_start(world: World, state: dict[str, Any] | None) -> datetime | None:
    """The earliest call a run from `state` must deliver.

    The look-back before the bookmark after a finished run; from the bookmark
    on after an interrupted one (the calls before it were delivered).
    """
    mark = bookmark(state)
    if mark is None:
        return None
    if interrupted(state):
        return instant(mark)
    return instant(mark) - timedelta(days=world.lookback_days)


def check_one_line_or_success(run: Run) -> None:
    """Exit 0, or one error line and a non-zero exit; never a traceback, the key."""
    exit_code = run.exit_code
    assert "Traceback" not in run.stderr, run.stderr
    assert KEY not in run.stdout
    assert KEY not in run.stderr
    errors = [
        line for line in run.stderr.splitlines() if "tap-contactship: error:" in line
    ]
    if exit_code == 0:
        assert errors == [], run.stderr
    else:
        assert len(errors) == 1, run.stderr
        assert run.stderr.rstrip().endswith(errors[0])


def check_records(
    run: Run,
    world: World,
    before: Snapshot,
    after: Snapshot,
    state: dict[str, Any] | None,
) -> None:
    """Each stream's rows exactly once, equal to the server's, none missing."""
    start = window_start(world, state)
    for stream in STREAMS:
        delivered = records(run, stream)
        ids = [row["id"] for row in delivered]
        assert len(ids) == len(set(ids)), f"{stream}: a row was emitted twice"
        known = {**before.rows[stream], **after.rows[stream]}
        for row in delivered:
            for name in DATE_TIME_FIELDS:
                value = row.get(name)
                if value is not None:
                    assert datetime.strptime(value, CANONICAL), (stream, value)
            assert row == known[row["id"]], stream
        long_lived = before.rows[stream].keys() & after.rows[stream].keys()
        if stream == "contacts" and not world.contacts_paging:
            # All the API returns without paging: its first 100.
            long_lived &= set(list(after.rows[stream])[:CONTACTS_CAP])
        if stream == "calls" and start is not None:
            long_lived = {
                i
                for i in long_lived
                if instant(after.rows[stream][i]["created_at"]) >= start
            }
        missing = long_lived - set(ids)
        assert not missing, f"{stream}: {len(missing)} rows never delivered"


def check_activate_version(
    run: Run, world: World, before: Snapshot, after: Snapshot
) -> None:
    """ACTIVATE_VERSION only for a list read completely, after its last record
    and before its next STATE; always for a list that can be known complete."""
    messages = run.messages
    for stream in FULL_TABLE:
        positions = [
            i
            for i, m in enumerate(messages)
            if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        ]
        assert len(positions) <= 1, stream
        if not positions:
            assert not world.honest(stream), f"{stream}: complete but not activated"
            continue
        delivered = {row["id"] for row in records(run, stream)}
        long_lived = before.rows[stream].keys() & after.rows[stream].keys()
        assert delivered >= long_lived, f"{stream}: activated an incomplete list"
        # After its last record, or its SCHEMA when the list is empty.
        last_record = max(
            i
            for i, m in enumerate(messages)
            if m.get("stream") == stream and m["type"] in {"RECORD", "SCHEMA"}
        )
        (activation,) = positions
        assert activation > last_record, stream
        between = [m["type"] for m in messages[last_record + 1 : activation]]
        assert "STATE" not in between, stream


def check_bookmark(run: Run, state: dict[str, Any] | None) -> None:
    """The calls bookmark never moves backwards and ends at the newest call."""
    marks = [
        mark
        for mark in (bookmark(m["value"]) for m in run.of_type("STATE"))
        if mark is not None
    ]
    assert marks == sorted(marks), "a STATE moved the calls bookmark back"
    delivered = [row["created_at"] for row in records(run, "calls")]
    start = bookmark(state)
    final = marks[-1] if marks else None
    if delivered:
        assert final == max(delivered)
    else:
        assert final == start
    if start is not None and final is not None:
        assert instant(final) >= instant(start)


def request_bound(world: World, stream: str, rows: int) -> int:
    """The most requests the paging rules allow for `rows` rows of a stream.

    The fewest a reader needs that knows the list's length and the server's
    cap (the first page brings `page_size` + 1 rows, every later one
    `page_size` new ones after the row it shares with the page before), plus
    one page that shows the end, one to tell a cap from the end of the list,
    and, when `count` is too high, the pages fetched ahead into rows that do
    not exist. Each retried fault and each change mid-sync may cost more.
    """
    # A row created between two pages can make a short last page look like a
    # cap confirmed (both pages the same length): the pages then fetched ahead
    # at that stride are wasted, as many as are in flight.
    per_change = 3 + world.concurrency - 1
    extra = 5 * len(world.faults) + per_change * len(world.churn)
    if stream == "agents" and world.agents_envelope == "status":
        return 1 + extra
    if stream == "contacts" and not world.contacts_paging:
        return 2 + extra
    cap = world.max_limits[stream]
    first = world.page_size + 1 if cap is None else min(world.page_size + 1, cap)
    stride = first - 1
    if stride < 1:  # one row per request: each probed once
        return 2 * rows + 3 + extra
    fewest = 1 + math.ceil(max(0, rows - first) / stride)
    too_high = max(world.count_errors[stream], 0) if stream != "contacts" else 0
    ahead = min(world.concurrency - 1, math.ceil(too_high / stride))
    return fewest + 2 + ahead + extra


def check_requests(
    api: FakeContactship, world: World, before: Snapshot, after: Snapshot
) -> None:
    """Requests stay within the bound of the paging rules."""
    for stream in STREAMS:
        made = len(api.data_requests(PATHS[stream]))
        rows = len(before.rows[stream].keys() | after.rows[stream].keys())
        bound = request_bound(world, stream, rows)
        assert made <= bound, f"{stream}: {made} requests for {rows} rows (> {bound})"


@dataclass
class Warehouse:
    """A target that upserts on `id` and deletes older versions on ACTIVATE_VERSION."""

    tables: dict[str, dict[str, tuple[dict[str, Any], int | None]]] = field(
        default_factory=lambda: {stream: {} for stream in STREAMS}
    )

    def load(self, messages: list[dict[str, Any]], run: int | None = None) -> None:
        """Apply RECORD and ACTIVATE_VERSION messages in order.

        The SDK's versions are the second a run started: runs a test makes in
        one second share one. `run`, when given, stands for the messages'
        versions, as if each run started a second after the one before.
        """
        for message in messages:
            table = self.tables.get(message.get("stream", ""))
            if table is None:
                continue
            version = message.get("version")
            if run is not None and version is not None:
                version = run
            if message["type"] == "RECORD":
                [record] = unversioned([message["record"]])
                table[record["id"]] = (record, version)
            elif message["type"] == "BATCH":
                for record in unversioned(batch_rows(message)):
                    table[record["id"]] = (record, None)
            elif message["type"] == "ACTIVATE_VERSION":
                assert version is not None
                for row_id in [
                    i for i, (_, v) in table.items() if v is None or v < version
                ]:
                    del table[row_id]

    def rows(self, stream: str) -> dict[str, dict[str, Any]]:
        """The table's rows by id."""
        return {row_id: row for row_id, (row, _) in self.tables[stream].items()}


def batch_rows(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a BATCH message's files, each opened as the message says.

    A file announced as uncompressed must not be gzip, and the reverse.
    """
    encoding = message["encoding"]
    assert encoding["format"] == "jsonl"
    rows = []
    for url in message["manifest"]:
        path = Path(unquote(urlparse(url).path))
        data = path.read_bytes()
        is_gzip = data[:2] == b"\x1f\x8b"
        assert is_gzip == (encoding["compression"] == "gzip"), (url, encoding)
        text = (gzip.decompress(data) if is_gzip else data).decode()
        rows += [json.loads(line) for line in text.splitlines()]
    return rows


def cut_after_state(run: Run, which: int) -> tuple[list[dict[str, Any]], dict]:
    """The messages up to the `which`-th STATE, and that STATE's value."""
    messages = run.messages
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
    cut = states[which % len(states)]
    return messages[: cut + 1], messages[cut]["value"]


class _Sink(BatchSink):
    """A loader's sink as the SDK builds it: what it reads from batch files."""

    def __init__(self, target: Target) -> None:
        super().__init__(target, "any", {"type": "object", "properties": {}}, None)
        self.loaded: list[dict[str, Any]] = []

    def process_batch(self, context: dict[str, Any]) -> None:
        self.loaded += context["records"]


class _Target(Target):
    name = "target-reads-batches"
    config_jsonschema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    default_sink_class = _Sink


def sdk_batch_rows(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a BATCH message as an SDK-based loader reads them.

    `Sink.process_batch_files` is what every SDK target runs on a BATCH
    message (target-postgres among them): a file it cannot open is an error.
    """
    encoding = message["encoding"]
    sink = _Sink(_Target(config={}, validate_config=False, setup_mapper=False))
    # The SDK's encoding class is private; the reader reads two attributes.
    as_read: Any = SimpleNamespace(**encoding)
    sink.process_batch_files(as_read, message["manifest"])
    return sink.loaded


@dataclass
class Staging:
    """The full-table staging models over a loader that keeps every row and
    ignores ACTIVATE_VERSION (target-duckdb): the README's rule ("Deletes")
    said again in Python. A row is shown when its newest `read_version` is at
    least that of its stream's newest whole read that has at least
    `row_count` rows of that version or later.
    """

    rows: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {stream: {} for stream in FULL_TABLE}
    )
    versions: dict[str, dict[str, int]] = field(
        default_factory=lambda: {stream: {} for stream in FULL_TABLE}
    )
    reads: dict[str, list[tuple[int, int]]] = field(
        default_factory=lambda: {stream: [] for stream in FULL_TABLE}
    )

    def load(self, messages: list[dict[str, Any]], run: int) -> None:
        """Load a run's RECORDs; `run` stands for its version (see Warehouse)."""
        versions = set()
        for message in messages:
            if message["type"] != "RECORD":
                continue
            stream, record = message["stream"], message["record"]
            versions.add(record.get("version" if stream == "whole_reads" else "_"))
            if stream == "whole_reads":
                self.reads[record["stream"]].append((run, record["row_count"]))
            elif stream in self.rows:
                [row] = unversioned([record])
                self.rows[stream][row["id"]] = row
                self.versions[stream][row["id"]] = run
                versions.add(record["read_version"])
        assert len(versions - {None}) <= 1, f"one run, one version: {versions}"

    def current(self, stream: str) -> dict[str, dict[str, Any]]:
        """The rows the stream's staging model shows, by id."""
        newest = self.versions[stream]
        trusted = [
            version
            for version, count in self.reads[stream]
            if sum(v >= version for v in newest.values()) >= count
        ]
        floor = max(trusted, default=0)
        return {i: row for i, row in self.rows[stream].items() if newest[i] >= floor}
