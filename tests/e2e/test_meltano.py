"""End to end: `meltano run` into real warehouses, against the fake API.

Needs Meltano (`.ci/run` installs it into `.venv-meltano`) and, for the
PostgreSQL tests, Debian's postgresql package (started here on loopback).
"""

from __future__ import annotations

import json
import re

import pytest

from contactship_orchestrate.meltano_output import tap_exit_code, worth_retrying
from tap_contactship.errors import ExitCode
from tests.conftest import emitted
from tests.e2e.conftest import duckdb_rows, psql, run_script
from tests.fake_contactship import DEFAULT_KEY

pytestmark = pytest.mark.e2e


def test_duckdb_holds_exactly_the_api_rows_and_a_rerun_adds_no_duplicates(meltano, api):
    warehouse = meltano.workdir / "warehouse.duckdb"
    meltano.run("tap-contactship", "target-duckdb", TAP_CONTACTSHIP_API_URL=api.url)

    numbers = duckdb_rows(
        warehouse,
        "select id, phone_number, type, organization_id, strftime(created_at, "
        "'%Y-%m-%dT%H:%M:%SZ') from contactship.phone_numbers order by created_at",
    )
    assert numbers == [
        [r["id"], r["phone_number"], r["type"], r["organization_id"], r["created_at"]]
        for r in api.phone_numbers
    ]
    counts = {
        table: duckdb_rows(
            warehouse, f"select count(*), count(distinct id) from contactship.{table}"
        )[0]
        for table in ("phone_numbers", "calls", "agents", "contacts")
    }
    assert counts == {
        "phone_numbers": [250, 250],
        "calls": [330, 330],
        "agents": [3, 3],
        "contacts": [120, 120],
    }

    api.calls[-1]["call_status"] = "completed"
    meltano.run("tap-contactship", "target-duckdb", TAP_CONTACTSHIP_API_URL=api.url)

    assert duckdb_rows(
        warehouse, "select count(*), count(distinct id) from contactship.phone_numbers"
    ) == [[250, 250]]
    assert duckdb_rows(
        warehouse, "select count(*), count(distinct id) from contactship.calls"
    ) == [[330, 330]]
    status = duckdb_rows(
        warehouse,
        f"select call_status from contactship.calls where id = '{api.calls[-1]['id']}'",
    )
    assert status == [["completed"]]
    # The second run resumed from the bookmark: only the look-back was asked for.
    assert "date_from" in api.data_requests("/v1/calls")[-1].params


def test_state_is_kept_by_meltano(meltano, api):
    meltano.run("tap-contactship", "target-duckdb", TAP_CONTACTSHIP_API_URL=api.url)

    listed = meltano("state", "list")
    state_id = "dev:tap-contactship-to-target-duckdb"
    assert state_id in listed.stdout
    state = json.loads(meltano("state", "get", state_id).stdout)
    assert (
        state["singer_state"]["bookmarks"]["calls"]["replication_key_value"]
        == emitted(api.calls)[-1]["created_at"]
    )


def test_config_test_passes_and_a_wrong_key_fails_clearly(meltano, api):
    good = meltano("config", "test", "tap-contactship", TAP_CONTACTSHIP_API_URL=api.url)
    bad = meltano(
        "config",
        "test",
        "tap-contactship",
        TAP_CONTACTSHIP_API_URL=api.url,
        TAP_CONTACTSHIP_API_KEY="wrong-key-0000",
    )

    assert good.returncode == 0, good.stderr[-2000:]
    assert bad.returncode != 0
    assert "rejected the API key" in bad.stdout + bad.stderr
    assert "wrong-key-0000" not in bad.stdout + bad.stderr


def test_missing_key_is_one_clear_line(meltano, api):
    result = meltano(
        "invoke",
        "tap-contactship",
        TAP_CONTACTSHIP_API_KEY="",
        TAP_CONTACTSHIP_API_URL=api.url,
    )

    assert result.returncode != 0
    assert "api_key" in result.stdout + result.stderr


@pytest.mark.parametrize("target", ["target-snowflake", "target-bigquery"])
def test_production_loader_declarations_are_valid(meltano, target):
    result = meltano("invoke", target, "--about")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "Settings" in result.stdout or "settings" in result.stdout


# PostgreSQL, a real server on loopback


@pytest.mark.postgres
def test_postgres_retires_released_numbers_with_activate_version(
    meltano, api, postgres
):
    env = {
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        "TARGET_POSTGRES_HOST": postgres["host"],
        "TARGET_POSTGRES_PORT": postgres["port"],
        "TARGET_POSTGRES_USER": postgres["user"],
        "TARGET_POSTGRES_PASSWORD": "unused",
        "TARGET_POSTGRES_DATABASE": postgres["database"],
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "contactship_av",
    }
    meltano.run("tap-contactship", "target-postgres", **env)
    assert psql(
        postgres,
        "select count(*), count(distinct id) from contactship_av.phone_numbers",
    ) == [["250", "250"]]

    released = api.release_phone_number(17)
    added = api.add_phone_number()
    meltano.run("tap-contactship", "target-postgres", **env)

    rows = {
        row[0]: row[1]
        for row in psql(
            postgres,
            "select id, coalesce(_sdc_deleted_at::text, '') from contactship_av.phone_numbers",
        )
    }
    assert len(rows) == 251  # 249 kept + 1 released (soft-deleted) + 1 new
    assert rows[released["id"]] != ""
    assert rows[added["id"]] == ""
    live = [i for i, deleted in rows.items() if not deleted]
    assert sorted(live) == sorted(r["id"] for r in api.phone_numbers)
    calls = psql(
        postgres, "select count(*), count(distinct id) from contactship_av.calls"
    )
    assert calls == [["330", "330"]]


# The README's commands


def test_sync_script_without_a_key_is_one_clear_line():
    result = run_script("sync.sh")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: TAP_CONTACTSHIP_API_KEY is not set: export your Contactship API key "
        "(dashboard: Settings > API Keys) or put it in .env; to try the pipeline "
        "without one, run: bash scripts/demo.sh"
    ]


def test_sync_script_loads_and_prints_what_landed(installed_meltano, api, tmp_path):
    result = run_script(
        "sync.sh",
        TAP_CONTACTSHIP_API_KEY=DEFAULT_KEY,
        TAP_CONTACTSHIP_API_URL=api.url,
        TARGET_DUCKDB_FILEPATH=str(tmp_path / "warehouse.duckdb"),
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path}/meltano.db",
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"contactship\.phone_numbers +250 rows", result.stdout)
    assert re.search(r"contactship\.calls +330 rows", result.stdout)


def test_demo_needs_no_key(installed_meltano):
    result = run_script("demo.sh")

    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"contactship\.phone_numbers +300 rows", result.stdout)
    assert re.search(r"contactship\.agents +4 rows", result.stdout)


def test_under_meltano_the_true_reason_is_the_first_error(meltano, api):
    result = meltano(
        "run",
        "tap-contactship",
        "target-duckdb",
        TAP_CONTACTSHIP_API_URL=api.url,
        TAP_CONTACTSHIP_API_KEY="wrong-key-1234",
    )

    assert result.returncode == 1
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "[error" in line]
    assert (
        "tap-contactship: error: the Contactship API rejected the API key" in errors[0]
    )
    assert "Extractor failed" in errors[1]
    assert "unhandled error" not in output
    assert "Traceback" not in output
    # Meltano exits 1 whatever the tap's code: the code rides on the tap's line.
    assert tap_exit_code(output) == ExitCode.KEY_REJECTED
    assert not worth_retrying(tap_exit_code(output))
