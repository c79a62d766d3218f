"""The dbt package, built by the pipeline, checked against the fake API's own rows.

Each mart's numbers are computed here independently from the rows the fake API
served, then compared with what dbt built in the warehouse, after each of three
runs with changes between them (calls changed inside the look-back, new calls,
a released number, a renamed agent). The incremental marts must then equal a
`--full-refresh` build row for row.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import run_benchmark, table_rows
from tests.documentation import queries
from tests.e2e.conftest import (
    DUCKDB_PYTHON,
    Meltano,
    agency,
    duckdb_rows,
    postgres_bindir,
    psql,
    unavailable,
)
from tests.e2e.test_production import fail_after_first_page
from tests.e2e.test_warehouses import Extract, extract_and_load
from tests.e2e.warehouse_oracle import (
    Loaded,
    check_warehouse,
    instant,
    one_at_a_time,
)
from tests.fake_contactship import FakeContactship, iso, make_call
from tests.warehouses import BigQuery, Snowflake

pytestmark = pytest.mark.e2e

Rows = list[list[Any]]
Query = Callable[[str], Rows]

#: Every model the package builds, staging and marts.
MARTS = [
    "fct_calls",
    "dim_agents",
    "agent_daily_performance",
    "campaign_performance",
    "call_outcomes",
    "call_transcript_turns",
    "contact_outreach",
    "phone_number_usage",
]


@pytest.fixture
def org() -> Iterator[FakeContactship]:
    with FakeContactship(phone_numbers=30) as fake:
        fake.seed(calls=450, agents=4, contacts=80)
        yield fake


def day(value: Any) -> str:
    return str(value)[:10]


def moment(value: Any) -> str | None:
    """A timestamp as `YYYY-MM-DD HH:MM:SS`, whatever the warehouse returned
    (bqemulator's REST API: microseconds since the epoch)."""
    if value in (None, ""):
        return None
    if str(value).isdigit():
        value = datetime.fromtimestamp(int(value) / 1e6, timezone.utc)
    return str(value).replace("T", " ")[:19]


def number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def flag(value: Any) -> bool:
    """A boolean as DuckDB, BigQuery or Snowflake (True) or psql (`t`) gives it."""
    assert value in (True, False, "t", "f", "true", "false"), value
    return value in (True, "t", "true")


def text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def transcript(api: FakeContactship, call: dict[str, Any]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = api.with_transcript(call)["chat_history"]
    return turns


class Expected:
    """Each mart's rows, computed from the rows the fake API serves."""

    def __init__(self, api: FakeContactship) -> None:
        self.api = api
        self.calls = api.calls
        #: Released numbers leave the marts on every loader (see test_deletes).
        self.numbers = api.phone_numbers
        self.names = {agent["id"]: agent["name"] for agent in api.agents}

    def daily(self) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        days: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, 0.0])
        for call in self.calls:
            row = days[(call["agent_id"], call["created_at"][:10])]
            row[0] += 1
            row[1] += call["call_status"] == "completed"
            row[2] += call["duration"]
        return {
            key: (self.names.get(key[0]), calls, done, done / calls, total)
            for key, (calls, done, total) in days.items()
        }

    def campaigns(self) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        days: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for call in self.calls:
            if call["campaign_id"]:
                days[(call["campaign_id"], call["created_at"][:10])].append(call)
        return {
            key: (
                len(calls),
                sum(c["call_status"] == "completed" for c in calls),
                sum(c["duration"] for c in calls),
                len({c["contact"]["id"] for c in calls}),
                len({c["agent_id"] for c in calls}),
            )
            for key, calls in days.items()
        }

    def outcomes(self) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        groups: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0])
        for call in self.calls:
            key = (
                call["agent_id"],
                call["created_at"][:10],
                call["call_status"],
                call["call_result"],
                call["disconnection_reason"],
                call["call_analysis"]["sentiment"],
            )
            groups[key][0] += 1
            groups[key][1] += call["duration"]
        return {key: (calls, total) for key, (calls, total) in groups.items()}

    def outreach(self) -> dict[str, tuple[int, str | None, bool]]:
        by_contact: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for call in self.calls:
            by_contact[call["contact"]["id"]].append(call)
        outreach = {}
        for contact in self.api.contacts:
            calls = sorted(by_contact[contact["id"]], key=lambda c: c["created_at"])
            last = calls[-1]["call_status"] if calls else None
            outreach[contact["id"]] = (len(calls), last, not calls)
        return outreach

    def usage(self) -> dict[str, tuple[int, int, str | None]]:
        """Outbound calls only: an inbound call's `from` is the caller's."""
        placed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for call in self.calls:
            if call["direction"] == "outbound":
                placed[call["from"]].append(call)
        usage = {}
        for row in self.numbers:
            calls = placed[row["phone_number"]]
            last = max((c["created_at"] for c in calls), default=None)
            done = sum(c["call_status"] == "completed" for c in calls)
            usage[row["phone_number"]] = (len(calls), done, moment(last))
        return usage

    def agents(self) -> dict[str, tuple[Any, ...]]:
        calls: dict[str, list[str]] = defaultdict(list)
        for call in self.calls:
            calls[call["agent_id"]].append(call["created_at"])
        return {
            agent["id"]: (
                agent["name"],
                len(agent["prompt"]),
                len(calls[agent["id"]]),
                moment(min(calls[agent["id"]], default=None)),
                moment(max(calls[agent["id"]], default=None)),
            )
            for agent in self.api.agents
        }

    def turns(self) -> dict[tuple[str, int], tuple[str, str, int]]:
        return {
            (call["id"], index): (turn["role"], turn["content"], len(turn["content"]))
            for call in self.calls
            for index, turn in enumerate(transcript(self.api, call))
        }


def check_marts(
    api: FakeContactship,
    query: Query,
    schema: str = "contactship",
    transcripts: bool = False,
) -> None:
    """Every mart's rows for one raw schema equal what the API's rows say."""
    expected = Expected(api)

    def rows(sql: str) -> Rows:
        return query(sql.format(where=f"where source_relation = '{schema}'"))

    daily = {
        (row[0], day(row[2])): (
            text(row[1]),
            int(row[3]),
            int(row[4]),
            number(row[5]),
            number(row[6]),
        )
        for row in rows(
            "select agent_id, agent_name, call_day, calls, completed_calls, "
            "completion_rate, total_duration_seconds "
            "from analytics.agent_daily_performance {where}"
        )
    }
    assert daily.keys() == expected.daily().keys()
    for key, (name, calls, done, rate, total) in expected.daily().items():
        got = daily[key]
        assert got[:3] == (name, calls, done), key
        assert got[3] == pytest.approx(rate)
        assert got[4] == pytest.approx(total)

    campaigns = {
        (row[0], day(row[1])): (
            int(row[2]),
            int(row[3]),
            number(row[4]),
            int(row[5]),
            int(row[6]),
        )
        for row in rows(
            "select campaign_id, call_day, calls, completed_calls, "
            "total_duration_seconds, contacts_called, agents "
            "from analytics.campaign_performance {where}"
        )
    }
    assert campaigns == expected.campaigns()
    assert campaigns, "the fake's calls must include campaigns"

    outcomes = {
        (row[0], day(row[1]), *map(text, row[2:6])): (int(row[6]), number(row[7]))
        for row in rows(
            "select agent_id, call_day, call_status, call_result, "
            "disconnection_reason, analysis_sentiment, calls, total_duration_seconds "
            "from analytics.call_outcomes {where}"
        )
    }
    assert outcomes == expected.outcomes()

    outreach = {
        row[0]: (int(row[1]), text(row[2]), flag(row[3]))
        for row in rows(
            "select contact_id, attempts, last_call_status, never_called "
            "from analytics.contact_outreach {where}"
        )
    }
    assert outreach == expected.outreach()
    assert any(never for _, _, never in outreach.values()), "some never called"

    usage = {
        row[0]: (int(row[1]), int(row[2]), moment(row[3]))
        for row in rows(
            "select phone_number, outbound_calls, completed_outbound_calls, "
            "last_used_at from analytics.phone_number_usage {where}"
        )
    }
    assert usage == expected.usage()
    assert rows(
        "select count(*) from analytics.phone_number_usage {where}"
        " and calls <> outbound_calls"
    ) in ([[0]], [["0"]])

    agents = {
        row[0]: (text(row[1]), int(row[2]), int(row[3]), moment(row[4]), moment(row[5]))
        for row in rows(
            "select agent_id, agent_name, prompt_chars, calls, first_call_at, "
            "last_call_at from analytics.dim_agents {where}"
        )
    }
    assert agents == expected.agents()

    turns = {
        (row[0], int(row[1])): (row[2], row[3], int(row[4]))
        for row in rows(
            "select call_id, turn_index, role, content, content_chars "
            "from analytics.call_transcript_turns {where}"
        )
    }
    assert turns == (expected.turns() if transcripts else {})

    facts = rows(
        "select count(*), count(distinct call_id), "
        "sum(case when is_completed then 1 else 0 end) from analytics.fct_calls {where}"
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


def add_calls(api: FakeContactship, count: int) -> None:
    """New calls, ten minutes apart after the newest."""
    with api.lock:
        start = len(api.calls)
        api.calls.extend(make_call(n) for n in range(start, start + count))


def between_runs(api: FakeContactship, run: int) -> None:
    """What changes in the organization before run 2 and before run 3."""
    change_recent_statuses(api)
    add_calls(api, 25)
    if run < 3:
        return
    for call in api.calls[-60:-30]:
        call["call_analysis"]["sentiment"] = "negative"
        call["disconnection_reason"] = "voicemail_reached"
    api.agents[1]["name"] = "agent-1 (renamed)"
    api.agents[1]["updated_at"] = "2026-02-01T00:00:00Z"
    # The first calling number: its outbound calls stay in fct_calls.
    api.release_phone_number(0)


def snapshot(query: Query) -> dict[str, list[tuple[str, ...]]]:
    """Every mart's rows, as sorted text, for comparing two builds."""

    def cell(value: Any) -> str:
        if isinstance(value, float) or (isinstance(value, str) and "." in value):
            try:
                return f"{float(value):.6f}"
            except ValueError:
                pass
        return "" if value is None else str(value)

    return {
        mart: sorted(
            tuple(cell(value) for value in row)
            for row in query(f"select * from analytics.{mart}")
        )
        for mart in MARTS
    }


def three_runs_then_full_refresh(
    meltano: Meltano,
    org: FakeContactship,
    query: Query,
    tasks: list[str],
    env: dict[str, str],
) -> None:
    """Three runs with changes between them, every mart checked after each;
    then the incremental marts equal a `--full-refresh` build."""
    for run in (1, 2, 3):
        if run > 1:
            between_runs(org, run)
        meltano.run(*tasks, **env)
        check_marts(org, query, transcripts=True)

    incremental = snapshot(query)
    dbt = tasks[-1].split(":")[0]
    rebuilt = meltano("invoke", dbt, "build", "--full-refresh", **env)
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    assert snapshot(query) == incremental


def duckdb_execute(path: Any, sql: str) -> None:
    script = "import duckdb, sys\nduckdb.connect(sys.argv[1]).execute(sys.argv[2])\n"
    subprocess.run([str(DUCKDB_PYTHON), "-c", script, str(path), sql], check=True)


def test_duckdb_marts_match_the_api_and_a_full_refresh(meltano: Meltano, org):
    warehouse = meltano.workdir / "warehouse.duckdb"

    def query(sql: str) -> Rows:
        return duckdb_rows(warehouse, sql)

    tasks = ["tap-contactship", "target-duckdb", "dbt-duckdb:build"]
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS": "true",
    }
    # target-duckdb ignores ACTIVATE_VERSION; the released number leaves anyway.
    three_runs_then_full_refresh(meltano, org, query, tasks, env)

    # The documentation's example questions run as written.
    for statement in queries():
        duckdb_rows(warehouse, statement)

    # Phone numbers last loaded three days ago: the build warns, and
    # `dbt source freshness` errors past the error threshold.
    stale = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=3)
    duckdb_execute(
        warehouse,
        f"update contactship.phone_numbers set _sdc_batched_at = '{stale:%Y-%m-%d %H:%M:%S}'",
    )
    built = meltano("invoke", "dbt-duckdb:build", **env)
    assert built.returncode == 0, built.stdout[-3000:]
    assert "WARN 1 raw_tables_are_fresh" in built.stdout, built.stdout[-3000:]
    fresh = meltano("invoke", "dbt-duckdb:freshness", **env)
    assert fresh.returncode != 0
    assert "ERROR STALE freshness of contactship.phone_numbers" in fresh.stdout
    assert "PASS freshness of contactship.calls" in fresh.stdout
    warned = meltano(
        "invoke",
        "dbt-duckdb",
        "source",
        "freshness",
        "--vars",
        json.dumps({"contactship_freshness_error_hours": 100}),
        **env,
    )
    assert warned.returncode == 0, warned.stdout[-3000:]
    assert "WARN freshness of contactship.phone_numbers" in warned.stdout

    # The catalog describes every column of every model.
    target = meltano.workdir / "dbt-target"
    docs = meltano(
        "invoke", "dbt-duckdb:docs-generate", DBT_DUCKDB_TARGET_PATH=str(target)
    )
    assert docs.returncode == 0, docs.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    models = [key for key in manifest if key.startswith("model.")]
    assert {key.split(".")[-1] for key in models} >= set(MARTS)
    for key in models:
        described = {
            name.lower()
            for name, column in manifest[key]["columns"].items()
            if column["description"]
        }
        columns = {name.lower() for name in catalog[key]["columns"]}
        assert columns <= described, (key, columns - described)
        assert manifest[key]["description"], key


@pytest.mark.postgres
def test_postgres_marts_match_the_api_and_a_full_refresh(
    meltano: Meltano, org, postgres
):
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS": "true",
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        # One variable for the tap's look-back and the marts' window.
        "TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS": "1",
        "TARGET_POSTGRES_HOST": postgres["host"],
        "TARGET_POSTGRES_PORT": postgres["port"],
        "TARGET_POSTGRES_USER": postgres["user"],
        "TARGET_POSTGRES_PASSWORD": "unused",
        "TARGET_POSTGRES_DATABASE": postgres["database"],
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "contactship",
    }
    psql(postgres, "drop schema if exists analytics cascade")
    psql(postgres, "drop schema if exists staging cascade")
    psql(postgres, "drop schema if exists contactship cascade")

    def query(sql: str) -> Rows:
        # psql -At prints NULL as an empty string.
        return [
            [value if value != "" else None for value in row]
            for row in psql(postgres, sql)
        ]

    tasks = ["tap-contactship", "target-postgres", "dbt-postgres:build"]
    three_runs_then_full_refresh(meltano, org, query, tasks, env)


@pytest.fixture
def two_orgs() -> Iterator[tuple[FakeContactship, FakeContactship]]:
    with (
        FakeContactship(api_key="acme-key-1111", phone_numbers=12) as acme,
        FakeContactship(api_key="globex-key-2222", phone_numbers=20) as globex,
    ):
        acme.seed(calls=120, agents=3, contacts=60)
        globex.seed(calls=300, agents=3, contacts=70)
        # Same ids in both organizations (the fake derives them from
        # positions): only source_relation tells them apart.
        globex.agents[0]["name"] = "globex-agent-0"
        yield acme, globex


def test_every_organization_in_one_build(installed_meltano: str, two_orgs, tmp_path):
    """Two organizations loaded into their own schemas, built once with
    `contactship_schemas`: each one's marts equal its own API's rows."""
    acme, globex = two_orgs
    meltano, env = agency(installed_meltano, tmp_path, {"acme": acme, "globex": globex})
    env["CONTACTSHIP_SCHEMAS"] = "contactship_acme, contactship_globex"
    warehouse = meltano.workdir / "warehouse.duckdb"

    def query(sql: str) -> Rows:
        return duckdb_rows(warehouse, sql)

    meltano.run("tap-contactship--acme", "target-duckdb", **env)
    meltano.run("tap-contactship--globex", "target-duckdb", "dbt-duckdb:build", **env)
    for schema, api in (("contactship_acme", acme), ("contactship_globex", globex)):
        check_marts(api, query, schema=schema)

    # The next hour: both change (a number released in each), both load, one
    # build updates both.
    for api in (acme, globex):
        between_runs(api, 3)
    meltano.run("tap-contactship--acme", "target-duckdb", **env)
    meltano.run("tap-contactship--globex", "target-duckdb", "dbt-duckdb:build", **env)
    for schema, api in (("contactship_acme", acme), ("contactship_globex", globex)):
        check_marts(api, query, schema=schema)
    schemas = query("select distinct source_relation from analytics.fct_calls")
    assert sorted(schemas) == [["contactship_acme"], ["contactship_globex"]]


SECOND = "contactship_second"


def a_day_alone(api: FakeContactship) -> dict[str, Any]:
    """The newest call, moved to just after the next midnight: the only call
    of its day (every daily mart has a group for that day alone)."""
    call = api.calls[-1]
    moved = instant(call["created_at"]).replace(hour=0, minute=7) + timedelta(days=1)
    call["created_at"] = call["start_at"] = iso(moved)
    api.touch()
    return call


def empty_groups(api: FakeContactship, alone: dict[str, Any]) -> None:
    """Changes inside the look-back that empty groups: the call alone on its
    day moves back across midnight (its day must leave every daily mart), one
    transcript gets shorter and one loses every turn."""
    moved = instant(alone["created_at"]) - timedelta(hours=1)
    alone["created_at"] = alone["start_at"] = iso(moved)
    api.transcript_turns_of[api.calls[-5]["id"]] = 1
    api.transcript_turns_of[api.calls[-6]["id"]] = 0
    api.touch()


def delete_one_of_each(api: FakeContactship) -> dict[str, Any]:
    """A released number (one calls are placed from), the agent without calls
    and a contact deleted in the dashboard."""
    return {
        "number": api.release_phone_number(0),
        "agent": api.agents.pop(),
        "contact": api.contacts.pop(),
    }


def copy_raw_schema(run: Callable[[list[str]], Any], tables: list[str]) -> None:
    """A second organization's raw schema: a copy of the first as loaded now."""
    run(
        [f"create schema if not exists {SECOND}"]
        + [
            f"create table {SECOND}.{table} as select * from contactship.{table}"
            for table in tables
        ]
    )


RAW_TABLES = ["calls", "agents", "contacts", "phone_numbers", "whole_reads"]
BIGQUERY_LEFTOVERS = " union all ".join(
    f"select table_schema, table_name from {dataset}.INFORMATION_SCHEMA.TABLES"
    " where lower(table_name) like '%dbt_backup' or lower(table_name) like '%dbt_tmp'"
    for dataset in ("analytics", "staging")
)


def test_bigquery_marts_match_the_api_after_two_runs(
    meltano: Meltano, org, bigquery_emulator, tmp_path
):
    """The whole job through Meltano into bqemulator: the loader and dbt-bigquery
    Meltano installed, only the Google endpoints local (tests/warehouses/).
    The second run brings a deletion of each kind, groups a change emptied
    and a second organization; then that organization leaves the list, and a
    `--full-refresh` build equals the incremental one."""
    rest_url, token_uri = bigquery_emulator
    warehouse = BigQuery(rest_url, token_uri)
    query_all = one_at_a_time(warehouse.rows)
    key = tmp_path / "service-account.json"
    key.write_text(warehouse.config["credentials_json"])
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        "TARGET_BIGQUERY_PROJECT": BigQuery.PROJECT,
        "TARGET_BIGQUERY_CREDENTIALS_PATH": str(key),
        "BIGQUERY_EMULATOR_HOST": rest_url,
    }
    # `run`, not `build`: each of the package's 59 data tests is a query, 10 s
    # on a busy emulator; the oracle below checks more than they do.
    tasks = ["tap-contactship", "target-bigquery", "dbt-bigquery:run"]

    def check(loaded: dict[str, Loaded], listed: list[str]) -> None:
        check_warehouse(
            query_all, loaded, listed, leftovers=BIGQUERY_LEFTOVERS, text="string"
        )

    alone = a_day_alone(org)
    # Without transcripts: on bqemulator, call_transcript_turns gets null
    # turns from z3's REPEATED JSON (not yet known whether BigQuery does too).
    meltano.run(*tasks, **env)
    check_marts(org, warehouse.rows)
    copy_raw_schema(query_all, RAW_TABLES)
    loaded = {SECOND: Loaded.everything(org, transcripts=False)}

    # z3 ignores ACTIVATE_VERSION: the raw rows stay, the staging models drop
    # the released number, the deleted agent and contact.
    deleted = delete_one_of_each(org)
    empty_groups(org, alone)
    change_recent_statuses(org)
    add_calls(org, 10)
    meltano.run(*tasks, **env, CONTACTSHIP_SCHEMAS=f"contactship,{SECOND}")
    loaded["contactship"] = Loaded.everything(org, transcripts=False)
    check(loaded, ["contactship", SECOND])
    raw = warehouse.rows(
        "select count(*) from contactship.phone_numbers"
        f" where id = '{deleted['number']['id']}'"
    )
    assert int(raw[0][0]) >= 1
    numbers = warehouse.rows(
        "select phone_number from staging.stg_contactship__phone_numbers"
        " where source_relation = 'contactship'"
    )

    def dbt(*args: str) -> None:
        built = meltano("invoke", "dbt-bigquery", *args, **env)
        assert built.returncode == 0, built.stdout[-3000:]
        check(loaded, ["contactship"])

    dbt("run")
    incremental = snapshot(warehouse.rows)
    dbt("run", "--full-refresh")
    assert snapshot(warehouse.rows) == incremental

    # A run that dies midway: z3 still merges the rows that arrived, with a
    # newer version than the others, but no whole read of the list was
    # recorded, so the staging view still holds the whole list.
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
    dbt-snowflake at the versions `meltano.yml` pins (tests/warehouses/).
    The second run brings a deletion of each kind, groups a change emptied
    and a second organization; then that organization leaves the list, and a
    `--full-refresh` build equals the incremental one."""
    warehouse = Snowflake(tmp_path)
    extract = Extract(org, tmp_path)

    def dbt(*args: str, schemas: tuple[str, ...] = ("contactship",)) -> None:
        listed = json.dumps({"contactship_schemas": list(schemas)})
        built = warehouse.dbt(*args, "--vars", listed)
        assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]

    alone = a_day_alone(org)
    extract_and_load(extract, warehouse)
    dbt("build")
    check_marts(org, warehouse.rows, transcripts=True)
    copy_raw_schema(warehouse.rows_each, RAW_TABLES)
    loaded = {SECOND: Loaded.everything(org)}

    # ACTIVATE_VERSION soft-deletes the released number, the deleted agent
    # and contact in the raw tables; staging drops them.
    deleted = delete_one_of_each(org)
    empty_groups(org, alone)
    change_recent_statuses(org)
    add_calls(org, 10)
    extract_and_load(extract, warehouse)
    # `run`, not `build`: the package's data tests ran once above.
    dbt("run", schemas=("contactship", SECOND))
    loaded["contactship"] = Loaded.everything(org)
    check_warehouse(warehouse.rows_each, loaded, ["contactship", SECOND])
    raw = warehouse.rows(
        "select count(*) from contactship.phone_numbers"
        f" where id = '{deleted['number']['id']}' and _sdc_deleted_at is not null"
    )
    assert raw == [[1]]

    dbt("run")
    check_warehouse(warehouse.rows_each, loaded, ["contactship"])
    incremental = snapshot(warehouse.rows)
    dbt("run", "--full-refresh")
    check_warehouse(warehouse.rows_each, loaded, ["contactship"])
    assert snapshot(warehouse.rows) == incremental


@pytest.mark.parametrize("warehouse", ["snowflake", "bigquery"])
def test_the_package_parses_for_the_cloud_warehouses(meltano: Meltano, warehouse):
    result = meltano("invoke", f"dbt-{warehouse}:parse")

    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


@pytest.mark.parametrize(
    "warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_dbt_step_benchmark_runs(installed_meltano: str, warehouse: str):
    """`benchmarks/dbt_step.py` at a tiny size: it works; timings are not asserted."""
    if warehouse == "postgres" and postgres_bindir() is None:
        unavailable("PostgreSQL is not installed (bash .ci/run installs it)")
    lines = run_benchmark(
        "benchmarks/dbt_step.py",
        *("--calls", "1500", "--rounds", "1", "--warehouse", warehouse),
    )

    rows = table_rows(lines)
    # The totals (a header, 8 timings, 4 ratios), then one row per model.
    assert len(rows) == 1 + 8 + 4 + 1 + 12, "\n".join(lines)
