"""`read_version` and `whole_reads` on stdout: what lets the warehouse drop
deleted rows (tap_contactship/reads.py; the dbt side is tests/e2e/test_deletes.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import batch_config, run_cli, sync, tap_config
from tests.fake_contactship import Response
from tests.worlds import batch_rows

FULL_TABLE = ("agents", "contacts", "phone_numbers")


def seeded(api) -> None:
    api.seed_phone_numbers(7)
    api.seed(calls=5, agents=3, contacts=4)


def test_every_list_read_whole_is_reported_last_with_its_version_and_size(
    api, tmp_path
):
    seeded(api)

    run = run_cli(
        tap_config(api, page_size=2, emit_activate_version_messages=True),
        tmp_path=tmp_path,
    )

    assert run.exit_code == 0, run.stderr
    kinds = [(m["type"], m.get("stream")) for m in run.messages if m["type"] != "STATE"]
    assert kinds[-4:] == [("SCHEMA", "whole_reads")] + [("RECORD", "whole_reads")] * 3
    reads = run.records("whole_reads")
    assert [r["stream"] for r in reads] == list(FULL_TABLE)  # calls: incremental
    [version] = {r["version"] for r in reads}
    activated = {m["stream"]: m["version"] for m in run.of_type("ACTIVATE_VERSION")}
    assert activated == dict.fromkeys(FULL_TABLE, version)
    for read in reads:
        rows = run.records(read["stream"])
        assert read["row_count"] == len(rows) > 0
        assert {row["read_version"] for row in rows} == {version}
    assert all("read_version" not in row for row in run.records("calls"))
    assert "read_version" in run.of_type("SCHEMA")[0]["schema"]["required"]


def test_the_version_is_the_runs_start_in_seconds(api, tmp_path):
    seeded(api)

    first = run_cli(tap_config(api), tmp_path=tmp_path)
    second = run_cli(tap_config(api), tmp_path=tmp_path)

    assert first.exit_code == second.exit_code == 0
    [one] = {r["version"] for r in first.records("whole_reads")}
    [two] = {r["version"] for r in second.records("whole_reads")}
    assert 1_700_000_000 < one <= two  # seconds since the epoch, never backwards


def test_a_run_that_fails_reports_no_whole_read_at_all(api):
    """Agents and contacts were read whole before phone numbers failed, but a
    failed run deletes nothing: no stream's read is reported."""
    seeded(api)
    api.hooks.append(
        lambda fake, seen: (
            Response(500, b"down")
            if seen.path == "/v1/phone-numbers"
            and int(seen.params.get("offset", 0)) > 0
            else None
        )
    )

    run = sync(tap_config(api, page_size=2, max_retries=1))

    assert run.exit_code != 0
    assert run.records("agents") and run.records("contacts")
    assert run.records("whole_reads") == []


def test_batch_mode_reports_whole_reads_as_records_and_versions_its_rows(
    api, tmp_path: Path
):
    seeded(api)
    setting = batch_config(tmp_path / "files", "gzip", size=3)

    run = sync(tap_config(api, batch_config=setting))

    assert run.exit_code == 0, run.stderr
    assert {m["stream"] for m in run.of_type("RECORD")} == {"whole_reads"}
    reads = {r["stream"]: r for r in run.records("whole_reads")}
    assert list(reads) == list(FULL_TABLE)
    for stream, read in reads.items():
        rows = [
            row
            for message in run.of_type("BATCH")
            if message["stream"] == stream
            for row in batch_rows(message)
        ]
        assert read["row_count"] == len(rows)
        assert {row["read_version"] for row in rows} == {read["version"]}


def test_read_version_cannot_be_deselected(api, tmp_path: Path):
    seeded(api)
    discovered = run_cli(tap_config(api), "--discover", tmp_path=tmp_path)
    assert discovered.exit_code == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == ["properties", "read_version"]:
                item["metadata"]["selected"] = False
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["stream"] == "agents"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))

    run = run_cli(
        tap_config(api), "--catalog", str(tmp_path / "catalog.json"), tmp_path=tmp_path
    )

    assert run.exit_code == 0, run.stderr
    assert all("read_version" in row for row in run.records("agents"))
