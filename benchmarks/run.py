"""Benchmark tap-contactship against the bare-HTTP ceiling, on this machine.

Starts the project's fake Contactship API (in its own process), then for each
case runs the tap and the bare baseline (`benchmarks/baseline.py`) alternately,
a fresh server for every run, and prints medians: wall time of both, their
ratio, records/s, requests (tap/baseline) and peak RSS (tap/baseline). RECORD
cases also show the SDK's own record loop for that many rows
(`benchmarks/sdk_floor.py`) and the tap's time without it: the part that is
ours. BATCH cases compare with a bare loop that writes the same files.
Timings are reported, never asserted.

    python benchmarks/run.py               # every case, medians of 5 runs (~15 min)
    python benchmarks/run.py --case 1      # one case
    python benchmarks/run.py --smoke      # tiny sizes, one run: does it all work?
    python benchmarks/run.py --gzip-levels # batch file size and time per gzip level
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tap_contactship.batches import GZIP_LEVEL

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "bench-key-0000"
# Both sides write stdout as they would into a pipeline: block-buffered.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@dataclass(frozen=True)
class Case:
    name: str
    stream: str
    rows: int
    #: The most the ratio should be; None: reported only.
    target: float | None
    page_size: int = 100
    baseline_mode: str = "sequential"
    latency_ms: float = 0.0
    max_limit: int | None = None
    transcripts: int = 0
    faults: tuple[str, ...] = ()
    #: Settings for the tap beyond api_key, api_url and page_size.
    settings: dict[str, object] = field(default_factory=dict)
    #: BATCH mode with this compression (`none` or `gzip`); None: RECORD mode.
    batch: str | None = None

    @property
    def shape(self) -> str:
        """Which of `sdk_floor.SHAPES` the rows are."""
        return "calls with transcripts" if self.transcripts else self.stream

    @property
    def in_flight(self) -> int:
        value = self.settings.get("max_concurrent_requests", 6)
        return value if isinstance(value, int) else 6


CASES = [
    Case("100,000 phone numbers, page 100", "phone_numbers", 100_000, 1.8),
    Case("1,000,000 phone numbers, page 100", "phone_numbers", 1_000_000, None),
    Case(
        "1,000,000 phone numbers, page 1000",
        "phone_numbers",
        1_000_000,
        None,
        page_size=1000,
    ),
    Case("100,000 calls, no transcripts", "calls", 100_000, 2.2),
    Case(
        "20,000 calls with transcripts (40 turns, ~5 KB each)",
        "calls",
        20_000,
        2.0,
        transcripts=40,
        settings={"include_transcripts": True},
    ),
    Case(
        "20,000 calls, 150 ms/request, pages clamped at 100, 6 in flight both",
        "calls",
        20_000,
        1.2,
        baseline_mode="concurrent",
        latency_ms=150,
        max_limit=100,
        page_size=100,
    ),
    Case(
        "5,000 phone numbers, 20 ms/request, 6 in flight both",
        "phone_numbers",
        5_000,
        1.3,
        baseline_mode="concurrent",
        latency_ms=20,
    ),
    Case(
        "2,000 phone numbers, every 7th request 429 (Retry-After 1), every 11th 500",
        "phone_numbers",
        2_000,
        1.2,
        baseline_mode="retry-after",
        faults=("--every-nth-429", "7", "--retry-after", "1", "--every-nth-500", "11"),
    ),
    Case(
        "BATCH: 100,000 phone numbers, page 100, uncompressed",
        "phone_numbers",
        100_000,
        1.3,
        batch="none",
    ),
    Case("BATCH: 100,000 calls, uncompressed", "calls", 100_000, 1.5, batch="none"),
    Case(
        f"BATCH: 100,000 calls, gzip level {GZIP_LEVEL} both",
        "calls",
        100_000,
        1.5,
        batch="gzip",
    ),
    Case(
        "BATCH: 1,000,000 phone numbers, page 1000, uncompressed",
        "phone_numbers",
        1_000_000,
        None,
        page_size=1000,
        batch="none",
    ),
]
#: The cases `--smoke` runs, tiny: one of each shape.
SMOKE = [0, 5, 8]


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    records: int
    requests: int


@dataclass(frozen=True)
class Timing:
    """A row of the table: the tap's median wall time against another's."""

    case: str
    tap_s: float
    baseline_s: float
    #: The most the ratio should be; None: reported only.
    target: float | None

    @property
    def ratio(self) -> float:
        return self.tap_s / self.baseline_s

    def verdict(self) -> str:
        if self.target is None:
            return "(reported)"
        met = "ok" if self.ratio <= self.target else "MISSED"
        return f"<= {self.target}x {met}"

    def measures(self) -> list[str]:
        """The SDK loop, tap - SDK loop, records/s, requests and RSS columns."""
        return ["", "", "", "", ""]

    def row(self) -> str:
        cells = [
            self.case,
            f"{self.tap_s:.2f} s",
            f"{self.baseline_s:.2f} s",
            f"{self.ratio:.2f}x",
            self.verdict(),
            *self.measures(),
        ]
        return "| " + " | ".join(cells) + " |"

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class Measured(Timing):
    """A row whose runs were syncs: their rows, requests and peak RSS too."""

    rows: int
    #: The SDK's record loop alone for `rows` (RECORD cases), seconds.
    sdk_floor_s: float | None
    #: Requests the server saw, in the last run of each side.
    tap_requests: int
    baseline_requests: int
    #: The highest peak RSS of each side's runs.
    tap_peak_rss_mb: float
    baseline_peak_rss_mb: float

    @property
    def tap_records_per_s(self) -> float:
        return self.rows / self.tap_s

    def measures(self) -> list[str]:
        floor = self.sdk_floor_s
        own = (
            ["", ""]
            if floor is None
            else [f"{floor:.2f} s", f"{self.tap_s - floor:.2f} s"]
        )
        return [
            *own,
            f"{self.tap_records_per_s:,.0f}",
            f"{self.tap_requests}/{self.baseline_requests}",
            f"{self.tap_peak_rss_mb:.0f}/{self.baseline_peak_rss_mb:.0f} MB",
        ]

    def as_json(self) -> dict[str, object]:
        return {**super().as_json(), "tap_records_per_s": self.tap_records_per_s}


class FakeServer:
    """The fake API in its own process, so it does not share our interpreter."""

    def __init__(self, case: Case, folder: Path) -> None:
        url_file = folder / "url"
        url_file.unlink(missing_ok=True)
        rows = {"phone_numbers": "0", "calls": "0"} | {case.stream: str(case.rows)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/fake_contactship.py"),
                "--api-key",
                KEY,
                "--phone-numbers",
                rows["phone_numbers"],
                "--calls",
                rows["calls"],
                "--transcript-turns",
                str(case.transcripts),
                "--latency-ms",
                str(case.latency_ms),
                *(["--max-limit", str(case.max_limit)] if case.max_limit else []),
                "--url-file",
                str(url_file),
                *case.faults,
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not (url_file.exists() and url_file.read_text()):
            if time.monotonic() > deadline:
                raise RuntimeError("the fake API did not start")
            time.sleep(0.05)
        self.url = url_file.read_text()

    def requests(self) -> int:
        with urllib.request.urlopen(self.url + "/_fake/stats") as response:  # noqa: S310
            count: int = json.load(response)["requests"]
        return count

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def measure(argv: list[str], server: FakeServer, out: Path) -> Sample:
    """Run one command with stdout to a file; wall time and its own peak RSS.

    Records are the RECORD lines, or the rows of the files BATCH lines name
    (the files are removed once counted).
    """
    before = server.requests()
    errors = out.with_suffix(".err")
    with out.open("w") as stdout, errors.open("w") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=ENV)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "\n".join(errors.read_text().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(argv[:3])} failed:\n{tail}")
    records = 0
    with out.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"'):
                records += 1
            elif line.startswith(b'{"type":"BATCH"'):
                for url in json.loads(line)["manifest"]:
                    path = Path(url.removeprefix("file://"))
                    opener = gzip.open if path.suffix == ".gz" else Path.open
                    with opener(path, "rb") as rows:
                        records += sum(1 for _ in rows)
                    path.unlink()
    return Sample(seconds, usage.ru_maxrss / 1024, records, server.requests() - before)


def tap_argv(case: Case, folder: Path, url: str) -> list[str]:
    config = folder / "config.json"
    settings: dict[str, object] = {
        "api_key": KEY,
        "api_url": url,
        "page_size": case.page_size,
    }
    if case.batch:
        settings["batch_config"] = {
            "encoding": {"format": "jsonl", "compression": case.batch},
            "storage": {"root": str(batch_folder(folder))},
        }
    config.write_text(json.dumps({**settings, **case.settings}))
    selection = folder / f"catalog-{case.stream}.json"
    if not selection.exists():
        # In a child process: the runner stays small, and so does the peak RSS
        # its children inherit before they exec.
        code = "import json, sys; from tests.catalogs import catalog; print(json.dumps(catalog(sys.argv[1:])))"
        selection.write_text(
            subprocess.run(
                [sys.executable, "-c", code, case.stream],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    return [
        str(BIN / "tap-contactship"),
        "--config",
        str(config),
        "--catalog",
        str(selection),
    ]


def batch_folder(folder: Path) -> Path:
    """Where both sides write batch files."""
    path = folder / "batches"
    path.mkdir(exist_ok=True)
    return path


def baseline_argv(case: Case, url: str, folder: Path) -> list[str]:
    params = ["--param", "include_transcript=true"] if case.transcripts else []
    if case.batch:
        params += [
            *("--batch-dir", str(batch_folder(folder)), "--batch-size", "10000"),
            *("--compression", case.batch, "--gzip-level", str(GZIP_LEVEL)),
        ]
    return [
        sys.executable,
        str(ROOT / "benchmarks/baseline.py"),
        "--url",
        url,
        "--key",
        KEY,
        "--mode",
        case.baseline_mode,
        "--stream",
        case.stream,
        "--page-size",
        str(case.max_limit or case.page_size),
        "--in-flight",
        str(case.in_flight),
        *params,
    ]


def run_case(case: Case, runs: int, folder: Path, floors: dict[str, float]) -> Measured:
    samples: dict[str, list[Sample]] = {"tap": [], "baseline": []}
    for run in range(runs):
        # A fresh server per run: every run sees the same fault sequence.
        order = ["tap", "baseline"] if run % 2 == 0 else ["baseline", "tap"]
        for who in order:
            server = FakeServer(case, folder)
            try:
                argv = (
                    tap_argv(case, folder, server.url)
                    if who == "tap"
                    else baseline_argv(case, server.url, folder)
                )
                samples[who].append(measure(argv, server, folder / f"{who}.out"))
            finally:
                server.stop()
    return measured(
        case,
        samples["tap"],
        samples["baseline"],
        sdk_floor_s=None if case.batch else floors[case.shape] * case.rows / 1e6,
    )


def measured(
    case: Case,
    tap: list[Sample],
    baseline: list[Sample],
    *,
    name: str | None = None,
    target: float | None = None,
    sdk_floor_s: float | None = None,
) -> Measured:
    """Medians of both sides' runs, once each run is checked to be whole."""
    for who, taken in (("tap", tap), ("baseline", baseline)):
        for sample in taken:
            if sample.records != case.rows:
                msg = f"{case.name}: {who} wrote {sample.records} records, not {case.rows}"
                raise RuntimeError(msg)
    return Measured(
        case=name or case.name,
        tap_s=statistics.median(s.seconds for s in tap),
        baseline_s=statistics.median(s.seconds for s in baseline),
        target=case.target if name is None else target,
        rows=case.rows,
        sdk_floor_s=sdk_floor_s,
        tap_requests=tap[-1].requests,
        baseline_requests=baseline[-1].requests,
        tap_peak_rss_mb=max(s.peak_rss_mb for s in tap),
        baseline_peak_rss_mb=max(s.peak_rss_mb for s in baseline),
    )


def about_case(runs: int) -> Timing:
    def wall(argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    taps, bases = [], []
    for _ in range(runs):
        taps.append(wall([str(BIN / "tap-contactship"), "--about"]))
        bases.append(wall([sys.executable, "-c", "import singer_sdk"]))
    return Timing(
        case="`tap-contactship --about` vs `python -c 'import singer_sdk'`",
        tap_s=statistics.median(taps),
        baseline_s=statistics.median(bases),
        target=1.15,
    )


#: The tap with another message writer, for the writers' comparison.
WITH_WRITER = """
import sys
from tap_contactship.tap import TapContactship
from {module} import {writer} as writer
TapContactship.message_writer_class = writer
from tap_contactship.cli import cli
sys.argv[0] = "tap-contactship"
cli()
"""
WRITERS = {
    "msgspec": ("singer_sdk.contrib.msgspec", "MsgSpecWriter"),
    "default": ("singer_sdk.io_base", "SingerWriter"),
}


def writer_cases(
    case: Case, runs: int, folder: Path, writers: list[str]
) -> list[Measured]:
    """The whole tap with its own writer against the SDK's writers."""
    samples: dict[str, list[Sample]] = {"ours": [], **{name: [] for name in writers}}
    for _ in range(runs):
        for name, taken in samples.items():
            server = FakeServer(case, folder)
            try:
                argv = tap_argv(case, folder, server.url)
                if name in WRITERS:
                    module, writer = WRITERS[name]
                    code = WITH_WRITER.format(module=module, writer=writer)
                    argv = [sys.executable, "-c", code, *argv[1:]]
                taken.append(measure(argv, server, folder / "w.out"))
            finally:
                server.stop()
    return [
        measured(
            case,
            samples["ours"],
            samples[name],
            name=f"{case.name}: this tap's writer vs the SDK's {name} writer",
            target=1.0,
        )
        for name in writers
    ]


def smoke(case: Case) -> Case:
    small = min(case.rows, 300 if case.transcripts else 1_000)
    name = f"{case.name} [smoke: {small:,} rows]"
    return replace(case, name=name, rows=small, latency_ms=min(case.latency_ms, 5))


def sdk_floors(rows: int) -> dict[str, float]:
    """Microseconds per record of the SDK's loop alone, per shape (in a child)."""
    found = subprocess.run(
        [sys.executable, ROOT / "benchmarks/sdk_floor.py", "--json", f"--rows={rows}"],
        capture_output=True,
        text=True,
        check=True,
    )
    floors: dict[str, float] = json.loads(found.stdout)
    return floors


def gzip_levels(settings: dict[str, object]) -> None:
    """The tap's uncompressed batch file of 100,000 calls, gzipped at each level."""
    case = Case("calls", "calls", 100_000, None, batch="none", settings=settings)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = FakeServer(case, folder)
        try:
            argv = tap_argv(case, folder, server.url)
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        finally:
            server.stop()
        data = b"".join(p.read_bytes() for p in sorted(batch_folder(folder).iterdir()))
        shutil.rmtree(batch_folder(folder))
    print(f"{len(data) / 1e6:.1f} MB of JSONL (100,000 calls)\n")
    print("| gzip level | seconds | MB | ratio to level 1's size |")
    print("|---:|---:|---:|---:|")
    sizes = {}
    for level in (1, 3, 6, 9):
        start = time.perf_counter()
        size = len(gzip.compress(data, compresslevel=level))
        seconds = time.perf_counter() - start
        sizes[level] = size
        print(f"| {level} | {seconds:.2f} | {size / 1e6:.2f} | {size / sizes[1]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per case")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--case", type=int, action="append", help="only case N (1-based)"
    )
    parser.add_argument(
        "--gzip-levels",
        action="store_true",
        help="size and compression time of 100,000 calls' batch file per gzip level",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=JSON",
        help="a tap setting, for every case the run makes (smoke, writers and "
        "--gzip-levels included)",
    )
    args = parser.parse_args()
    overrides = {
        name: json.loads(value)
        for name, _, value in (item.partition("=") for item in args.set)
    }

    if args.gzip_levels:
        gzip_levels(overrides)
        return
    every = [replace(c, settings={**c.settings, **overrides}) for c in CASES]
    runs = args.runs
    if args.case:
        cases = [every[n - 1] for n in args.case]
    else:
        cases = [every[n] for n in SMOKE] if args.smoke else every
    writers = every[0]
    if args.smoke:
        # One case of each shape, tiny, once: it all still runs end to end.
        cases = [smoke(c) for c in cases]
        writers = smoke(writers)
        runs = 1
    results: list[Timing] = []
    print("running: the SDK's record loop alone ...", file=sys.stderr, flush=True)
    floors = sdk_floors(1_000 if args.smoke else 50_000)
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            print(f"running: {case.name} ...", file=sys.stderr, flush=True)
            results.append(run_case(case, runs, Path(tmp), floors))
        if not args.case:
            if not args.smoke:
                results.append(about_case(max(runs, 5)))
            print(
                f"running: writers on {writers.name} ...", file=sys.stderr, flush=True
            )
            names = ["msgspec"] if args.smoke else list(WRITERS)
            results += writer_cases(writers, runs, Path(tmp), names)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{datetime.now(timezone.utc):%Y-%m-%d}, {machine}, medians of {runs} alternating runs\n"
    )
    print(
        "| case | tap-contactship | ceiling | ratio | target | SDK loop | tap - SDK loop "
        "| records/s | requests (tap/ceiling) | peak RSS (tap/ceiling) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(result.row())
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in results], indent=2))


if __name__ == "__main__":
    main()
