"""`benchmarks/orchestrate.py --clients N`: the code location with N clients.

See that script's docstring. Every figure is printed, none asserted except
the rows and the failures (a check that fails exits 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.conftest import free_port
from tests.e2e.conftest import local_postgres, psql
from tests.fake_contactship import Chaos, FakeContactship, chaos

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = ROOT / ".venv-dagster/bin"
LOCATION = ["-m", "contactship_orchestrate.definitions"]
BAD, FLAKY = 5, 5
#: The project's queue limits, with Dagster's storage in PostgreSQL.
STORAGE = """
storage:
  postgres:
    postgres_db: {{hostname: "{host}", port: {port}, username: "{user}", db_name: dagster}}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
"""
PARTITIONS_QUERY = """
{ assetNodeOrError(assetKey: {path: ["contactship_raw", "calls"]}) {
    ... on AssetNode { partitionKeys
      assetPartitionStatuses { ... on DefaultPartitionStatuses {
        materializedPartitions failedPartitions materializingPartitions } } } } }
"""


def at_scale(clients: int, calls: int, bindir: Path) -> int:
    """Run N clients through the queue; print figures; 1 if a check failed."""
    names = [f"org{n:03d}" for n in range(1, clients + 1)]
    bad, flaky = set(names[-BAD:]), set(names[-BAD - FLAKY : -BAD])
    problems: list[str] = []
    figures: dict[str, str] = {}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(local_postgres(bindir))
        for database in ("meltano", "dagster", "warehouse"):
            psql(server, f"create database {database}")
        apis: dict[str, FakeContactship] = {}
        for n, name in enumerate(names):
            api = stack.enter_context(FakeContactship(api_key=f"{name}-key"))
            api.seed_phone_numbers(10 + n % 7)
            api.seed(calls=calls + n % 11, agents=2, contacts=5 + n % 3)
            if name in flaky:
                api.hooks.append(
                    chaos(Chaos(rate=0.2, seed=n, faults=("500", "reset", "429")))
                )
            apis[name] = api
        env = environment(work, server, apis, bad)
        # The code location parses the dbt project on import when its manifest
        # is missing: once here, not in the daemon and the CLI at once.
        dagster(env, work, "definitions", "validate", *LOCATION)
        daemon = subprocess.Popen(
            [str(DAGSTER / "dagster-daemon"), "run", *LOCATION],
            env=env,
            cwd=work,
            stdout=(work / "daemon.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, daemon)
        started = time.perf_counter()
        backfill = ["job", "backfill", *LOCATION, "-j", "load_client", "--noprompt"]
        dagster(env, work, *backfill, "--partitions", ",".join(names))
        peak = wait_for_runs(server, clients)
        figures["wall time, every client through the queue"] = (
            f"{time.perf_counter() - started:.0f} s"
        )
        figures["most runs at once (queue limit 4)"] = str(peak)
        problems += check_runs(server, names, bad)
        problems += check_rows(server, apis, bad)
        started = time.perf_counter()
        dagster(env, work, "job", "execute", *LOCATION, "-j", "transform")
        figures[f"dbt build over {clients - BAD} schemas"] = (
            f"{time.perf_counter() - started:.0f} s"
        )
        figures[f"partitions query, {clients} partitions"] = partitions_page(
            env, work, clients, problems
        )
    print(f"\n| {clients} clients, {calls}+ calls each | |")
    print("|---|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value} |")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    return 1 if problems else 0


def write_organizations(work: Path, apis: dict[str, FakeContactship]) -> Path:
    """The code location's organizations file: one fake API a client."""
    organizations = work / "organizations.yml"
    organizations.write_text(
        json.dumps(
            {
                "organizations": [
                    {
                        "name": name,
                        "schema": f"contactship_{name}",
                        "key_env": f"KEY_{name.upper()}",
                        "api_url": api.url,
                    }
                    for name, api in apis.items()
                ]
            }
        )
    )
    return organizations


def environment(
    work: Path,
    server: dict[str, str],
    apis: dict[str, FakeContactship],
    bad: set[str],
) -> dict[str, str]:
    """Dagster's home, the organizations file and every variable a run reads."""
    home = work / "home"
    home.mkdir()
    own = (ROOT / "orchestrate/home/dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(own + STORAGE.format(**server))
    organizations = write_organizations(work, apis)
    keys = {
        f"KEY_{name.upper()}": f"{name}-{'wrong' if name in bad else 'key'}"
        for name in apis
    }
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "DAGSTER_"))
        },
        **keys,
        "DAGSTER_HOME": str(home),
        "CONTACTSHIP_ORGANIZATIONS": str(organizations),
        "CONTACTSHIP_DBT_TARGET_PATH": str(work / "dbt"),
        "CONTACTSHIP_RETRIES": "1",
        "CONTACTSHIP_RETRY_DELAY": "1",
        "MELTANO_DATABASE_URI": (
            f"postgresql+psycopg://{server['user']}@{server['host']}:"
            f"{server['port']}/meltano"
        ),
        **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in server.items()},
        "TARGET_POSTGRES_DATABASE": "warehouse",
        "TARGET_POSTGRES_PASSWORD": "unused",
    }


def dagster(env: dict[str, str], work: Path, *args: str) -> None:
    """A `dagster` command; its output if it fails."""
    done = subprocess.run(
        [str(DAGSTER / "dagster"), *args],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"dagster {args[0]} {args[1]} failed:\n{done.stderr[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for_runs(server: dict[str, str], count: int) -> int:
    """Wait until `count` client runs finished; the most running at once."""
    dagster_db = {**server, "database": "dagster"}
    peak, deadline = 0, time.monotonic() + 4 * 3600
    while time.monotonic() < deadline:
        statuses = [row[0] for row in psql(dagster_db, "select status from runs")]
        peak = max(peak, statuses.count("STARTED"))
        done = [s for s in statuses if s in {"SUCCESS", "FAILURE", "CANCELED"}]
        if len(done) >= count:
            return peak
        time.sleep(1)
    sys.exit("the runs did not finish in 4 hours")


def check_runs(server: dict[str, str], names: list[str], bad: set[str]) -> list[str]:
    """Each bad client failed with the tap's line, every other run succeeded."""
    dagster_db = {**server, "database": "dagster"}
    rows = psql(
        dagster_db,
        "select r.status, t.value, r.run_id from runs r join run_tags t "
        "on t.run_id = r.run_id and t.key = 'dagster/partition'",
    )
    status = {partition: (state, run_id) for state, partition, run_id in rows}
    problems = []
    for name in names:
        state, run_id = status.get(name, ("never ran", ""))
        expected = "FAILURE" if name in bad else "SUCCESS"
        if state != expected:
            problems.append(f"{name}: {state}, not {expected}")
        if name in bad and run_id:
            failures = psql(
                dagster_db,
                "select event from event_logs where run_id = "  # noqa: S608
                f"'{run_id}' and dagster_event_type = 'STEP_FAILURE'",
            )
            text = " ".join(row[0] for row in failures)
            if "rejected the API key" not in text:
                problems.append(f"{name}: failed without the tap's line")
    return problems


def check_rows(
    server: dict[str, str], apis: dict[str, FakeContactship], bad: set[str]
) -> list[str]:
    """Every good client's four tables hold exactly its API's rows."""
    warehouse = {**server, "database": "warehouse"}
    problems = []
    for name, api in apis.items():
        if name in bad:
            continue
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            query = f"select count(distinct id) from contactship_{name}.{table}"  # noqa: S608
            got = int(psql(warehouse, query)[0][0])
            if got != len(getattr(api, table)):
                problems.append(
                    f"{name}.{table}: {got} rows, not {len(getattr(api, table))}"
                )
    return problems


def partitions_page(
    env: dict[str, str], work: Path, clients: int, problems: list[str]
) -> str:
    """The web server's answer to the asset page's partitions query, timed."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(DAGSTER / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            *LOCATION,
        ],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    problems.append("the web server did not start in 5 minutes")
                    return "no answer"
                time.sleep(0.5)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            data = graphql(url, PARTITIONS_QUERY)
            timings.append(time.perf_counter() - started)
        node = data["assetNodeOrError"]
        statuses = node["assetPartitionStatuses"]
        if len(node["partitionKeys"]) != clients:
            problems.append(f"the UI lists {len(node['partitionKeys'])} partitions")
        if len(statuses["materializedPartitions"]) != clients - BAD:
            problems.append(
                f"the UI shows {len(statuses['materializedPartitions'])} materialized"
            )
        return f"{timings[0]:.2f} s first, {min(timings):.2f} s after"
    finally:
        stop(server)


def graphql(url: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (http on loopback)
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        data: dict[str, Any] = json.load(response)["data"]
    return data
