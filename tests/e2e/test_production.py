"""What production runs need: failed runs that delete nothing, several
organizations into one warehouse, and state shared by workers on any machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tap_contactship.tap import TapContactship
from tests.documentation import between_markers
from tests.e2e.conftest import (
    Meltano,
    agency,
    copy_of_the_project,
    duckdb_rows,
    psql,
)
from tests.fake_contactship import FakeContactship, Response

pytestmark = pytest.mark.e2e


def fail_after_first_page(fake: FakeContactship, seen) -> Response | None:
    """The second run of phone numbers dies after its first page."""
    if seen.path == "/v1/phone-numbers" and int(seen.params.get("offset", 0)) > 0:
        return Response(500, b"down")
    return None


def pg_env(postgres: dict[str, str], schema: str, **extra: str) -> dict[str, str]:
    return {
        "TARGET_POSTGRES_HOST": postgres["host"],
        "TARGET_POSTGRES_PORT": postgres["port"],
        "TARGET_POSTGRES_USER": postgres["user"],
        "TARGET_POSTGRES_PASSWORD": "unused",
        "TARGET_POSTGRES_DATABASE": postgres["database"],
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        **extra,
    }


@pytest.mark.postgres
@pytest.mark.parametrize("hard_delete", ["false", "true"])
def test_a_run_that_dies_midway_deletes_nothing_in_postgres(
    meltano: Meltano, api: FakeContactship, postgres, hard_delete
):
    schema = f"contactship_failed_{hard_delete}"
    env = {
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        "TAP_CONTACTSHIP_MAX_RETRIES": "1",
        **pg_env(postgres, schema, TARGET_POSTGRES_HARD_DELETE=hard_delete),
    }
    meltano.run("tap-contactship", "target-postgres", **env)
    query = f"select count(*), count(_sdc_deleted_at) from {schema}.phone_numbers"
    assert psql(postgres, query) == [["250", "0"]]

    api.hooks.append(fail_after_first_page)
    failed = meltano("run", "tap-contactship", "target-postgres", **env)

    assert failed.returncode != 0
    assert psql(postgres, query) == [["250", "0"]]
    # The streams that completed in the failed run did activate their version.
    assert psql(postgres, f"select count(*) from {schema}.contacts") == [["120"]]


def test_a_run_that_dies_midway_deletes_nothing_in_duckdb(
    meltano: Meltano, api: FakeContactship
):
    warehouse = meltano.workdir / "warehouse.duckdb"
    env = {
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true",
        "TAP_CONTACTSHIP_MAX_RETRIES": "1",
    }
    meltano.run("tap-contactship", "target-duckdb", **env)
    query = "select count(*), count(distinct id) from contactship.phone_numbers"
    assert duckdb_rows(warehouse, query) == [[250, 250]]

    api.hooks.append(fail_after_first_page)
    failed = meltano("run", "tap-contactship", "target-duckdb", **env)

    assert failed.returncode != 0
    assert duckdb_rows(warehouse, query) == [[250, 250]]


@pytest.fixture
def two_orgs() -> Iterator[tuple[FakeContactship, FakeContactship]]:
    with (
        FakeContactship(api_key="acme-key-1111", phone_numbers=30) as acme,
        FakeContactship(api_key="globex-key-2222", phone_numbers=70) as globex,
    ):
        acme.seed(calls=40, agents=2, contacts=10)
        globex.seed(calls=90, agents=3, contacts=20)
        yield acme, globex


def test_several_organizations_load_side_by_side(
    installed_meltano: str, two_orgs, tmp_path
):
    acme, globex = two_orgs
    meltano, env = agency(installed_meltano, tmp_path, {"acme": acme, "globex": globex})
    warehouse = meltano.workdir / "warehouse.duckdb"

    meltano.run("tap-contactship--acme", "target-duckdb", **env)
    meltano.run("tap-contactship--globex", "target-duckdb", **env)
    meltano.run("tap-contactship--acme", "target-duckdb", **env)

    for schema, org in (("contactship_acme", acme), ("contactship_globex", globex)):
        for table, rows in (("phone_numbers", org.phone_numbers), ("calls", org.calls)):
            got = duckdb_rows(
                warehouse, f"select count(*), count(distinct id) from {schema}.{table}"
            )
            assert got == [[len(rows), len(rows)]], (schema, table)
    states = meltano("state", "list").stdout
    assert "dev:tap-contactship--acme-to-target-duckdb" in states
    assert "dev:tap-contactship--globex-to-target-duckdb" in states


@pytest.mark.postgres
def test_two_workers_share_state_through_a_postgres_system_database(
    installed_meltano: str, api: FakeContactship, postgres, tmp_path
):
    psql(postgres, "drop database if exists meltano_system")
    psql(postgres, "create database meltano_system")
    uri = (
        f"postgresql+psycopg://{postgres['user']}@{postgres['host']}:"
        f"{postgres['port']}/meltano_system"
    )
    workers = [
        copy_of_the_project(tmp_path / name) for name in ("worker-a", "worker-b")
    ]
    asked = []
    for worker in workers:
        meltano = Meltano(installed_meltano, worker, project=worker)
        meltano.env.update(
            MELTANO_DATABASE_URI=uri,
            TAP_CONTACTSHIP_API_URL=api.url,
            TAP_CONTACTSHIP_CALLS_LOOKBACK_DAYS="1",
            TARGET_DUCKDB_FILEPATH=str(worker / "output/warehouse.duckdb"),
        )
        before = len(api.data_requests("/v1/calls"))
        result = meltano("run", "tap-contactship", "target-duckdb")
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        asked.append(api.data_requests("/v1/calls")[before])
    assert "date_from" not in asked[0].params  # the first worker reads everything
    assert "date_from" in asked[1].params  # the second starts from its bookmark
    assert duckdb_rows(
        workers[1] / "output/warehouse.duckdb", "select count(*) from contactship.calls"
    ) == [[145]]  # one day of look-back before the last call, ten minutes apart


def field_kind(schema: dict) -> str:
    """The README's name for a field's JSON schema."""
    types = schema.get("type", [])
    if schema.get("format") == "date-time":
        return "string, date-time"
    if "object" in types:
        return "object"
    if "array" in types:
        return "array of objects"
    return next(t for t in types if t != "null")


def readme_column_types() -> dict[str, dict[str, str]]:
    """The documented table (docs/loading-elsewhere.md): each field kind's
    type per warehouse (first word)."""
    table = between_markers("column-types")
    lines = [line.split("|")[1:-1] for line in table.strip().splitlines()]
    warehouses = [cell.split()[0] for cell in lines[0][2:]]
    return {
        cells[0].strip(): dict(
            zip(warehouses, (c.strip() for c in cells[2:]), strict=True)
        )
        for cells in lines[2:]
    }


def the_readme_types_hold(column_types: dict[tuple[str, str], str], warehouse: str):
    """Each field's column in `warehouse` ((table, column) -> type, as measured)
    has the type the README's table gives its kind."""
    discovered = TapContactship(config={"api_key": "unused-key"}).catalog_dict
    measured: dict[str, set[str]] = {}
    for entry in discovered["streams"]:
        for name, schema in entry["schema"]["properties"].items():
            kind = column_types[(entry["tap_stream_id"], name)]
            measured.setdefault(field_kind(schema), set()).add(kind)
    documented = {
        kind: {types[warehouse]} for kind, types in readme_column_types().items()
    }
    assert measured == documented


@pytest.mark.postgres
def test_the_readme_column_types_are_what_the_loaders_create(
    meltano: Meltano, api: FakeContactship, postgres
):
    api.seed(calls=5, agents=2, contacts=3)
    env = {
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS": "true",
    }
    meltano.run("tap-contactship", "target-duckdb", **env)
    meltano.run(
        "tap-contactship", "target-postgres", **env, **pg_env(postgres, "types")
    )
    duck = {
        (table, column): kind
        for table, column, kind in duckdb_rows(
            meltano.workdir / "warehouse.duckdb",
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'contactship'",
        )
    }
    pg = {
        (table, column): kind if kind != "ARRAY" else udt.removeprefix("_") + "[]"
        for table, column, kind, udt in psql(
            postgres,
            "select table_name, column_name, data_type, udt_name "
            "from information_schema.columns where table_schema = 'types'",
        )
    }
    the_readme_types_hold(duck, "DuckDB")
    the_readme_types_hold(pg, "PostgreSQL")
