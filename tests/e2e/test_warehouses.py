"""Exactly once in Snowflake and BigQuery: the tap's real output through the
real loader packages (the versions `meltano.yml` ships) into local engines.

Snowflake is MeltanoLabs target-snowflake on fakesnow, BigQuery is z3
target-bigquery on bqemulator; `tests/warehouses/` holds the launchers and
says what each emulator needed. Every test loads twice (calls changed inside
the look-back, a number released, rows added, timestamps in other offsets),
then once more from a run that dies midway, and reads the rows back.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tap_contactship.errors import ExitCode
from tap_contactship.tap import TapContactship
from tests.conftest import Run, run_cli, tap_config
from tests.e2e.test_production import (
    fail_after_first_page,
    the_readme_types_hold,
)
from tests.fake_contactship import FakeContactship, make_call
from tests.warehouses import BigQuery, Snowflake, bigquery_python

pytestmark = pytest.mark.e2e

JSON_COLUMNS = {"call_analysis", "contact", "chat_history", "tools", "additional_data"}
TIME_COLUMNS = {"created_at", "finished_at", "_sdc_deleted_at"}
COLUMNS = {
    "calls": [
        *("id", "call_status", "created_at", "finished_at"),
        *("call_analysis", "contact", "chat_history"),
    ],
    "phone_numbers": ["id", "created_at", "_sdc_deleted_at", "_sdc_table_version"],
    "agents": ["id", "tools"],
    "contacts": ["id", "additional_data"],
}


@pytest.fixture
def api() -> Iterator[FakeContactship]:
    with FakeContactship(phone_numbers=60) as fake:
        fake.seed(calls=80, agents=3, contacts=20)
        # The API's docs show `Z`; other offsets and fractions must land as
        # the same instants in every warehouse.
        fake.calls[1]["finished_at"] = "2026-01-01T02:13:00+02:00"
        fake.calls[2]["finished_at"] = "2026-01-01T00:22:59.5-01:00"
        fake.calls[3]["finished_at"] = "2026-01-01T00:33:00.123456Z"
        yield fake


class Extract:
    """Runs of the tap, each resuming from the previous run's state."""

    def __init__(self, api: FakeContactship, folder: Path) -> None:
        self.api = api
        self.folder = folder
        self.state: dict[str, Any] | None = None
        self.runs = 0

    def __call__(self) -> Run:
        self.runs += 1
        folder = self.folder / f"run-{self.runs}"
        folder.mkdir()
        args = []
        if self.state is not None:
            (folder / "state.json").write_text(json.dumps(self.state))
            args = ["--state", str(folder / "state.json")]
        config = tap_config(
            self.api,
            emit_activate_version_messages=True,
            include_transcripts=True,
            page_size=25,
            max_retries=1,
        )
        run = run_cli(config, *args, tmp_path=folder)
        states = run.of_type("STATE")
        if states:
            self.state = states[-1]["value"]
        return run


def change_the_api(api: FakeContactship) -> tuple[list[str], dict[str, Any]]:
    """Between two runs: recent calls finish, a number is released, rows are added."""
    changed = []
    for call in api.calls[-5:]:
        call["call_status"] = "completed"
        call["call_analysis"] = {**call["call_analysis"], "follow_up": True}
        changed.append(call["id"])
    api.calls.append(make_call(len(api.calls)))
    api.add_phone_number()
    released = api.release_phone_number(7)
    return changed, released


def instant(value: Any) -> datetime | None:
    """A timestamp as any of the engines returns it, as an aware UTC instant."""
    if value is None:
        return None
    text = str(value)
    if text.isdigit():  # bqemulator: microseconds since the epoch
        return datetime.fromtimestamp(int(text) / 1e6, tz=timezone.utc)
    try:  # BigQuery: seconds since the epoch, as a float
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:  # TIMESTAMP_NTZ holds the UTC instant
            moment = moment.replace(tzinfo=timezone.utc)
        return moment


def decode(column: str, value: Any) -> Any:
    if column in TIME_COLUMNS:
        return instant(value)
    if column in JSON_COLUMNS and value is not None:
        if isinstance(value, list):  # BigQuery REPEATED JSON: [{"v": "…"}]
            return [json.loads(item["v"]) for item in value]
        return json.loads(value)
    return value


def read(warehouse: Snowflake | BigQuery, table: str) -> list[dict[str, Any]]:
    columns = COLUMNS[table]
    rows = warehouse.rows(f"select {', '.join(columns)} from {warehouse.table(table)}")
    return [
        {
            column: decode(column, value)
            for column, value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


def the_rows_are_exactly_once(warehouse, api: FakeContactship, changed) -> None:
    tables = {table: read(warehouse, table) for table in COLUMNS}
    for table, rows in tables.items():
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)), f"{table}: an id twice"
    expected = {
        "calls": api.calls,
        "agents": api.agents,
        "contacts": api.contacts,
    }
    for table, rows in expected.items():
        assert {row["id"] for row in tables[table]} == {r["id"] for r in rows}

    loaded = {row["id"]: row for row in tables["calls"]}
    for call in api.calls:
        row = loaded[call["id"]]
        # Objects whole, with the keys the schema does not declare.
        assert row["call_analysis"] == call["call_analysis"]
        assert row["contact"] == call["contact"]
        assert row["chat_history"] == api.with_transcript(call)["chat_history"]
        assert row["call_status"] == call["call_status"]
        for column in ("created_at", "finished_at"):
            assert row[column] == instant(call[column]), (column, call[column])
    assert all(loaded[i]["call_analysis"]["follow_up"] is True for i in changed)

    agents = {row["id"]: row["tools"] for row in tables["agents"]}
    assert agents == {agent["id"]: agent["tools"] for agent in api.agents}
    contacts = {row["id"]: row["additional_data"] for row in tables["contacts"]}
    assert contacts == {c["id"]: c["additional_data"] for c in api.contacts}


def load(warehouse, run: Run) -> None:
    result = warehouse.load(run.stdout)
    assert result.returncode == 0, result.stderr[-3000:]


def extract_and_load(extract: Extract, warehouse) -> None:
    run = extract()
    assert run.exit_code == 0, run.stderr[-2000:]
    load(warehouse, run)


def load_twice(warehouse, api: FakeContactship, extract: Extract) -> dict[str, Any]:
    """Load, change the API, load again, check every row; the released number."""
    extract_and_load(extract, warehouse)
    changed, released = change_the_api(api)
    extract_and_load(extract, warehouse)
    the_rows_are_exactly_once(warehouse, api, changed)
    return released


def load_a_run_that_dies_midway(
    warehouse, api: FakeContactship, extract: Extract
) -> None:
    api.hooks.append(fail_after_first_page)
    failed = extract()
    assert failed.exit_code == ExitCode.API_FAULT
    load(warehouse, failed)


@pytest.mark.parametrize("hard_delete", [False, True])
def test_snowflake_holds_every_row_once(api, tmp_path, hard_delete):
    warehouse = Snowflake(tmp_path, hard_delete=hard_delete)
    extract = Extract(api, tmp_path)
    released = load_twice(warehouse, api, extract)

    numbers = {row["id"]: row for row in read(warehouse, "phone_numbers")}
    live = {i for i, row in numbers.items() if row["_sdc_deleted_at"] is None}
    assert live == {row["id"] for row in api.phone_numbers}
    if hard_delete:
        assert released["id"] not in numbers
    else:
        assert numbers[released["id"]]["_sdc_deleted_at"] is not None
    for row in api.phone_numbers:
        assert numbers[row["id"]]["created_at"] == instant(row["created_at"])

    load_a_run_that_dies_midway(warehouse, api, extract)
    after = read(warehouse, "phone_numbers")
    assert {r["id"] for r in after if r["_sdc_deleted_at"] is None} == live
    assert len(after) == len(numbers)

    the_readme_types_hold(warehouse.column_types(), "Snowflake")


def test_bigquery_holds_every_row_once(api, tmp_path, bigquery_emulator):
    """The shipped settings upsert: z3 loads each run into a temporary table
    and MERGEs it on `id`. The emulator cannot run that MERGE as written
    (DuckDB refuses `UPDATE SET target.col = …`, which BigQuery accepts), so
    its launcher drops the qualifier: the same statement to BigQuery. What z3
    makes of our schema is checked as is below."""
    warehouse = BigQuery(*bigquery_emulator)
    extract = Extract(api, tmp_path)
    released = load_twice(warehouse, api, extract)

    # z3 ignores ACTIVATE_VERSION: the released number stays, with the version
    # of the last run that listed it, older than every listed number's. The
    # dbt staging models keep the newest version (docs/loading-elsewhere.md).
    numbers = {row["id"]: row for row in read(warehouse, "phone_numbers")}
    newest = max(int(row["_sdc_table_version"]) for row in numbers.values())
    current = {i for i, r in numbers.items() if int(r["_sdc_table_version"]) == newest}
    assert current == {row["id"] for row in api.phone_numbers}
    assert int(numbers[released["id"]]["_sdc_table_version"]) < newest

    load_a_run_that_dies_midway(warehouse, api, extract)
    assert {row["id"] for row in read(warehouse, "phone_numbers")} == set(numbers)

    the_readme_types_hold(warehouse.column_types(), "BigQuery")


def test_z3_bigquery_keeps_every_object_whole():
    """Our SCHEMA messages, as z3 translates them with the shipped settings:
    no RECORD column (a RECORD keeps only the keys the schema declares)."""
    catalog = TapContactship(config={"api_key": "unused-key"}).catalog_dict
    script = (
        "import json, sys\n"
        "from target_bigquery.core import IngestionStrategy, SchemaTranslator\n"
        "for schema in json.load(sys.stdin):\n"
        "    for field in SchemaTranslator(schema, {}).translated_schema:\n"
        "        print(field.name, field.field_type, field.mode)\n"
    )
    out = subprocess.run(
        [str(bigquery_python()), "-c", script],
        input=json.dumps([entry["schema"] for entry in catalog["streams"]]),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = [line.split() for line in out.splitlines()]
    assert "RECORD" not in {kind for _, kind, _ in fields}
    assert ["chat_history", "JSON", "REPEATED"] in fields
    assert ["call_analysis", "JSON", "NULLABLE"] in fields
