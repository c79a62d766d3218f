"""Dagster's run queue at work: three clients at concurrency 1 versus 3.

Starts three fake Contactship APIs (200 ms per request), a throwaway
PostgreSQL server on 127.0.0.1 (Meltano's state and Dagster's run storage),
and Dagster's daemon on the project's code location; submits one `load_client`
run per client to the queue (`dagster job launch`, as the hourly schedule
does) and times until all three finished, with the queue's client limit at 1
and then at 3. Each run is a real `meltano run tap-contactship
target-postgres`. Prints wall times; timings are reported, never asserted.

    python benchmarks/orchestrate.py
    python benchmarks/orchestrate.py --calls 50   # smaller clients

`--clients N` (N > 3) measures the code location at scale instead: N
organizations, each a fake API on loopback (the last 5 with a rejected key,
the 5 before them flaky: a fifth of their requests fail), one PostgreSQL for
Meltano's state, the warehouse and Dagster's storage, the project's own run
queue (`orchestrate/home/dagster.yaml`) with every client submitted at once
(`dagster job backfill`). Prints the wall time, the most runs seen at once,
checks every good client's rows and that each bad one failed alone with its
line, times the dbt build over every schema and the partitions query the
UI's asset page sends (GraphQL) for N partitions. Exits 1 if a check fails.

    python benchmarks/orchestrate.py --clients 100 --calls 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrate_scale import write_organizations  # noqa: E402

from tests.e2e.conftest import local_postgres, postgres_bindir, psql  # noqa: E402
from tests.fake_contactship import FakeContactship  # noqa: E402

DAGSTER = ROOT / ".venv-dagster/bin"
CLIENTS = ("acme", "globex", "initech")
INSTANCE = """
storage:
  postgres:
    postgres_db: {{hostname: "{host}", port: {port}, username: "{user}", db_name: dagster}}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
    tag_concurrency_limits:
      - key: contactship/client-load
        limit: {limit}
telemetry:
  enabled: false
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args(argv)
    bindir = postgres_bindir()
    if bindir is None or not (DAGSTER / "dagster-daemon").exists():
        sys.exit("PostgreSQL or .venv-dagster is missing: `bash .ci/run` installs them")
    if args.clients > len(CLIENTS):
        from orchestrate_scale import at_scale  # noqa: PLC0415

        return at_scale(args.clients, args.calls, bindir)

    timings = {}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(local_postgres(bindir))
        apis = {}
        for name in CLIENTS:
            api = stack.enter_context(
                FakeContactship(api_key=f"{name}-key", latency=args.latency_ms / 1000)
            )
            api.seed_phone_numbers(50)
            api.seed(calls=args.calls, agents=3, contacts=40)
            apis[name] = api
        organizations = write_organizations(work, apis)
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "DAGSTER_"))
            },
            "CONTACTSHIP_ORGANIZATIONS": str(organizations),
            "CONTACTSHIP_DBT_TARGET_PATH": str(work / "dbt"),
            "CONTACTSHIP_RETRIES": "0",
            **{f"KEY_{name.upper()}": f"{name}-key" for name in CLIENTS},
            **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in server.items()},
            "TARGET_POSTGRES_PASSWORD": "unused",
        }
        for limit in (1, 3):
            for database in (f"meltano_{limit}", "dagster"):
                psql(server, f"drop database if exists {database}")
                psql(server, f"create database {database}")
            home = work / f"home-{limit}"
            home.mkdir()
            (home / "dagster.yaml").write_text(INSTANCE.format(limit=limit, **server))
            run_env = env | {
                "DAGSTER_HOME": str(home),
                "MELTANO_DATABASE_URI": (
                    f"postgresql+psycopg://{server['user']}@{server['host']}:"
                    f"{server['port']}/meltano_{limit}"
                ),
            }
            location = ["-m", "contactship_orchestrate.definitions"]
            daemon = subprocess.Popen(
                [str(DAGSTER / "dagster-daemon"), "run", *location],
                env=run_env,
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                started = time.perf_counter()
                for name in CLIENTS:
                    tags = json.dumps({"dagster/partition": name})
                    launch = [str(DAGSTER / "dagster"), "job", "launch", *location]
                    launched = subprocess.run(
                        [*launch, "-j", "load_client", "--tags", tags],
                        env=run_env,
                        cwd=work,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if launched.returncode != 0:
                        sys.exit(
                            f"dagster job launch failed:\n{launched.stderr[-3000:]}"
                        )
                peak = wait_for_runs(server, len(CLIENTS))
                timings[limit] = (time.perf_counter() - started, peak)
            finally:
                daemon.terminate()
                daemon.wait(timeout=60)
            for name in CLIENTS:
                rows = psql(server, f"select count(*) from contactship_{name}.calls")  # noqa: S608
                psql(server, f"drop schema contactship_{name} cascade")
                if int(rows[0][0]) != args.calls:
                    sys.exit(f"{name}: {rows[0][0]} calls loaded, not {args.calls}")
        shutil.rmtree(work / "dbt", ignore_errors=True)

    print(
        f"\n| three clients, {args.latency_ms:.0f} ms per request | wall time "
        "| most runs at once |"
    )
    print("|---|---:|---:|")
    for limit, (seconds, peak) in timings.items():
        print(f"| queue limit {limit} | {seconds:.1f} s | {peak} |")
    return 0


def wait_for_runs(server: dict[str, str], count: int) -> int:
    """Wait until `count` runs finished; the most that were running at once."""
    peak, deadline = 0, time.monotonic() + 900
    while time.monotonic() < deadline:
        runs = psql({**server, "database": "dagster"}, "select status from runs")
        statuses = [row[0] for row in runs]
        peak = max(peak, statuses.count("STARTED"))
        done = [s for s in statuses if s in {"SUCCESS", "FAILURE", "CANCELED"}]
        if len(done) == count:
            if set(done) != {"SUCCESS"}:
                sys.exit(f"runs ended {done}")
            return peak
        time.sleep(0.5)
    sys.exit("the runs did not finish in 15 minutes")


if __name__ == "__main__":
    sys.exit(main())
