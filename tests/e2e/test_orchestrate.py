"""The Dagster code location (`orchestrate/`): three clients, one with a bad key.

Dagster lives in its own venv (`.venv-dagster`, which `.ci/run` installs), so
its jobs run through `tests/orchestrate/run_clients.py` under that venv's
Python; the rows are read back here from PostgreSQL, where Meltano also
keeps its state (one system database every worker shares).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, psql, unavailable
from tests.fake_contactship import FakeContactship, make_call

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DAGSTER_PYTHON = ROOT / ".venv-dagster/bin/python"
GOOD = ("acme", "globex")
KEYS = {
    "acme": "acme-key-0001",
    "globex": "globex-key-0002",
    "initech": "initech-key-3",
}


def dagster_python() -> Path:
    if not DAGSTER_PYTHON.exists():
        unavailable("Dagster is not installed (bash .ci/run installs .venv-dagster)")
    return DAGSTER_PYTHON


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, FakeContactship]]:
    with (
        FakeContactship(api_key=KEYS["acme"], phone_numbers=40) as acme,
        FakeContactship(api_key=KEYS["globex"], phone_numbers=25) as globex,
        # Its key in the environment is not the one this API accepts.
        FakeContactship(api_key="initech-real-key") as initech,
    ):
        acme.seed(calls=120, agents=3, contacts=30)
        globex.seed(calls=75, agents=2, contacts=12)
        yield {"acme": acme, "globex": globex, "initech": initech}


@pytest.fixture(scope="module")
def dagster(clients, postgres, tmp_path_factory) -> Callable[..., dict[str, Any]]:
    """Run the code location's jobs against these clients; their results."""
    python = dagster_python()
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copy(ROOT / "orchestrate/home/dagster.yaml", home)
    organizations = home / "organizations.yml"
    organizations.write_text(
        json.dumps(
            {
                "organizations": [
                    {
                        "name": name,
                        "schema": f"contactship_{name}",
                        "key_env": f"TEST_KEY_{name.upper()}",
                        "api_url": api.url,
                    }
                    for name, api in clients.items()
                ]
            }
        )
    )
    psql(postgres, "drop database if exists dagster_meltano")
    psql(postgres, "create database dagster_meltano")
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "DBT_", "DAGSTER_"))
        },
        "DAGSTER_HOME": str(home),
        "CONTACTSHIP_ORGANIZATIONS": str(organizations),
        "CONTACTSHIP_DBT_TARGET_PATH": str(home / "dbt"),
        "CONTACTSHIP_RETRIES": "2",
        "CONTACTSHIP_RETRY_DELAY": "0.1",
        "MELTANO_DATABASE_URI": (
            f"postgresql+psycopg://{postgres['user']}@{postgres['host']}:"
            f"{postgres['port']}/dagster_meltano"
        ),
        **{f"TEST_KEY_{name.upper()}": key for name, key in KEYS.items()},
        **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in postgres.items()},
        "TARGET_POSTGRES_PASSWORD": "unused",
    }

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(python), str(ROOT / "tests/orchestrate/run_clients.py"), *args],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        results: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return results

    return run


def counts(postgres, schema: str, table: str) -> list[int]:
    query = f"select count(*), count(distinct id) from {schema}.{table}"
    return [int(n) for n in psql(postgres, query)[0]]


def check_loaded(postgres, clients) -> None:
    for name in GOOD:
        api = clients[name]
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            expected = len(getattr(api, table))
            assert counts(postgres, f"contactship_{name}", table) == [expected] * 2, (
                name,
                table,
            )


def check_results(results: dict[str, Any]) -> None:
    for name in GOOD:
        assert results[name]["success"], "\n".join(map(str, results[name]["log"]))
        assert results[name]["failures"] == []
        assert len(results[name]["materialized"]) == 4
    initech = results["initech"]
    assert not initech["success"]
    (failure,) = initech["failures"]
    # The tap's own line, and no retry: a rejected key stays rejected.
    assert failure.startswith(
        "initech: the Contactship API rejected the API key (401 Unauthorized); "
        "check `api_key`"
    ), failure
    assert initech["retries"] == 0
    for result in results.values():
        for key in KEYS.values():
            assert all(key not in text for text in result["log"] if text)


def test_each_client_loads_alone_then_incrementally_then_dbt_builds(
    dagster, clients, postgres
):
    first = dagster("inprocess", "acme", "globex", "initech")

    check_results(first)
    check_loaded(postgres, clients)
    # The loader may have created a table from the first SCHEMA message.
    for (table,) in psql(
        postgres,
        "select table_name from information_schema.tables "
        "where table_schema = 'contactship_initech'",
    ):
        assert counts(postgres, "contactship_initech", table) == [0, 0]

    for api in clients.values():
        api.calls.extend(make_call(len(api.calls) + n) for n in range(7))
    asked = {name: len(clients[name].data_requests("/v1/calls")) for name in GOOD}
    second = dagster("multiprocess", "acme", "globex", "initech")

    check_results(second)
    check_loaded(postgres, clients)
    for name in GOOD:
        # Incremental: from the bookmark Meltano kept in PostgreSQL.
        new = clients[name].data_requests("/v1/calls")[asked[name] :]
        assert new and all("date_from" in seen.params for seen in new), name

    built = dagster("transform")

    assert built["transform"]["success"], built["transform"]["failures"]
    per_client = psql(
        postgres,
        "select source_relation, count(*), count(distinct call_id) "
        "from analytics.fct_calls group by 1 order by 1",
    )
    assert per_client == [
        [f"contactship_{name}", *[str(len(clients[name].calls))] * 2] for name in GOOD
    ]
