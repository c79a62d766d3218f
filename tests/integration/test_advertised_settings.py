"""Issue 27: the SDK's settings the tap advertises, each case through the command.

Stream maps and flattening in both modes (cases 1, 2), a strict timestamp
check (4), batch settings checked before any request (5), batch files where
the SDK's reader opens them (6), what an interrupted BATCH sync delivered (7)
and `start_date` in a far-east offset (8). Case 3 is test_deadline.py.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import jsonschema
import pytest
from fsspec.core import url_to_fs

from tap_contactship.errors import ExitCode
from tap_contactship.timestamps import canonical
from tests.catalogs import catalog
from tests.conftest import (
    TAP_EXECUTABLE,
    Run,
    batch_config,
    emitted,
    run_cli,
    sync,
    tap_config,
    unversioned,
)
from tests.fake_contactship import EPOCH, FakeContactship, make_call
from tests.worlds import sdk_batch_rows

if TYPE_CHECKING:
    from collections.abc import Iterator

STREAMS = ["phone_numbers", "calls", "agents", "contacts"]
CASE_1_MAPS = {
    "calls": {
        "contact": "__NULL__",
        "from": "md5(record['from'])",
        "__filter__": "record['call_status'] == 'completed'",
    }
}


def seeded(api: FakeContactship) -> None:
    api.seed_phone_numbers(12)
    api.seed(calls=70, agents=3, contacts=15)


def cli(api, tmp_path: Path, streams=STREAMS, **settings: Any) -> Run:
    tmp_path.mkdir(parents=True, exist_ok=True)
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(catalog(streams)))
    config = tap_config(api, page_size=7, **settings)
    return run_cli(config, "--catalog", str(catalog_file), tmp_path=tmp_path)


def error_lines(run: Run) -> list[str]:
    """stderr's lines that are errors; the last line of stderr is one of them."""
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert errors[-1:] == lines[-1:], run.stderr
    return errors


def batch_rows_by_stream(run: Run) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for message in run.of_type("BATCH"):
        # The SDK's reader reads numbers with a fraction as Decimal.
        read = json.loads(json.dumps(sdk_batch_rows(message), default=float))
        rows.setdefault(message["stream"], []).extend(read)
    return rows


def records_by_stream(run: Run) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for message in run.of_type("RECORD"):
        if message["stream"] != "whole_reads":  # RECORDs in either mode
            rows.setdefault(message["stream"], []).append(message["record"])
    return rows


def same_rows(
    batches: dict[str, list[dict[str, Any]]], records: dict[str, list[dict[str, Any]]]
) -> bool:
    """Two runs' rows are the same but for each run's own `read_version`."""
    return {s: unversioned(r) for s, r in batches.items()} == {
        s: unversioned(r) for s, r in records.items()
    }


def assert_rows_fit_their_schema(run: Run, rows: dict[str, list[dict]]) -> None:
    """Each row validates (types, formats) and has no field outside its SCHEMA."""
    schemas = {m["stream"]: m["schema"] for m in run.of_type("SCHEMA")}
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    for stream, stream_rows in rows.items():
        validator = jsonschema.Draft7Validator(schemas[stream], format_checker=checker)
        declared = set(schemas[stream]["properties"])
        for row in stream_rows:
            validator.validate(row)
            assert set(row) <= declared, (stream, set(row) - declared)


def test_case_1_stream_maps_apply_to_batch_files_as_to_records(api, tmp_path):
    seeded(api)
    records = cli(api, tmp_path / "r", stream_maps=CASE_1_MAPS)
    batches = cli(
        api,
        tmp_path / "b",
        stream_maps=CASE_1_MAPS,
        batch_config=batch_config(tmp_path / "files", size=4),
    )

    assert records.exit_code == 0, records.stderr
    assert batches.exit_code == 0, batches.stderr
    completed = [c for c in api.calls if c["call_status"] == "completed"]
    calls = batch_rows_by_stream(batches)["calls"]
    assert [c["id"] for c in calls] == [c["id"] for c in completed]
    assert all("contact" not in c for c in calls)
    assert [c["from"] for c in calls] == [
        hashlib.md5(c["from"].encode()).hexdigest()  # noqa: S324
        for c in completed
    ]
    assert same_rows(batch_rows_by_stream(batches), records_by_stream(records))
    assert_rows_fit_their_schema(batches, batch_rows_by_stream(batches))
    # The bookmark covers the calls the filter dropped, as in RECORD mode.
    assert batches.final_state() == records.final_state()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_case_1_flattening_applies_to_batch_files_as_to_records(api, tmp_path, depth):
    seeded(api)
    flattening = {"flattening_enabled": True, "flattening_max_depth": depth}
    records = cli(api, tmp_path / "r", **flattening)
    batches = cli(
        api, tmp_path / "b", batch_config=batch_config(tmp_path / "f"), **flattening
    )

    assert records.exit_code == 0, records.stderr
    assert batches.exit_code == 0, batches.stderr
    assert same_rows(batch_rows_by_stream(batches), records_by_stream(records))
    assert_rows_fit_their_schema(batches, batch_rows_by_stream(batches))


def test_stream_maps_that_copy_a_stream_are_refused_in_batch_mode(api, tmp_path):
    maps = {
        "calls": {},
        "calls_hashed": {"__source__": "calls", "from": "md5(record['from'])"},
    }
    run = cli(
        api, tmp_path, stream_maps=maps, batch_config=batch_config(tmp_path / "f")
    )

    assert run.exit_code == ExitCode.CONFIG
    assert error_lines(run) == [
        "tap-contactship: error: invalid config: `stream_maps` make 2 streams of "
        "`calls` (calls, calls_hashed), which BATCH mode cannot write (each BATCH "
        "message would name the same files): map it once, or leave out "
        "`batch_config`"
    ]
    assert api.requests == []


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 10])
def test_case_2_flattened_records_match_their_flattened_schema(api, tmp_path, depth):
    seeded(api)
    api.transcript_turns = 2
    run = cli(
        api,
        tmp_path,
        flattening_enabled=True,
        flattening_max_depth=depth,
        include_transcripts=True,
    )

    assert run.exit_code == 0, run.stderr
    rows = records_by_stream(run)
    assert_rows_fit_their_schema(run, rows)
    calls = {m["stream"]: m["schema"] for m in run.of_type("SCHEMA")}["calls"]
    # Objects stay one column (JSON text once flattened), in SCHEMA and RECORD.
    for name in ("call_analysis", "contact", "chat_history"):
        assert name in calls["properties"]
        assert all(name in row for row in rows["calls"])
    if depth:
        assert json.loads(rows["calls"][0]["contact"]) == api.calls[0]["contact"]


def test_case_4_a_garbled_created_at_that_sorts_in_place_is_an_error(api, tmp_path):
    api.seed(calls=6)
    garbled = api.calls[3]
    garbled["created_at"] = garbled["created_at"][:17] + "99Z"

    run = cli(api, tmp_path, streams=["calls"])

    assert run.exit_code == ExitCode.API_FAULT
    assert run.stderr.strip().splitlines()[-1] == (
        "tap-contactship: error: the API returned a `calls.created_at` that is not "
        f"a valid ISO 8601 timestamp in the row with id {garbled['id']!r}: "
        f"{garbled['created_at']!r}"
    )
    assert garbled["id"] not in run.ids("calls")
    marks = [
        m["value"].get("bookmarks", {}).get("calls", {}).get("replication_key_value")
        for m in run.of_type("STATE")
    ]
    assert all(mark is None or "99" not in mark[17:19] for mark in marks)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"batch_size": 0},
            "`batch_config.batch_size` must be a whole number, at least 1",
        ),
        (
            {"batch_size": -5},
            "`batch_config.batch_size` must be a whole number, at least 1",
        ),
        (
            {"encoding": {"format": "parquet", "compression": "none"}},
            "`batch_config.encoding.format` must be `jsonl`: this tap writes JSONL "
            "batch files (target-snowflake loads no other)",
        ),
        (
            {"storage": {"root": "file:///tmp/out/q?x=1"}},
            "`batch_config.storage.root` and `prefix` must not contain `?`: the "
            "SDK's batch reader cuts a file URL there, so loaders could not open "
            "the files",
        ),
        (
            {"storage": {"root": "abfs://container/batches"}},
            "`batch_config.storage.root`: no fsspec filesystem: Install adlfs to "
            "access Azure Datalake Gen2 and Azure Blob Storage",
        ),
        (
            {"storage": {"root": "nosuchfs://bucket/x"}},
            "`batch_config.storage.root`: no fsspec filesystem: Protocol not known: "
            "nosuchfs",
        ),
    ],
)
def test_case_5_bad_batch_settings_end_before_any_request(api, tmp_path, change, line):
    setting = {**batch_config(tmp_path / "files"), **change}

    run = cli(api, tmp_path, batch_config=setting)

    assert run.exit_code == ExitCode.CONFIG
    assert error_lines(run) == [f"tap-contactship: error: invalid config: {line}"]
    assert api.requests == []


def test_case_5_a_root_below_a_file_is_refused(api, tmp_path):
    (tmp_path / "a-file").write_text("")
    run = cli(api, tmp_path, batch_config=batch_config(tmp_path / "a-file" / "x"))

    assert run.exit_code == ExitCode.CONFIG
    assert error_lines(run) == [
        "tap-contactship: error: invalid config: `batch_config.storage.root`: "
        f"{tmp_path / 'a-file'} is a file, not a folder"
    ]
    assert api.requests == []


@pytest.mark.parametrize(
    "folder", ["my batches", "my%20batches", "50%", "a#b", "p%25c", "ü ñ"]
)
@pytest.mark.parametrize("as_url", [False, True])
def test_case_6_every_announced_file_opens_with_the_sdk_reader(
    api, tmp_path, folder, as_url
):
    seeded(api)
    root = tmp_path / folder
    setting = batch_config(f"file://{root}" if as_url else root, "gzip", size=5)

    run = cli(api, tmp_path, batch_config=setting)

    assert run.exit_code == 0, run.stderr
    rows = batch_rows_by_stream(run)  # the SDK's Sink.process_batch_files
    assert unversioned(rows["phone_numbers"]) == emitted(api.phone_numbers)
    assert rows["calls"] == emitted(api.calls)
    # In the folder the root names, as the SDK's own writer reads it.
    announced = {Path(u).name for m in run.of_type("BATCH") for u in m["manifest"]}
    assert {p.name for p in root.iterdir()} == announced


def test_case_6_memory_storage_gets_every_announced_file(api):
    seeded(api)
    root = f"memory://bucket/{uuid.uuid4()}/run"

    run = sync(
        tap_config(api, batch_config=batch_config(root, size=9)), streams=STREAMS
    )

    assert run.exit_code == 0, run.stderr
    fs = fsspec.filesystem("memory")
    urls = [u for m in run.of_type("BATCH") for u in m["manifest"]]
    assert sorted(fs.unstrip_protocol(p) for p in fs.find(root)) == sorted(urls)
    rows: list[dict[str, Any]] = []
    for url in urls:
        with fsspec.open(url, "rb") as file:
            rows += [json.loads(line) for line in file]
    assert len(rows) == 12 + 70 + 3 + 15


@pytest.mark.xfail(
    strict=True,
    raises=AttributeError,
    reason="singer-sdk 0.54.9, singer_sdk/helpers/_batch.py:201 (StorageTarget.open) "
    "hands fs.open a UPath, not a str; fsspec's MemoryFileSystem._strip_protocol "
    "(fsspec/implementations/memory.py:70-77) turns only a PurePath into a str, "
    "and universal_pathlib 0.3's MemoryPath is none, so `path.removeprefix` fails: "
    "the SDK's reader opens no memory:// file, whoever wrote it. Filesystems on "
    "fsspec's base _strip_protocol (spec.py:253, stringify_path) do: s3:// below",
)
def test_case_6_the_sdk_reader_opens_memory_files(api):
    api.seed_phone_numbers(3)
    root = f"memory://bucket/{uuid.uuid4()}"
    run = sync(tap_config(api, batch_config=batch_config(root)), streams=STREAMS)
    assert run.exit_code == 0, run.stderr
    [message] = run.of_type("BATCH")
    assert unversioned(sdk_batch_rows(message)) == emitted(api.phone_numbers)


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 bucket on loopback (moto's server), as the tap and a loader see it.

    The SDK's reader builds its filesystem from the URL alone (no `params`):
    the endpoint and keys come from the environment, as on a real machine.
    """
    from moto.server import ThreadedMotoServer
    from s3fs import S3FileSystem

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"batches-{uuid.uuid4().hex[:12]}"
    S3FileSystem.clear_instance_cache()
    S3FileSystem().mkdir(bucket)
    try:
        yield f"s3://{bucket}"
    finally:
        S3FileSystem.clear_instance_cache()
        server.stop()


def test_case_6_s3_files_open_with_the_sdk_reader(api, s3_bucket, tmp_path):
    seeded(api)
    root = f"{s3_bucket}/runs/today"
    setting = batch_config(root, "gzip", size=9, prefix="contactship-")

    run = cli(api, tmp_path, batch_config=setting)  # the command, S3 from its env
    as_records = sync(tap_config(api, page_size=7), streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    assert as_records.exit_code == 0, as_records.stderr
    # Read back from S3 by the SDK's Sink.process_batch_files, URL by URL.
    rows = batch_rows_by_stream(run)
    expected = records_by_stream(as_records)
    assert set(rows) == set(expected) == set(STREAMS)
    for stream in STREAMS:
        assert unversioned(rows[stream]) == unversioned(expected[stream]), stream
    # Nothing in the bucket that no message announced.
    fs, path = url_to_fs(root)
    announced = [u for m in run.of_type("BATCH") for u in m["manifest"]]
    assert sorted(fs.unstrip_protocol(p) for p in fs.find(path)) == sorted(announced)


def test_case_7_an_interrupted_batch_sync_says_what_it_delivered(tmp_path):
    with FakeContactship() as api:
        api.seed(calls=400, agents=2)
        config = tap_config(
            api,
            page_size=10,
            max_concurrent_requests=1,
            batch_config=batch_config(tmp_path / "files", size=20),
        )
        (tmp_path / "config.json").write_text(json.dumps(config))
        (tmp_path / "catalog.json").write_text(json.dumps(catalog(["agents", "calls"])))
        out = tmp_path / "out.jsonl"
        with out.open("w") as stdout, (tmp_path / "err.txt").open("w") as stderr:
            process = subprocess.Popen(
                [
                    str(TAP_EXECUTABLE),
                    "--config",
                    str(tmp_path / "config.json"),
                    "--catalog",
                    str(tmp_path / "catalog.json"),
                ],
                stdout=stdout,
                stderr=stderr,
            )
            api.latency = 0.05
            deadline = time.monotonic() + 30
            while out.read_text().count('"type":"BATCH"') < 3:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        run = Run(
            process.returncode, out.read_text(), (tmp_path / "err.txt").read_text()
        )

    assert run.exit_code == 143
    batches = run.of_type("BATCH")
    rows = sum(len(sdk_batch_rows(m)) for m in batches)
    assert rows >= 2 + 20
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        f"tap-contactship: error: interrupted by SIGTERM after {rows:,} rows in "
        f"{len(batches)} BATCH messages; the last STATE on stdout lets the next run "
        "resume from there"
    )
    assert run.messages[-1]["type"] == "STATE"


def test_case_8_a_start_date_at_plus_14_reads_every_call_from_a_minus_11_server(
    api, tmp_path
):
    # Calls every ten minutes around the start: 2026-01-02T00:30+14:00 is
    # 2026-01-01T10:30Z; read as a -11:00 day, 2026-01-01 starts at 11:00Z.
    api.seed(calls=12 * 6 * 2)
    api.calls = [
        make_call(n, created=EPOCH + timedelta(minutes=10 * n)) for n in range(144)
    ]
    api.date_from_utc_offset = -11
    start = "2026-01-02T00:30:00+14:00"

    run = cli(api, tmp_path, streams=["calls"], start_date=start)

    assert run.exit_code == 0, run.stderr
    since = canonical(start)
    expected = [c for c in emitted(api.calls) if c["created_at"] >= since]
    assert run.records("calls") == expected
    assert run.records("calls")[0]["created_at"] == "2026-01-01T10:30:00.000000Z"
