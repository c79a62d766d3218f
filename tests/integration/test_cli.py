"""The real `tap-contactship` command, as a Meltano pipeline runs it."""

from __future__ import annotations

import json

import pytest

from tap_contactship.errors import ExitCode
from tests.conftest import batch_config, emitted, run_cli, tap_config, unversioned
from tests.fake_contactship import Response
from tests.worlds import batch_rows

SECRET = "cs_live_SUPERSECRET_7f3a9c1e5b"


def test_sync_writes_schema_records_and_state_for_every_stream(api, tmp_path):
    api.seed_phone_numbers(250)
    api.seed(calls=330, agents=4, contacts=120)

    run = run_cli(tap_config(api, page_size=100), tmp_path=tmp_path)

    assert run.exit_code == 0, run.stderr
    schemas = {m["stream"]: m for m in run.of_type("SCHEMA")}
    assert set(schemas) == {
        "phone_numbers",
        "calls",
        "agents",
        "contacts",
        "whole_reads",
    }
    assert schemas.pop("whole_reads")["key_properties"] == ["stream", "version"]
    assert all(m["key_properties"] == ["id"] for m in schemas.values())
    assert schemas["calls"]["bookmark_properties"] == ["created_at"]
    for stream, rows in [
        ("phone_numbers", api.phone_numbers),
        ("calls", api.calls),
        ("agents", api.agents),
        ("contacts", api.contacts),
    ]:
        assert unversioned(run.records(stream)) == emitted(rows), stream
    assert run.messages[-1]["type"] == "STATE"
    bookmark = run.final_state()["bookmarks"]["calls"]["replication_key_value"]
    assert bookmark == emitted(api.calls)[-1]["created_at"]


def test_activate_version_when_enabled(api, tmp_path):
    api.seed_phone_numbers(3)

    run = run_cli(
        tap_config(api, emit_activate_version_messages=True), tmp_path=tmp_path
    )
    assert run.exit_code == 0, run.stderr

    versions = {m["stream"]: m["version"] for m in run.of_type("ACTIVATE_VERSION")}
    assert set(versions) == {"phone_numbers", "agents", "contacts"}
    numbers = [m for m in run.of_type("RECORD") if m["stream"] == "phone_numbers"]
    assert {m["version"] for m in numbers} == {versions["phone_numbers"]}


def test_no_activate_version_by_default(api, tmp_path):
    api.seed_phone_numbers(3)

    run = run_cli(tap_config(api), tmp_path=tmp_path)
    assert run.exit_code == 0, run.stderr

    assert run.of_type("ACTIVATE_VERSION") == []


def test_discover_lists_phone_numbers_with_metadata(tmp_path):
    run = run_cli({"api_key": "k" * 8}, "--discover", tmp_path=tmp_path)

    assert run.exit_code == 0, run.stderr
    catalog = json.loads(run.stdout)
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "phone_numbers")
    root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
    assert root["metadata"]["table-key-properties"] == ["id"]
    assert "replication-key" not in root["metadata"]
    assert root["metadata"]["selected-by-default"] is True
    assert entry["schema"]["properties"]["id"] == {
        "description": "Phone number id",
        "type": ["string"],
    }


@pytest.mark.parametrize("about_format", ["json", "markdown"])
def test_about(tmp_path, about_format):
    run = run_cli(None, "--about", f"--format={about_format}", tmp_path=tmp_path)

    assert run.exit_code == 0
    assert "page_size" in run.stdout
    if about_format == "json":
        about = json.loads(run.stdout)
        assert about["name"] == "tap-contactship"
        assert "exactly once" in about["description"]
        assert about["settings"]["properties"]["api_key"]["secret"] is True


def test_connection_test_passes_and_fails(api, tmp_path):
    api.seed_phone_numbers(3)
    good = run_cli(tap_config(api), "--test", tmp_path=tmp_path)
    bad = run_cli(tap_config(api, api_key="wrong-key-123"), "--test", tmp_path=tmp_path)

    assert good.exit_code == 0, good.stderr
    assert bad.exit_code == ExitCode.KEY_REJECTED
    assert bad.stderr.strip().splitlines()[-1].startswith("tap-contactship: error:")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("echo", [False, True])
def test_key_never_in_output_even_at_debug_or_when_echoed(api, tmp_path, echo):
    api.api_key = SECRET
    api.seed_phone_numbers(5)
    api.echo_key_in_errors = echo
    ok = run_cli(
        tap_config(api, api_key=SECRET),
        tmp_path=tmp_path,
        env={"TAP_CONTACTSHIP_LOG_LEVEL": "DEBUG", "LOGLEVEL": "DEBUG"},
    )
    api.api_key = "something-else"
    rejected = run_cli(
        tap_config(api, api_key=SECRET),
        tmp_path=tmp_path,
        env={"TAP_CONTACTSHIP_LOG_LEVEL": "DEBUG", "LOGLEVEL": "DEBUG"},
    )

    assert ok.exit_code == 0
    assert "DEBUG" in ok.stderr, "the run was not at debug level"
    assert rejected.exit_code == ExitCode.KEY_REJECTED
    for run in (ok, rejected):
        assert SECRET not in run.stdout
        assert SECRET not in run.stderr


def test_key_echoed_in_a_server_error_is_redacted(api, tmp_path, sleeps):
    api.api_key = SECRET
    from tests.fake_contactship import Response

    api.script = [Response(400, f"bad request for key {SECRET}")]

    from tests.conftest import sync

    run = sync(tap_config(api, api_key=SECRET))

    assert run.exit_code == ExitCode.API_FAULT
    assert SECRET not in run.stderr
    assert "***REDACTED***" in run.stderr


def test_batch_mode_writes_every_row_once(api, tmp_path):
    api.seed_phone_numbers(250)
    api.seed(calls=40, agents=2, contacts=5)
    config = tap_config(
        api,
        batch_config=batch_config(f"file://{tmp_path}", "gzip", prefix="batch-"),
    )

    run = run_cli(config, tmp_path=tmp_path)

    assert run.exit_code == 0, run.stderr
    rows: dict[str, list[str]] = {}
    for message in run.of_type("BATCH"):
        rows.setdefault(message["stream"], []).extend(
            row["id"] for row in batch_rows(message)
        )
    assert sorted(rows["phone_numbers"]) == sorted(r["id"] for r in api.phone_numbers)
    assert len(rows["calls"]) == len(set(rows["calls"])) == 40


def test_python_dash_m_runs_the_same_command(tmp_path):
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "tap_contactship", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["name"] == "tap-contactship"


def test_activate_version_comes_after_the_last_record_then_the_state(api, tmp_path):
    api.seed_phone_numbers(250)
    api.seed(agents=2, contacts=3)

    run = run_cli(
        tap_config(api, emit_activate_version_messages=True, page_size=100),
        tmp_path=tmp_path,
    )

    assert run.exit_code == 0, run.stderr
    for stream in ("phone_numbers", "agents", "contacts"):
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert kinds[0] == "SCHEMA"
        assert kinds[-1] == "ACTIVATE_VERSION", stream
        assert kinds.count("ACTIVATE_VERSION") == 1
        position = next(
            i
            for i, m in enumerate(run.messages)
            if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        )
        assert run.messages[position + 1]["type"] in {"STATE", "SCHEMA"}


def test_a_stream_that_fails_never_activates_its_version(api, tmp_path, sleeps):
    api.seed_phone_numbers(250)

    def fail_third_page(fake, seen):
        if seen.path == "/v1/phone-numbers" and int(seen.params["offset"]) >= 200:
            return Response(500, b"down")
        return None

    api.hooks.append(fail_third_page)
    from tests.conftest import sync

    run = sync(
        tap_config(api, emit_activate_version_messages=True, max_retries=1),
        streams=["phone_numbers"],
    )

    assert run.exit_code == ExitCode.API_FAULT
    assert len(run.records("phone_numbers")) == 201  # two pages of 101, 1 shared
    assert run.of_type("ACTIVATE_VERSION") == []


def test_a_possibly_truncated_list_activates_nothing(api, tmp_path):
    api.seed(contacts=150)
    api.contacts_paging = False  # answers every offset with its first 100

    from tests.conftest import sync

    run = sync(
        tap_config(api, emit_activate_version_messages=True), streams=["contacts"]
    )

    assert run.exit_code == 0, run.stderr
    assert len(run.records("contacts")) == 100
    assert run.of_type("ACTIVATE_VERSION") == []
    assert "no ACTIVATE_VERSION is sent" in run.stderr
