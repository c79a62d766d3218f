"""Deletions at the source reach staging and every mart, through `meltano run`.

A released number, a deleted agent and deleted contacts disappear from the
staging models and the marts after the next complete read of their list, on
the default job (target-duckdb ignores ACTIVATE_VERSION) and with
target-postgres in BATCH mode (where no ACTIVATE_VERSION is sent at all). A
run that fails deletes nothing, also when dbt runs after the failed load; a
contacts list the API cut never counts as complete. The raw tables keep the
deleted rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import batch_config
from tests.e2e.conftest import Meltano, duckdb_rows, psql
from tests.e2e.test_analytics import check_marts, duckdb_execute
from tests.e2e.test_production import fail_after_first_page, pg_env
from tests.fake_contactship import FakeContactship, make_contact

pytestmark = pytest.mark.e2e

Query = Callable[[str], list[list[Any]]]
YEAR_2100 = 4102444800  # a version no run has had yet
DEFAULT_JOB = ("tap-contactship", "target-duckdb", "dbt-duckdb:build")
STAGING = {
    "phone_numbers": ("stg_contactship__phone_numbers", "phone_number_id"),
    "agents": ("stg_contactship__agents", "agent_id"),
    "contacts": ("stg_contactship__contacts", "contact_id"),
}
#: The marts that list a stream's rows, and the id column they list them by.
MARTS = {
    "phone_numbers": ("phone_number_usage", "phone_number_id"),
    "agents": ("dim_agents", "agent_id"),
    "contacts": ("contact_outreach", "contact_id"),
}


@pytest.fixture
def org() -> Iterator[FakeContactship]:
    # Calls are made by the first three agents and the first 50 contacts.
    with FakeContactship(phone_numbers=30) as fake:
        fake.seed(calls=200, agents=4, contacts=80)
        yield fake


def delete_some(api: FakeContactship) -> dict[str, set[str]]:
    """A number released (one calls are placed from), the agent without calls
    deleted, a called and a never-called contact deleted; their ids."""
    with api.lock:
        return {
            "phone_numbers": {api.release_phone_number(0)["id"]},
            "agents": {api.agents.pop()["id"]},
            "contacts": {api.contacts.pop()["id"], api.contacts.pop(0)["id"]},
        }


def ids(query: Query, sql: str) -> set[str]:
    return {str(row[0]) for row in query(sql)}


def current(query: Query, stream: str) -> dict[str, set[str]]:
    """The stream's ids in its staging model and its mart."""
    model, column = STAGING[stream]
    mart, mart_column = MARTS[stream]
    return {
        "staging": ids(query, f"select {column} from staging.{model}"),
        "mart": ids(query, f"select {mart_column} from analytics.{mart}"),
    }


def raw_ids(query: Query, schema: str, stream: str) -> set[str]:
    return ids(query, f"select id from {schema}.{stream}")


def check_current(query: Query, api: FakeContactship, schema: str) -> None:
    """Staging and the listing marts hold exactly the API's rows, every mart
    equals what the API's rows say."""
    served = {
        "phone_numbers": api.phone_numbers,
        "agents": api.agents,
        "contacts": api.contacts,
    }
    for stream, rows in served.items():
        expected = {row["id"] for row in rows}
        assert current(query, stream) == {"staging": expected, "mart": expected}
    check_marts(api, query, schema=schema)


def own_database(postgres: dict[str, str], name: str) -> dict[str, str]:
    """A fresh database on the server: the marts' schemas are fixed names."""
    psql(postgres, f"drop database if exists {name}")
    psql(postgres, f"create database {name}")
    return {**postgres, "database": name}


def fail_midway(api: FakeContactship) -> None:
    """The next run dies after the first page of phone numbers (the last
    list the tap reads): agents and contacts were read whole before it."""
    api.hooks.append(fail_after_first_page)


def test_the_default_job_drops_deleted_rows_and_a_failed_run_deletes_nothing(
    meltano: Meltano, org: FakeContactship
):
    warehouse = meltano.workdir / "warehouse.duckdb"

    def query(sql: str) -> list[list[Any]]:
        return duckdb_rows(warehouse, sql)

    env = {"TAP_CONTACTSHIP_API_URL": org.url}
    meltano.run(*DEFAULT_JOB, **env)
    check_current(query, org, "contactship")

    deleted = delete_some(org)
    meltano.run(*DEFAULT_JOB, **env)
    check_current(query, org, "contactship")
    for stream, gone in deleted.items():
        # Soft delete: the raw table keeps the row, the models drop it.
        assert gone <= raw_ids(query, "contactship", stream), stream

    # Deleted again, then a run that dies midway, and dbt on its own after
    # it (as a scheduler may run it): nothing more is deleted anywhere.
    before = {stream: current(query, stream) for stream in STAGING}
    again = delete_some(org)
    fail_midway(org)
    failed = meltano("run", *DEFAULT_JOB, TAP_CONTACTSHIP_MAX_RETRIES="1", **env)
    assert failed.returncode != 0
    built = meltano("invoke", "dbt-duckdb:build", **env)
    assert built.returncode == 0, built.stdout[-3000:]
    assert {stream: current(query, stream) for stream in STAGING} == before
    for stream, gone in again.items():
        assert gone <= before[stream]["staging"], stream

    # The next complete run drops them.
    org.hooks.clear()
    meltano.run(*DEFAULT_JOB, **env)
    check_current(query, org, "contactship")

    # A loader that committed `whole_reads` but not the list's rows (a
    # parallel drain that failed halfway): that read is not trusted.
    duckdb_execute(
        warehouse,
        "insert into contactship.whole_reads (stream, version, finished_at, "
        f"row_count) values ('phone_numbers', {YEAR_2100}, now(), "
        f"{len(org.phone_numbers)})",
    )
    built = meltano("invoke", "dbt-duckdb:build", **env)
    assert built.returncode == 0, built.stdout[-3000:]
    check_current(query, org, "contactship")


@pytest.mark.postgres
def test_activate_version_with_hard_delete_still_deletes_in_postgres(
    meltano: Meltano, org: FakeContactship, postgres
):
    server = own_database(postgres, "contactship_hard_delete")
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        **pg_env(server, "contactship", TARGET_POSTGRES_HARD_DELETE="true"),
    }
    job = ("tap-contactship", "target-postgres", "dbt-postgres:build")

    def query(sql: str) -> list[list[Any]]:
        return [[v if v != "" else None for v in row] for row in psql(server, sql)]

    meltano.run(*job, **env)
    deleted = delete_some(org)
    meltano.run(*job, **env)

    check_current(query, org, "contactship")
    for stream, gone in deleted.items():
        assert not gone & raw_ids(query, "contactship", stream), stream


def test_a_cut_contacts_list_never_counts_as_complete(
    meltano: Meltano, org: FakeContactship
):
    warehouse = meltano.workdir / "warehouse.duckdb"

    def query(sql: str) -> list[list[Any]]:
        return duckdb_rows(warehouse, sql)

    org.contacts = [make_contact(n) for n in range(120)]
    env = {"TAP_CONTACTSHIP_API_URL": org.url}
    meltano.run(*DEFAULT_JOB, **env)
    everyone = {contact["id"] for contact in org.contacts}
    assert current(query, "contacts")["mart"] == everyone

    # The API stops paging contacts: it answers its first 100, and a
    # contact among them is deleted. Numbers still read whole.
    org.contacts_paging = False
    released = org.release_phone_number(3)["id"]
    deleted = org.contacts.pop(5)["id"]
    loaded = meltano.run(*DEFAULT_JOB, **env)

    assert "the list may be truncated" in loaded.stderr
    assert current(query, "contacts") == {"staging": everyone, "mart": everyone}
    assert deleted in current(query, "contacts")["mart"]
    assert released not in current(query, "phone_numbers")["mart"]
    reads = query(
        "select stream, count(*) from contactship.whole_reads group by stream"
    )
    assert sorted(reads) == [["agents", 2], ["contacts", 1], ["phone_numbers", 2]]


@pytest.mark.postgres
def test_batch_mode_into_postgres_drops_deleted_rows(
    meltano: Meltano, org: FakeContactship, postgres, tmp_path
):
    server = own_database(postgres, "contactship_batch_deletes")
    schema = "contactship"
    batches = tmp_path / "batches"
    env = {
        "TAP_CONTACTSHIP_API_URL": org.url,
        "TAP_CONTACTSHIP_BATCH_CONFIG": json.dumps(batch_config(batches, size=50)),
        **pg_env(server, schema),
    }
    job = ("tap-contactship", "target-postgres", "dbt-postgres:build")

    def query(sql: str) -> list[list[Any]]:
        return [[v if v != "" else None for v in row] for row in psql(server, sql)]

    meltano.run(*job, **env)
    assert len(list(batches.iterdir())) >= 4, "the lists went as batch files"
    check_current(query, org, schema)

    deleted = delete_some(org)
    meltano.run(*job, **env)
    check_current(query, org, schema)
    for stream, gone in deleted.items():
        assert gone <= raw_ids(query, schema, stream), stream

    before = {stream: current(query, stream) for stream in STAGING}
    delete_some(org)
    fail_midway(org)
    failed = meltano("run", *job, TAP_CONTACTSHIP_MAX_RETRIES="1", **env)
    assert failed.returncode != 0
    built = meltano("invoke", "dbt-postgres:build", **env)
    assert built.returncode == 0, built.stdout[-3000:]
    assert {stream: current(query, stream) for stream in STAGING} == before
