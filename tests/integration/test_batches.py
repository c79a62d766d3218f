"""BATCH mode: the record path's rows, in files written straight from the pages.

The property tests (`test_properties.py`) compare BATCH output with RECORD
output on generated worlds; these are the focused cases: a failure, a resume,
the settings, and storage that is not a local folder.
"""

from __future__ import annotations

import gzip
import typing as t
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import fsspec
import pytest
from fsspec.core import url_to_fs

from tap_contactship.batches import BatchFiles, Storage
from tap_contactship.errors import ExitCode
from tests.conftest import batch_config, sync, tap_config
from tests.fake_contactship import FakeContactship, Response, Seen, json_response
from tests.worlds import batch_rows

STREAMS = ["phone_numbers", "calls", "agents", "contacts"]


def announced(run) -> list[Path]:
    return [
        Path(unquote(urlparse(url).path))
        for message in run.of_type("BATCH")
        for url in message["manifest"]
    ]


def calls_bookmark(state: dict) -> str | None:
    return state["bookmarks"].get("calls", {}).get("replication_key_value")


def test_each_file_is_announced_whole_then_a_state_with_its_last_call(api, tmp_path):
    api.seed(calls=50, agents=2, contacts=3)
    config = tap_config(api, page_size=5, batch_config=batch_config(tmp_path, size=12))

    run = sync(config, streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    assert run.records() == []
    messages = run.messages
    calls = [m for m in messages if m["type"] == "BATCH" and m["stream"] == "calls"]
    assert [len(batch_rows(m)) for m in calls] == [12, 12, 12, 12, 2]
    for message in calls:
        state = messages[messages.index(message) + 1]
        assert state["type"] == "STATE"
        assert calls_bookmark(state["value"]) == batch_rows(message)[-1]["created_at"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in announced(run)
    )
    assert all(p.name.endswith(".jsonl") for p in announced(run))


def test_gzip_files_are_gzip_and_named_so(api, tmp_path):
    api.seed(calls=30, agents=1, contacts=1)
    config = tap_config(api, batch_config=batch_config(tmp_path, "gzip", size=10))

    run = sync(config, streams=STREAMS)

    assert run.exit_code == 0, run.stderr
    files = announced(run)
    assert files, run.stdout
    for path in files:
        assert path.name.endswith(".jsonl.gz")
        gzip.decompress(path.read_bytes())  # a whole gzip stream
    rows = [r for m in run.of_type("BATCH") for r in batch_rows(m)]
    assert len(rows) == 30 + 1 + 1


def fail_calls_from(
    offset: int,
) -> t.Callable[[FakeContactship, Seen], Response | None]:
    def hook(api: FakeContactship, seen: Seen) -> Response | None:
        if seen.path == "/v1/calls" and int(seen.params.get("offset", 0)) >= offset:
            return json_response(400, {"statusCode": 400, "message": "Bad request"})
        return None

    return hook


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_a_failing_stream_announces_no_half_written_file_and_resumes(
    api, tmp_path, compression
):
    api.seed(calls=60, agents=2, contacts=3)
    api.hooks.append(fail_calls_from(30))
    config = tap_config(
        api, page_size=5, batch_config=batch_config(tmp_path, compression, size=12)
    )

    failed = sync(config, streams=STREAMS)

    assert failed.exit_code == ExitCode.API_FAULT
    errors = [line for line in failed.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, failed.stderr
    assert "400 Bad Request" in errors[0]
    assert "Traceback" not in failed.stderr
    # Rows 25-30 were in a third file when the list failed: it is gone.
    assert [len(batch_rows(m)) for m in failed.of_type("BATCH")][-2:] == [12, 12]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in announced(failed)
    )
    state = failed.final_state()
    loaded = {
        r["id"]: r
        for m in failed.of_type("BATCH")
        if m["stream"] == "calls"
        for r in batch_rows(m)
    }
    assert calls_bookmark(state) == max(r["created_at"] for r in loaded.values())

    api.hooks.clear()
    resumed = sync(config, streams=STREAMS, state=state)

    assert resumed.exit_code == 0, resumed.stderr
    again = [
        r
        for m in resumed.of_type("BATCH")
        if m["stream"] == "calls"
        for r in batch_rows(m)
    ]
    # From the bookmark on (no look-back configured beyond the default 3 days
    # of these calls, which are minutes apart: the look-back re-reads them).
    assert {r["id"] for r in again} | set(loaded) == {c["id"] for c in api.calls}
    assert calls_bookmark(resumed.final_state()) == max(r["created_at"] for r in again)


def test_activate_version_is_never_sent_in_batch_mode(api, tmp_path):
    api.seed_phone_numbers(8)
    config = tap_config(
        api, emit_activate_version_messages=True, batch_config=batch_config(tmp_path)
    )

    run = sync(config, streams=["phone_numbers"])

    assert run.exit_code == 0, run.stderr
    assert run.of_type("ACTIVATE_VERSION") == []
    assert "does not apply in BATCH mode" in run.stderr
    assert len(batch_rows(run.of_type("BATCH")[0])) == 8


def test_parquet_is_refused_in_one_line(api, tmp_path):
    config = tap_config(api, batch_config=batch_config(tmp_path))
    config["batch_config"]["encoding"]["format"] = "parquet"

    run = sync(config, streams=["phone_numbers"])

    assert run.exit_code == ExitCode.CONFIG
    assert run.stderr.strip().splitlines()[-1:] == [
        "tap-contactship: error: invalid config: `batch_config.encoding.format` must "
        "be `jsonl`: this tap writes JSONL batch files (target-snowflake loads no "
        "other)"
    ]
    assert api.requests == []


class Target:
    """What BatchFiles reads of the SDK's StorageTarget."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.prefix: str | None = "runs/"
        self.params: dict[str, t.Any] = {}


class Config:
    """The parts of the SDK's BatchConfig that BatchFiles reads."""

    def __init__(self, root: str, compression: str | None) -> None:
        self.storage: Storage = Target(root)
        self.batch_size = 3
        self.encoding = type(
            "Encoding", (), {"format": "jsonl", "compression": compression}
        )()


def test_remote_storage_gets_whole_files_only():
    root = f"memory://bucket/{uuid.uuid4()}"
    files = BatchFiles(Config(root, "gzip"), "tap--calls")
    rows = [{"id": n} for n in range(7)]

    urls = [url for url, _ in files.write(rows, rows)]
    files.abandon()  # the seventh row's file fails

    assert len(urls) == 2
    fs, path = url_to_fs(root)
    assert sorted(fs.unstrip_protocol(p) for p in fs.find(path)) == sorted(urls)
    for url in urls:
        assert url.startswith(fs.unstrip_protocol(path) + "/runs/tap--calls-")
        with fsspec.open(url, "rb") as file:
            assert gzip.decompress(file.read()).count(b"\n") == 3


def test_no_compression_setting_means_plain_files(tmp_path):
    files = BatchFiles(Config(str(tmp_path), None), "tap--agents")
    rows = [{"id": 1}, {"id": 2}, {"id": 3}]
    [(url, last)] = list(files.write(rows, rows))

    assert last == {"id": 3}
    assert list(files.finish()) == []
    assert Path(url.removeprefix("file://")).read_bytes() == (
        b'{"id":1}\n{"id":2}\n{"id":3}\n'
    )
