"""End to end: N calls from the fake API into a warehouse, RECORD versus BATCH mode.

Runs `meltano run tap-contactship target-postgres` into a throwaway PostgreSQL
server on 127.0.0.1, once in RECORD mode and once in BATCH mode (gzip batch
files), each into its own schema with its own state, and then the tap's BATCH
output into Snowflake on the emulator (target-snowflake, PUT and COPY/MERGE
emulated by the tests' launcher). After each load the calls are read back:
every id exactly once. Prints wall times; timings are reported, never asserted.

    python benchmarks/load.py                 # 200,000 calls
    python benchmarks/load.py --calls 2000    # does it all work?
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dbt_step import timed  # noqa: E402  (this folder is on the path)

from tests.e2e.conftest import local_postgres, postgres_bindir, psql  # noqa: E402
from tests.fake_contactship import FakeContactship  # noqa: E402
from tests.warehouses import Snowflake  # noqa: E402

MELTANO = ROOT / ".venv-meltano/bin/meltano"
TAP = Path(sys.executable).with_name("tap-contactship")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args(argv)
    bindir = postgres_bindir()
    if bindir is None or not MELTANO.exists():
        sys.exit("PostgreSQL or Meltano is missing: `bash .ci/run` installs them")

    results: list[tuple[str, float]] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        api = stack.enter_context(FakeContactship())
        api.seed(calls=args.calls)
        api.frozen = True
        api.warm()
        server = stack.enter_context(local_postgres(bindir))
        batch_config = {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": str(work / "batches")},
        }
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAP_")},
            "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_CONTACTSHIP_API_URL": api.url,
            "TAP_CONTACTSHIP_API_KEY": api.api_key,
            "TAP_CONTACTSHIP_PAGE_SIZE": "1000",
            **{
                f"TARGET_POSTGRES_{key.upper()}": value for key, value in server.items()
            },
            # The server trusts loopback: target-postgres wants some password.
            "TARGET_POSTGRES_PASSWORD": "unused",
        }
        for mode in ("record", "batch"):
            run_env = env | {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": f"load_{mode}"}
            if mode == "batch":
                run_env["TAP_CONTACTSHIP_BATCH_CONFIG"] = json.dumps(batch_config)
            command = [str(MELTANO), "run", f"--state-id-suffix={mode}"]
            seconds = timed([*command, "tap-contactship", "target-postgres"], run_env)
            counts = psql(
                server,
                f"select count(*), count(distinct id) from load_{mode}.calls",  # noqa: S608
            )
            check(counts[0], args.calls, f"PostgreSQL, {mode} mode")
            results.append(
                (f"meltano run into PostgreSQL, {mode.upper()} mode", seconds)
            )

        config = work / "tap.json"
        config.write_text(
            json.dumps(
                {
                    "api_key": api.api_key,
                    "api_url": api.url,
                    "page_size": 1000,
                    "batch_config": batch_config,
                }
            )
        )
        warehouse = Snowflake(work)
        started = time.perf_counter()
        tap = subprocess.run(
            [str(TAP), "--config", str(config)],
            capture_output=True,
            text=True,
            check=True,
        )
        loaded = warehouse.load(tap.stdout)
        seconds = time.perf_counter() - started
        if loaded.returncode != 0:
            sys.exit(f"target-snowflake failed:\n{loaded.stderr[-3000:]}")
        counts = warehouse.rows("select count(*), count(distinct id) from calls")[0]
        check(counts, args.calls, "Snowflake (emulator), BATCH mode")
        results.append(
            ("the tap piped to target-snowflake on the emulator, BATCH mode", seconds)
        )

    print(f"\n| {args.calls:,} calls, each read back once | seconds |")
    print("|---|---:|")
    for name, seconds in results:
        print(f"| {name} | {seconds:.1f} |")
    return 0


def check(counts: list[Any], calls: int, where: str) -> None:
    """Every call once: as many rows as distinct ids as calls."""
    if [int(n) for n in counts] != [calls, calls]:
        sys.exit(f"{where}: {counts} rows/distinct ids, not {calls}")


if __name__ == "__main__":
    sys.exit(main())
