"""The code location with Dagster's Celery executor: two workers, one killed.

Starts Debian's `redis-server` on loopback (broker and result backend), two
`dagster-celery` workers, Dagster's storage and Meltano's state on
PostgreSQL; materializes four clients' partitions at once with
`CONTACTSHIP_EXECUTOR=celery`, then kills (SIGKILL, its whole process group,
as a machine that dies) the worker running a slow client's load. Costs about
two minutes of one core, most of it waiting for the lost task to come back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ROOT, psql, unavailable
from tests.fake_contactship import FakeContactship

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DAGSTER = ROOT / ".venv-dagster/bin"
CLIENTS = ("cel_acme", "cel_globex", "cel_initech", "cel_umbrella")
SLOW = "cel_slow"
LOCATION = ["-m", "contactship_orchestrate.definitions"]
#: As the executor's own (`executors.py`): a lost task goes back to the queue.
WORKER_CONFIG = """
execution:
  config:
    broker: {broker}
    backend: {broker}
    config_source:
      task_acks_late: true
      task_reject_on_worker_lost: true
      worker_prefetch_multiplier: 1
      broker_transport_options: {{visibility_timeout: 60}}
"""


@pytest.fixture(scope="module")
def celery(postgres, tmp_path_factory) -> Iterator[dict[str, Any]]:
    if not (DAGSTER / "dagster-celery").exists():
        unavailable("dagster-celery is not installed (bash .ci/run installs it)")
    redis = shutil.which("redis-server")
    if redis is None:
        unavailable("redis-server is not installed (bash .ci/run installs it)")
    assert redis is not None
    work = tmp_path_factory.mktemp("celery")
    for database in ("celery_dagster", "celery_meltano", "celery_warehouse"):
        psql(postgres, f"drop database if exists {database}")
        psql(postgres, f"create database {database}")
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *command: str) -> subprocess.Popen[bytes]:
        with (work / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=work,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append(process)
        return process

    with (
        FakeContactship(api_key="k-acme", phone_numbers=12) as acme,
        FakeContactship(api_key="k-globex", phone_numbers=7) as globex,
        FakeContactship(api_key="k-initech", phone_numbers=9) as initech,
        FakeContactship(api_key="k-umbrella", phone_numbers=5) as umbrella,
        # Slow enough to be killed in the middle of its load.
        FakeContactship(api_key="k-slow", phone_numbers=30, latency=0.4) as slow,
    ):
        apis = dict(
            zip((*CLIENTS, SLOW), (acme, globex, initech, umbrella, slow), strict=True)
        )
        for n, api in enumerate(apis.values()):
            api.seed(calls=20 + 7 * n, agents=2, contacts=4 + n)
        slow.seed(calls=400, agents=2, contacts=5)
        (work / "organizations.yml").write_text(
            json.dumps(
                {
                    "organizations": [
                        {
                            "name": name,
                            "schema": name,
                            "key_env": f"KEY_{name.upper()}",
                            "api_url": api.url,
                        }
                        for name, api in apis.items()
                    ]
                }
            )
        )
        home = work / "home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            "storage:\n  postgres:\n    postgres_db: "
            f'{{hostname: "{postgres["host"]}", port: {postgres["port"]}, '
            f'username: "{postgres["user"]}", db_name: celery_dagster}}\n'
            "telemetry:\n  enabled: false\n"
        )
        (work / "worker.yaml").write_text(WORKER_CONFIG.format(broker=broker))
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "DAGSTER_"))
            },
            **{f"KEY_{name.upper()}": api.api_key for name, api in apis.items()},
            # `dagster-celery worker start` runs `celery` from PATH.
            "PATH": f"{DAGSTER}{os.pathsep}{os.environ.get('PATH', '')}",
            "DAGSTER_HOME": str(home),
            "CONTACTSHIP_ORGANIZATIONS": str(work / "organizations.yml"),
            "CONTACTSHIP_DBT_TARGET_PATH": str(work / "dbt"),
            # Meltano creates its tables in a fresh system database on first
            # use: two clients' first runs at once collide there
            # (`UniqueViolation ... pg_type_typname_nsp_index`), and the retry
            # policy is what gets past it.
            "CONTACTSHIP_RETRIES": "2",
            "CONTACTSHIP_RETRY_DELAY": "1",
            "CONTACTSHIP_EXECUTOR": "celery",
            "CONTACTSHIP_CELERY_BROKER": broker,
            "MELTANO_DATABASE_URI": (
                f"postgresql+psycopg://{postgres['user']}@{postgres['host']}:"
                f"{postgres['port']}/celery_meltano"
            ),
            **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in postgres.items()},
            "TARGET_POSTGRES_DATABASE": "celery_warehouse",
            "TARGET_POSTGRES_PASSWORD": "unused",
        }
        # The code location parses the dbt project on import when its manifest
        # is missing: once here, not in every worker and run at once.
        subprocess.run(
            [str(DAGSTER / "dagster"), "definitions", "validate", *LOCATION],
            env=env,
            cwd=work,
            capture_output=True,
            timeout=900,
            check=True,
        )
        try:
            start("redis", redis, *("--port", str(port), "--bind", "127.0.0.1"))
            worker = [str(DAGSTER / "dagster-celery"), "worker", "start"]
            workers = {
                name: start(
                    name,
                    *worker,
                    *("-A", "dagster_celery.app", "-y", str(work / "worker.yaml")),
                    *("-n", f"{name}@%h"),
                    *("--", "--concurrency=1"),
                )
                for name in ("w1", "w2")
            }
            yield {
                "env": env,
                "work": work,
                "apis": apis,
                "workers": workers,
                "postgres": postgres,
            }
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def execute(celery: dict[str, Any], client: str) -> subprocess.Popen[bytes]:
    """`dagster job execute` of one client's partition; its steps go to Celery."""
    with (celery["work"] / f"run-{client}.log").open("wb") as log:
        return subprocess.Popen(
            [
                *(str(DAGSTER / "dagster"), "job", "execute", *LOCATION),
                *(
                    "-j",
                    "load_client",
                    "--tags",
                    json.dumps({"dagster/partition": client}),
                ),
            ],
            env=celery["env"],
            cwd=celery["work"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def runs(postgres: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Per partition: its run's status and id."""
    rows = psql(
        {**postgres, "database": "celery_dagster"},
        "select t.value, r.status, r.run_id from runs r join run_tags t "
        "on t.run_id = r.run_id and t.key = 'dagster/partition'",
    )
    return {partition: (status, run_id) for partition, status, run_id in rows}


def workers_of(postgres: dict[str, str], run_id: str) -> list[str]:
    """The Celery workers that reported executing this run's steps."""
    rows = psql(
        {**postgres, "database": "celery_dagster"},
        f"select event from event_logs where run_id = '{run_id}' "
        "and event like '%in celery worker%'",
    )
    names = []
    for (event,) in rows:
        for name in ("w1@", "w2@"):
            if name in event:
                names.append(name[:2])
    return names


def loaded(postgres: dict[str, str], schema: str, table: str) -> int:
    query = f"select count(distinct id) from {schema}.{table}"
    return int(psql({**postgres, "database": "celery_warehouse"}, query)[0][0])


def test_runs_spread_over_both_workers_and_each_client_loads_exactly(celery):
    started = [execute(celery, client) for client in CLIENTS]
    try:
        for client, process in zip(CLIENTS, started, strict=True):
            log = celery["work"] / f"run-{client}.log"
            assert process.wait(timeout=900) == 0, log.read_text()[-3000:]
    finally:
        for process in started:
            process.kill()

    postgres = celery["postgres"]
    by_client = runs(postgres)
    used = set()
    for client in CLIENTS:
        status, run_id = by_client[client]
        assert status == "SUCCESS", client
        used.update(workers_of(postgres, run_id))
        api = celery["apis"][client]
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            assert loaded(postgres, client, table) == len(getattr(api, table))
    assert used == {"w1", "w2"}


def test_a_worker_killed_mid_load_never_leaves_a_half_loaded_client_done(celery):
    postgres = celery["postgres"]
    run = execute(celery, SLOW)
    deadline = time.monotonic() + 300
    victim: list[str] = []
    while not victim:
        assert time.monotonic() < deadline, "the slow client's step never started"
        run_id = runs(postgres).get(SLOW, ("", ""))[1]
        victim = workers_of(postgres, run_id) if run_id else []
        time.sleep(0.5)
    # The load is under way (its first requests reached the API), then the
    # worker's machine dies: the worker, its pool and Meltano under it.
    while not celery["apis"][SLOW].data_requests("/v1/calls"):
        assert time.monotonic() < deadline, "the slow client's load never started"
        time.sleep(0.2)
    os.killpg(celery["workers"][victim[0]].pid, signal.SIGKILL)

    run.wait(timeout=900)
    status, run_id = runs(postgres)[SLOW]
    assert status in {"SUCCESS", "FAILURE"}, status
    if status == "SUCCESS":
        # Done means loaded: the task came back and the other worker ran it.
        api = celery["apis"][SLOW]
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            assert loaded(postgres, SLOW, table) == len(getattr(api, table))
        assert workers_of(postgres, run_id)[-1] != victim[0]
