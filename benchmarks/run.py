"""Benchmark tap-contactship against the bare-HTTP ceiling, on this machine.

Starts the project's fake Contactship API (in its own process), then for each
case runs the tap and a bare baseline loop alternately, and prints medians,
ratios, records/s, requests and peak RSS. Timings are reported, never asserted.

    python benchmarks/run.py            # the full table (a few minutes)
    python benchmarks/run.py --smoke    # tiny sizes, one run: does it all work?
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "bench-key-0000"
# Both sides write stdout as they would into a pipeline: block-buffered.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@dataclass
class Case:
    name: str
    rows: int
    baseline_mode: str
    target: float
    latency_ms: float = 0.0
    faults: list[str] = field(default_factory=list)


CASES = [
    Case("100,000 rows, page 100, no latency", 100_000, "sequential", 1.6),
    Case(
        "5,000 rows, page 100, 20 ms/request", 5_000, "concurrent", 1.3, latency_ms=20
    ),
    Case(
        "2,000 rows, every 7th 429 (Retry-After 1), every 11th 500",
        2_000,
        "retry-after",
        1.2,
        faults=["--every-nth-429", "7", "--retry-after", "1", "--every-nth-500", "11"],
    ),
]


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    records: int
    requests: int


class FakeServer:
    """The fake API in its own process, so it does not share our interpreter."""

    def __init__(self, case: Case, folder: Path) -> None:
        url_file = folder / "url"
        url_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/fake_contactship.py"),
                "--api-key",
                KEY,
                "--phone-numbers",
                str(case.rows),
                "--latency-ms",
                str(case.latency_ms),
                "--url-file",
                str(url_file),
                *case.faults,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not (url_file.exists() and url_file.read_text()):
            if time.monotonic() > deadline:
                raise RuntimeError("the fake API did not start")
            time.sleep(0.05)
        self.url = url_file.read_text()
        self.requests()  # warm: encode every row once before timing

    def requests(self) -> int:
        with urllib.request.urlopen(self.url + "/_fake/stats") as response:  # noqa: S310
            count: int = json.load(response)["requests"]
        return count

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def measure(argv: list[str], server: FakeServer, out: Path) -> Sample:
    """Run one command with stdout to a file; wall time and its own peak RSS."""
    before = server.requests()
    with out.open("w") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(
            argv, stdout=stdout, stderr=subprocess.DEVNULL, env=ENV
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} failed")
    records = sum(
        1
        for line in out.open()
        if line.startswith('{"type":"RECORD"') or line.startswith('{"type": "RECORD"')
    )
    return Sample(seconds, usage.ru_maxrss / 1024, records, server.requests() - before)


TAP_SETTINGS: dict[str, object] = {}


def tap_argv(folder: Path, url: str) -> list[str]:
    config = folder / "config.json"
    config.write_text(
        json.dumps({"api_key": KEY, "api_url": url, "page_size": 100, **TAP_SETTINGS})
    )
    catalog = folder / "catalog.json"
    if not catalog.exists():
        discovered = json.loads(
            subprocess.run(
                [str(BIN / "tap-contactship"), "--config", str(config), "--discover"],
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        )
        for entry in discovered["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = (
                        entry["tap_stream_id"] == "phone_numbers"
                    )
        catalog.write_text(json.dumps(discovered))
    return [
        str(BIN / "tap-contactship"),
        "--config",
        str(config),
        "--catalog",
        str(catalog),
    ]


def run_case(case: Case, runs: int, folder: Path) -> dict[str, object]:
    taps: list[Sample] = []
    bases: list[Sample] = []
    for run in range(runs):
        # A fresh server per run: every run sees the same fault sequence.
        order = ["tap", "baseline"] if run % 2 == 0 else ["baseline", "tap"]
        for who in order:
            server = FakeServer(case, folder)
            try:
                if who == "tap":
                    taps.append(
                        measure(
                            tap_argv(folder, server.url), server, folder / "tap.out"
                        )
                    )
                else:
                    argv = [
                        sys.executable,
                        str(ROOT / "benchmarks/baseline.py"),
                        "--url",
                        server.url,
                        "--key",
                        KEY,
                        "--mode",
                        case.baseline_mode,
                    ]
                    bases.append(measure(argv, server, folder / "baseline.out"))
            finally:
                server.stop()
    for sample in taps + bases:
        if sample.records != case.rows:
            raise RuntimeError(
                f"{case.name}: {sample.records} records, expected {case.rows}"
            )
    tap = statistics.median(s.seconds for s in taps)
    base = statistics.median(s.seconds for s in bases)
    return {
        "case": case.name,
        "tap_s": tap,
        "baseline_s": base,
        "ratio": tap / base,
        "target": case.target,
        "tap_records_per_s": case.rows / tap,
        "tap_requests": taps[-1].requests,
        "baseline_requests": bases[-1].requests,
        "tap_peak_rss_mb": max(s.peak_rss_mb for s in taps),
    }


def about_case(runs: int) -> dict[str, object]:
    def wall(argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    taps, bases = [], []
    for _ in range(runs):
        taps.append(wall([str(BIN / "tap-contactship"), "--about"]))
        bases.append(wall([sys.executable, "-c", "import singer_sdk"]))
    tap, base = statistics.median(taps), statistics.median(bases)
    return {
        "case": "tap-contactship --about vs import singer_sdk",
        "tap_s": tap,
        "baseline_s": base,
        "ratio": tap / base,
        "target": 1.15,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="alternating runs per case")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--case", type=int, action="append", help="only case N (1-based)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=JSON",
        help="a tap setting",
    )
    args = parser.parse_args()
    for item in args.set:
        name, _, value = item.partition("=")
        TAP_SETTINGS[name] = json.loads(value)

    cases = CASES
    runs = args.runs
    if args.smoke:
        cases = [
            Case(
                c.name,
                min(c.rows, 1_000),
                c.baseline_mode,
                c.target,
                c.latency_ms,
                c.faults,
            )
            for c in CASES
        ]
        runs = 1

    if args.case:
        cases = [cases[n - 1] for n in args.case]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            print(f"running: {case.name} ...", file=sys.stderr, flush=True)
            results.append(run_case(case, runs, Path(tmp)))
    results.append(about_case(max(runs, 5)))

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{datetime.now(timezone.utc):%Y-%m-%d}, {machine}, medians of {runs} alternating runs\n"
    )
    print(
        "| case | tap-contactship | baseline | ratio | target | records/s | requests (tap/base) | peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ok = "ok" if float(r["ratio"]) <= float(r["target"]) else "MISSED"  # type: ignore[arg-type]
        extra = (
            f"{r['tap_records_per_s']:,.0f} | {r['tap_requests']}/{r['baseline_requests']} | {r['tap_peak_rss_mb']:.0f} MB"
            if "tap_requests" in r
            else " | | "
        )
        print(
            f"| {r['case']} | {r['tap_s']:.2f} s | {r['baseline_s']:.2f} s | {r['ratio']:.2f}x "
            f"| <= {r['target']}x {ok} | {extra} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
