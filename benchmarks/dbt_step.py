"""Time the job's dbt step on a large organization: incremental versus full refresh.

Loads N calls (default 200,000) from the project's fake Contactship API with
the real pipeline (`meltano run tap-contactship target-duckdb` into a scratch
DuckDB file, or target-postgres into a throwaway PostgreSQL server), builds the package once, then changes the organization as an
hour does (calls inside the look-back complete, new calls arrive), loads again,
and times `dbt build` (models and tests, as the job runs it) and `dbt run`
(models only), incremental and `--full-refresh` alternately, on the same data,
each as wall time and as the time the warehouse spent on the models (from
dbt's run_results.json: without dbt's own start-up and parsing).
Prints medians; timings are reported, never asserted.

    python benchmarks/dbt_step.py                        # 200,000 calls, 3 rounds
    python benchmarks/dbt_step.py --warehouse postgres   # the same in PostgreSQL
    python benchmarks/dbt_step.py --calls 2000 --rounds 1  # does it all work?
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import local_postgres, postgres_bindir  # noqa: E402
from tests.fake_contactship import FakeContactship, make_call  # noqa: E402

MELTANO = ROOT / ".venv-meltano/bin/meltano"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warehouse",
        choices=["duckdb", "postgres"],
        default="duckdb",
        help="postgres: a throwaway server on 127.0.0.1 (Debian's PostgreSQL)",
    )
    args = parser.parse_args(argv)
    dbt_bin = ROOT / f".meltano/transformers/dbt-{args.warehouse}/venv/bin/dbt"
    for tool in (MELTANO, dbt_bin):
        if not tool.exists():
            sys.exit(f"{tool} is missing: `bash .ci/run` installs it")

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        api = stack.enter_context(FakeContactship())
        api.seed(calls=args.calls, agents=6, contacts=2000)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
            "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TARGET_DUCKDB_FILEPATH": str(work / "warehouse.duckdb"),
            "DBT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
            "DBT_TARGET": args.warehouse,
            "TAP_CONTACTSHIP_API_URL": api.url,
            "TAP_CONTACTSHIP_API_KEY": api.api_key,
            "TAP_CONTACTSHIP_PAGE_SIZE": "1000",
        }
        if args.warehouse == "postgres":
            bindir = postgres_bindir()
            if bindir is None:
                sys.exit("PostgreSQL is not installed (bash .ci/run installs it)")
            server = stack.enter_context(local_postgres(bindir))
            env |= {
                f"TARGET_POSTGRES_{key.upper()}": value for key, value in server.items()
            }
            # The server trusts loopback: target-postgres wants some password.
            env["TARGET_POSTGRES_PASSWORD"] = "unused"  # noqa: S105

        def load() -> float:
            loader = f"target-{args.warehouse}"
            return timed([str(MELTANO), "run", "tap-contactship", loader], env)

        def dbt(*command: str) -> float:
            return timed(
                [
                    str(dbt_bin),
                    *command,
                    f"--project-dir={ROOT / 'transform'}",
                    f"--profiles-dir={ROOT / 'transform/profiles'}",
                    f"--target-path={work / 'target'}",
                    f"--log-path={work / 'logs'}",
                ],
                env,
            )

        def models() -> dict[str, float]:
            """Seconds the warehouse spent on each model in the last command
            (dbt's own start-up and parsing excluded)."""
            results = json.loads((work / "target/run_results.json").read_text())
            return {
                r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"])
                for r in results["results"]
                if r["unique_id"].startswith("model.")
            }

        print(f"load of {args.calls:,} calls: {load():.1f} s", flush=True)
        print(f"first build: {dbt('build'):.1f} s", flush=True)
        for call in api.calls[-300:]:
            call["call_status"], call["call_result"] = "completed", "answered"
        with api.lock:
            start = len(api.calls)
            api.calls.extend(make_call(n) for n in range(start, start + 500))
        print(f"an hour's load (look-back and 500 new calls): {load():.1f} s")

        times: dict[str, list[float]] = {}
        per_model: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for name, command in (
                ("build, incremental", ["build"]),
                ("build, full refresh", ["build", "--full-refresh"]),
                ("run, incremental", ["run"]),
                ("run, full refresh", ["run", "--full-refresh"]),
            ):
                times.setdefault(name, []).append(dbt(*command))
                spent = models()
                times.setdefault(f"{name}: models only", []).append(sum(spent.values()))
                for model, seconds in spent.items():
                    per_model.setdefault((name, model), []).append(seconds)

    report(f"dbt step on {args.calls:,} calls in {args.warehouse}", args.rounds, times)
    models_report(per_model)
    return 0


def report(heading: str, rounds: int, times: dict[str, list[float]]) -> None:
    """Median times, then full refresh / incremental for each step."""
    print(f"\n| {heading} (median of {rounds}) | seconds |")
    print("|---|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {statistics.median(seconds):.2f} |")
    for step in ("build", "run"):
        for part in ("", ": models only"):
            full = statistics.median(times[f"{step}, full refresh{part}"])
            incremental = statistics.median(times[f"{step}, incremental{part}"])
            ratio = full / incremental
            print(f"| {step}{part}: full refresh / incremental | {ratio:.2f}x |")


def models_report(per_model: dict[tuple[str, str], list[float]]) -> None:
    """Each model's median time in `dbt run`, incremental and full refresh."""
    print("\n| model (`dbt run`, median seconds) | incremental | full refresh |")
    print("|---|---:|---:|")
    for name, model in sorted(per_model):
        if name == "run, incremental":
            incremental = statistics.median(per_model[(name, model)])
            full = statistics.median(per_model[("run, full refresh", model)])
            print(f"| {model} | {incremental:.2f} | {full:.2f} |")


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
