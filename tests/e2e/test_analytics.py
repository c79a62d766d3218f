"""The dbt package, built by the pipeline, checked against the fake API's own rows.

Each mart's numbers are computed here independently from the rows the fake API
served, then compared with what dbt built in the warehouse, after a first run
and after a second one in which calls inside the look-back changed status.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Meltano, duckdb_rows, psql
from tests.e2e.test_production import fail_after_first_page
from tests.e2e.test_warehouses import Extract, extract_and_load
from tests.fake_contactship import FakeContactship
from tests.warehouses import BigQuery, Snowflake

pytestmark = pytest.mark.e2e

Rows = list[list[Any]]


@pytest.fixture
def org() -> Iterator[FakeContactship]:
    with FakeContactship(phone_numbers=30) as fake:
        fake.seed(calls=450, agents=4, contacts=80)
        yield fake


def expected_daily(api: FakeContactship) -> dict[tuple[str, str], tuple[Any, ...]]:
    names = {agent["id"]: agent["name"] for agent in api.agents}
    days: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for call in api.calls:
        day = days[(call["agent_id"], call["created_at"][:10])]
        day[0] += 1
        day[1] += call["call_status"] == "completed"
        day[2] += call["duration"]
    return {
        key: (names.get(key[0]), calls, done, done / calls, total)
        for key, (calls, done, total) in days.items()
    }


def expected_outreach(api: FakeContactship) -> dict[str, tuple[int, str | None]]:
    calls_by_contact: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in api.calls:
        calls_by_contact[call["contact"]["id"]].append(call)
    outreach = {}
    for contact in api.contacts:
        calls = sorted(calls_by_contact[contact["id"]], key=lambda c: c["created_at"])
        outreach[contact["id"]] = (
            len(calls),
            calls[-1]["call_status"] if calls else None,
        )
    return outreach


def expected_usage(api: FakeContactship) -> dict[str, int]:
    used: dict[str, int] = defaultdict(int)
    for call in api.calls:
        used[call["from"]] += 1
    return {
        number["phone_number"]: used[number["phone_number"]]
        for number in api.phone_numbers
    }


def check_marts(api: FakeContactship, query: Callable[[str], Rows]) -> None:
    daily = {
        (row[0], str(row[2])[:10]): (
            row[1],
            int(row[3]),
            int(row[4]),
            float(row[5]),
            float(row[6]),
        )
        for row in query(
            "select agent_id, agent_name, call_day, calls, completed_calls, "
            "completion_rate, total_duration_seconds "
            "from analytics.agent_daily_performance"
        )
    }
    expected = expected_daily(api)
    assert daily.keys() == expected.keys()
    for key, (name, calls, done, rate, total) in expected.items():
        got = daily[key]
        assert got[:3] == (name, calls, done), key
        assert got[3] == pytest.approx(rate)
        assert got[4] == pytest.approx(total)

    outreach = {
        row[0]: (int(row[1]), row[2])
        for row in query(
            "select contact_id, attempts, last_call_status from analytics.contact_outreach"
        )
    }
    assert outreach == expected_outreach(api)
    never = [
        row[0]
        for row in query(
            "select contact_id from analytics.contact_outreach where never_called = 1"
        )
    ]
    assert sorted(never) == sorted(
        c for c, (n, _) in expected_outreach(api).items() if n == 0
    )
    assert never, "the fake's data must include contacts never called"

    usage = {
        row[0]: int(row[1])
        for row in query("select phone_number, calls from analytics.phone_number_usage")
    }
    assert usage == expected_usage(api)

    facts = query(
        "select count(*), count(distinct call_id), sum(is_completed) from analytics.fct_calls"
    )
    assert [int(value) for value in facts[0]] == [
        len(api.calls),
        len(api.calls),
        sum(c["call_status"] == "completed" for c in api.calls),
    ]


def change_recent_statuses(api: FakeContactship) -> None:
    """Calls inside the look-back complete after the first run."""
    for call in api.calls[-40:]:
        if call["call_status"] != "completed":
            call["call_status"] = "completed"
            call["call_result"] = "answered"


def build_twice_and_check(
    meltano: Meltano,
    org: FakeContactship,
    query: Callable[[str], Rows],
    tasks: list[str],
    env: dict[str, str],
) -> None:
    """Build, check; change calls inside the look-back, build again, check."""
    meltano.run(*tasks, **env)
    check_marts(org, query)

    change_recent_statuses(org)
    meltano.run(*tasks, **env)
    check_marts(org, query)


def test_duckdb_marts_match_the_api_after_two_runs(meltano: Meltano, org):
    warehouse = meltano.workdir / "warehouse.duckdb"

    def query(sql: str) -> Rows:
        return duckdb_rows(warehouse, sql)

    tasks = ["tap-contactship", "target-duckdb", "dbt-duckdb:build"]
    build_twice_and_check(
        meltano, org, query, tasks, {"TAP_CONTACTSHIP_API_URL": org.url}
    )


@pytest.mark.postgres
def test_postgres_marts_match_the_api_after_two_runs(meltano: Meltano, org, postgres):
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TARGET_POSTGRES_HOST": postgres["host"],
        "TARGET_POSTGRES_PORT": postgres["port"],
        "TARGET_POSTGRES_USER": postgres["user"],
        "TARGET_POSTGRES_PASSWORD": "unused",
        "TARGET_POSTGRES_DATABASE": postgres["database"],
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "contactship",
    }

    def query(sql: str) -> Rows:
        # psql -At prints NULL as an empty string.
        return [
            [value if value != "" else None for value in row]
            for row in psql(postgres, sql)
        ]

    tasks = ["tap-contactship", "target-postgres", "dbt-postgres:build"]
    build_twice_and_check(meltano, org, query, tasks, env)


def test_bigquery_marts_match_the_api_after_two_runs(
    meltano: Meltano, org, bigquery_emulator, tmp_path
):
    """The whole job through Meltano into bqemulator: the loader and dbt-bigquery
    Meltano installed, only the Google endpoints local (tests/warehouses/)."""
    rest_url, token_uri = bigquery_emulator
    warehouse = BigQuery(rest_url, token_uri)
    key = tmp_path / "service-account.json"
    key.write_text(warehouse.config["credentials_json"])
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        "TARGET_BIGQUERY_PROJECT": BigQuery.PROJECT,
        "TARGET_BIGQUERY_CREDENTIALS_PATH": str(key),
        "BIGQUERY_EMULATOR_HOST": rest_url,
    }
    tasks = ["tap-contactship", "target-bigquery", "dbt-bigquery:build"]
    meltano.run(*tasks, **env)
    check_marts(org, warehouse.rows)

    # z3 ignores ACTIVATE_VERSION: the staging model drops the released number.
    released = org.release_phone_number(0)
    change_recent_statuses(org)
    meltano.run(*tasks, **env)
    check_marts(org, warehouse.rows)
    numbers = warehouse.rows(
        "select phone_number from staging.stg_contactship__phone_numbers"
    )
    assert sorted(n for (n,) in numbers) == sorted(
        n["phone_number"] for n in org.phone_numbers
    )
    assert released["phone_number"] not in {n for (n,) in numbers}

    # A run that dies midway: z3 still merges the rows that arrived, with a
    # newer version than the others, but the job stops before dbt, so the
    # staging table still holds the whole list.
    org.hooks.append(fail_after_first_page)
    failed = meltano(
        "run",
        *tasks,
        **env,
        TAP_CONTACTSHIP_PAGE_SIZE="10",
        TAP_CONTACTSHIP_MAX_RETRIES="1",
    )
    assert failed.returncode != 0
    newest = warehouse.rows(
        "select count(*) from contactship.phone_numbers where _sdc_table_version ="
        " (select max(_sdc_table_version) from contactship.phone_numbers)"
    )
    assert 0 < int(newest[0][0]) < len(org.phone_numbers)
    after = warehouse.rows(
        "select phone_number from staging.stg_contactship__phone_numbers"
    )
    assert sorted(after) == sorted(numbers)


def test_snowflake_marts_match_the_api_after_two_runs(org, tmp_path):
    """The job's three steps into fakesnow: the tap, target-snowflake and
    dbt-snowflake at the versions `meltano.yml` pins (tests/warehouses/)."""
    warehouse = Snowflake(tmp_path)
    extract = Extract(org, tmp_path)

    def job() -> None:
        extract_and_load(extract, warehouse)
        built = warehouse.dbt("build")
        assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]

    job()
    check_marts(org, warehouse.rows)

    # ACTIVATE_VERSION soft-deletes the released number; staging drops it.
    released = org.release_phone_number(0)
    change_recent_statuses(org)
    job()
    check_marts(org, warehouse.rows)
    numbers = warehouse.rows(
        "select phone_number from staging.stg_contactship__phone_numbers"
    )
    assert released["phone_number"] not in {n for (n,) in numbers}


@pytest.mark.parametrize("warehouse", ["snowflake", "bigquery"])
def test_the_package_parses_for_the_cloud_warehouses(meltano: Meltano, warehouse):
    result = meltano("invoke", f"dbt-{warehouse}:parse")

    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
