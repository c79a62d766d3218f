"""BATCH mode through real loaders: each row once in PostgreSQL and Snowflake.

target-postgres (through `meltano run`) and target-snowflake (on fakesnow,
whose launcher stages the files a PUT names) read the tap's batch files; the
rows must be the ones a RECORD-mode load leaves, and a second run must add
none twice. target-duckdb cannot read BATCH messages (README).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import (
    batch_config,
    run_benchmark,
    run_cli,
    table_rows,
    tap_config,
)
from tests.e2e.conftest import Meltano, psql
from tests.e2e.test_production import pg_env
from tests.e2e.test_warehouses import change_the_api, the_rows_are_exactly_once
from tests.fake_contactship import FakeContactship
from tests.warehouses import Snowflake

pytestmark = pytest.mark.e2e

TABLES = ("phone_numbers", "calls", "agents", "contacts")


def table_digest(postgres: dict[str, str], schema: str, table: str) -> list[list[str]]:
    """Row count, distinct ids and a digest of every row's API fields."""
    columns = psql(
        postgres,
        "select column_name from information_schema.columns where table_schema = "
        f"'{schema}' and table_name = '{table}' and column_name not like '\\_sdc%' "
        "and column_name <> 'read_version' "
        "order by column_name",
    )
    fields = ", ".join(f'"{c[0]}"' for c in columns)
    return psql(
        postgres,
        f"select count(*), count(distinct id), md5(string_agg(row_text, '|' order by "
        f"id)) from (select id, (select row({fields}))::text as row_text from "
        f"{schema}.{table}) rows",
    )


@pytest.mark.postgres
def test_postgres_holds_the_record_mode_rows_once_after_batch_loads(
    meltano: Meltano, api: FakeContactship, postgres, tmp_path
):
    api.transcript_turns = 3
    common = {
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS": "true",
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
    }
    batches = tmp_path / "batches"
    batch_env = {
        **common,
        "TAP_CONTACTSHIP_BATCH_CONFIG": json.dumps(
            batch_config(batches, "gzip", size=100)
        ),
        **pg_env(postgres, "contactship_batch"),
    }
    record_env = {**common, **pg_env(postgres, "contactship_record")}
    # Separate state: each mode starts from nothing.
    meltano.run(
        "--state-id-suffix=record", "tap-contactship", "target-postgres", **record_env
    )
    loaded = meltano.run(
        "--state-id-suffix=batch", "tap-contactship", "target-postgres", **batch_env
    )

    assert "does not apply in BATCH mode" in loaded.stderr
    assert len(list(batches.iterdir())) == 3 + 4 + 1 + 2  # 250 + 330 + 3 + 120 rows
    for table in TABLES:
        batch = table_digest(postgres, "contactship_batch", table)
        assert batch == table_digest(postgres, "contactship_record", table), table
        assert batch[0][0] == batch[0][1] != "0", table

    change_the_api(api)
    meltano.run(
        "--state-id-suffix=batch", "tap-contactship", "target-postgres", **batch_env
    )
    meltano.run(
        "--state-id-suffix=record", "tap-contactship", "target-postgres", **record_env
    )

    # Incremental: the second run asked for calls from its bookmark on.
    assert "date_from" in api.data_requests("/v1/calls")[-1].params
    for table in ("calls", "agents", "contacts"):
        batch = table_digest(postgres, "contactship_batch", table)
        assert batch == table_digest(postgres, "contactship_record", table), table
    counts = psql(
        postgres, "select count(*), count(distinct id) from contactship_batch.calls"
    )
    assert counts == [[str(len(api.calls))] * 2]
    # No ACTIVATE_VERSION in BATCH mode: the released number stays, and no
    # number is deleted (target-postgres would delete every batch row).
    numbers = psql(
        postgres,
        "select count(*), count(_sdc_deleted_at) from contactship_batch.phone_numbers",
    )
    assert numbers == [[str(len(api.phone_numbers) + 1), "0"]]


def test_snowflake_loads_batch_files_once(tmp_path):
    with FakeContactship(phone_numbers=60) as api:
        api.seed(calls=80, agents=3, contacts=20)
        warehouse = Snowflake(tmp_path)
        state: dict[str, Any] | None = None
        changed: list[str] = []
        for run_number in (1, 2):
            folder = tmp_path / f"run-{run_number}"
            folder.mkdir()
            args = []
            if state is not None:
                (folder / "state.json").write_text(json.dumps(state))
                args = ["--state", str(folder / "state.json")]
            config = tap_config(
                api,
                include_transcripts=True,
                page_size=25,
                batch_config=batch_config(folder / "files", size=100),
            )
            run = run_cli(config, *args, tmp_path=folder)
            assert run.exit_code == 0, run.stderr[-2000:]
            # Only the reads' own record (`whole_reads`) is a RECORD in BATCH mode.
            assert {m["stream"] for m in run.of_type("RECORD")} == {"whole_reads"}
            assert run.of_type("BATCH")
            result = warehouse.load(run.stdout)
            assert result.returncode == 0, result.stderr[-3000:]
            state = run.final_state()
            if run_number == 1:
                changed = change_the_api(api)[0]

        the_rows_are_exactly_once(warehouse, api, changed)


@pytest.mark.postgres
def test_the_load_benchmark_runs(installed_meltano):
    """`benchmarks/load.py` at a tiny size: it works; timings are not asserted."""
    lines = run_benchmark("benchmarks/load.py", "--calls", "300")

    assert len(table_rows(lines)) == 1 + 3, "\n".join(lines)
