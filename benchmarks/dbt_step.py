"""Time the job's dbt step on a large organization: incremental versus full refresh.

Loads N calls (default 200,000) from the project's fake Contactship API with
the real pipeline (`meltano run tap-contactship target-duckdb` into a scratch
DuckDB file), builds the package once, then changes the organization as an
hour does (calls inside the look-back complete, new calls arrive), loads again,
and times `dbt build` (models and tests, as the job runs it) and `dbt run`
(models only), incremental and `--full-refresh` alternately, on the same data.
Prints medians; timings are reported, never asserted.

    python benchmarks/dbt_step.py                        # 200,000 calls, 3 rounds
    python benchmarks/dbt_step.py --calls 2000 --rounds 1  # does it all work?
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_contactship import FakeContactship, make_call  # noqa: E402

MELTANO = ROOT / ".venv-meltano/bin/meltano"
DBT = ROOT / ".meltano/transformers/dbt-duckdb/venv/bin/dbt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for tool in (MELTANO, DBT):
        if not tool.exists():
            sys.exit(f"{tool} is missing: `bash .ci/run` installs it")

    with tempfile.TemporaryDirectory() as folder, FakeContactship() as api:
        api.seed(calls=args.calls, agents=6, contacts=2000)
        work = Path(folder)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
            "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TARGET_DUCKDB_FILEPATH": str(work / "warehouse.duckdb"),
            "DBT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
            "TAP_CONTACTSHIP_API_URL": api.url,
            "TAP_CONTACTSHIP_API_KEY": api.api_key,
            "TAP_CONTACTSHIP_PAGE_SIZE": "1000",
        }

        def load() -> float:
            return timed([str(MELTANO), "run", "tap-contactship", "target-duckdb"], env)

        def dbt(*command: str) -> float:
            return timed(
                [
                    str(DBT),
                    *command,
                    f"--project-dir={ROOT / 'transform'}",
                    f"--profiles-dir={ROOT / 'transform/profiles'}",
                    f"--target-path={work / 'target'}",
                    f"--log-path={work / 'logs'}",
                ],
                env,
            )

        print(f"load of {args.calls:,} calls: {load():.1f} s", flush=True)
        print(f"first build: {dbt('build'):.1f} s", flush=True)
        for call in api.calls[-300:]:
            call["call_status"], call["call_result"] = "completed", "answered"
        with api.lock:
            start = len(api.calls)
            api.calls.extend(make_call(n) for n in range(start, start + 500))
        print(f"an hour's load (look-back and 500 new calls): {load():.1f} s")

        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, command in (
                ("build, incremental", ["build"]),
                ("build, full refresh", ["build", "--full-refresh"]),
                ("run, incremental", ["run"]),
                ("run, full refresh", ["run", "--full-refresh"]),
            ):
                times.setdefault(name, []).append(dbt(*command))

    print(f"\n| dbt step on {args.calls:,} calls (median of {args.rounds}) | seconds |")
    print("|---|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {statistics.median(seconds):.2f} |")
    for step in ("build", "run"):
        full = statistics.median(times[f"{step}, full refresh"])
        incremental = statistics.median(times[f"{step}, incremental"])
        print(f"| {step}: full refresh / incremental | {full / incremental:.2f}x |")
    return 0


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{command[:3]} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
