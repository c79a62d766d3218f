"""Soak: the real tap under faults, killed at random and resumed, until time is up.

Serves the project's fake Contactship API in chaos mode (a share of requests
fail with 500, a reset connection, 429 with `Retry-After`, a cut JSON body or
a trickling body; calls are created and changed, phone numbers added and
released between pages). Runs `tap-contactship` as a user does (a
subprocess), sends it SIGTERM at a random moment and resumes it from the last
STATE it wrote, again and again; a run that finishes ends a sync, and the
next sync starts from its state in the other mode (RECORD, then BATCH). When
the time is up the runs are no longer killed; once the sync in progress
finished, the data stops changing and one last run picks up what was created
meanwhile. Then it checks:

- every call the API holds was delivered at least once, and nothing else;
- every finishing run delivered each full-table list exactly: no row twice,
  every row that existed for its whole duration, nothing that never existed;
- every run ended with 0, or 143 and one `tap-contactship: error:` line (a
  kill before the tap set up its handlers leaves no output and no line:
  counted apart);

and prints per run and in total: exit codes, peak RSS (of the child, from
`/proc`, polled), state size, call records emitted per distinct call (the cost of
resuming: within one sync, 1.00 means no call was read twice). Exits 1 if an invariant fails, never because of cost or time.

    python benchmarks/soak.py                       # 10 minutes
    python benchmarks/soak.py --minutes 30 --seed 7
    python benchmarks/soak.py --minutes 1 --calls 2000 --kill-after 2 6   # CI
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_contactship import (  # noqa: E402
    EPOCH,
    Chaos,
    FakeContactship,
    chaos,
    make_call,
)

TAP = Path(sys.executable).with_name("tap-contactship")
KEY = "soak-key-0000"
FULL_TABLE = ("phone_numbers", "agents", "contacts")
#: A run that takes longer than this is stuck: killed, and an invariant fails.
STUCK_SECONDS = 1800


@dataclass
class Run:
    """One tap process: how it ended and what it delivered."""

    number: int
    mode: str
    exit_code: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    killed: bool = False
    error_lines: list[str] = field(default_factory=list)
    state: dict[str, Any] | None = None
    state_bytes: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    full_table: dict[str, Counter[str]] = field(default_factory=dict)
    wrote_anything: bool = False

    @property
    def outcome(self) -> str:
        """`finished`, `interrupted`, `killed at start-up`, or what went wrong."""
        if self.exit_code == 0:
            return "finished"
        if self.exit_code == 143 and len(self.error_lines) == 1 and self.killed:
            return "interrupted"
        if self.exit_code == -signal.SIGTERM and self.killed and not self.error_lines:
            return "killed at start-up"
        lines = "; ".join(self.error_lines) or "no error line"
        return f"FAILED (exit {self.exit_code}: {lines})"


@dataclass
class Soak:
    """The fake API, the runs so far and the invariants that failed."""

    api: FakeContactship
    settings: Chaos
    work: Path
    page_size: int
    batch_size: int
    runs: list[Run] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: Per sync: call records its runs emitted, distinct calls among them.
    syncs: list[tuple[int, int]] = field(default_factory=list)

    def full_table_ids(self) -> dict[str, set[str]]:
        """The ids each full-table list holds now."""
        with self.api.lock:
            return {
                "phone_numbers": {r["id"] for r in self.api.phone_numbers},
                "agents": {r["id"] for r in self.api.agents},
                "contacts": {r["id"] for r in self.api.contacts},
            }

    def run(
        self, mode: str, state: dict[str, Any] | None, kill_at: float | None
    ) -> Run:
        """One tap run from `state`, sent SIGTERM `kill_at` seconds after start."""
        run = Run(number=len(self.runs) + 1, mode=mode)
        folder = self.work / f"run-{run.number}"
        folder.mkdir()
        config: dict[str, Any] = {
            "api_key": KEY,
            "api_url": self.api.url,
            "page_size": self.page_size,
            "progress_interval": 0,
        }
        if mode == "BATCH":
            config["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": str(folder / "batches")},
                "batch_size": self.batch_size,
            }
        (folder / "config.json").write_text(json.dumps(config))
        command = [str(TAP), "--config", str(folder / "config.json")]
        if state is not None:
            (folder / "state.json").write_text(json.dumps(state))
            command += ["--state", str(folder / "state.json")]
        stdout, stderr = folder / "stdout.jsonl", folder / "stderr.log"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            child = subprocess.Popen(command, stdout=out, stderr=err)
            started = time.monotonic()
            began = None
            while True:
                pid, status = os.waitpid(child.pid, os.WNOHANG)
                if pid:
                    break
                run.peak_rss_mb = max(run.peak_rss_mb, high_water_mb(child.pid))
                now = time.monotonic()
                if began is None and stdout.stat().st_size:
                    began = now
                if (
                    kill_at is not None
                    and began is not None
                    and not run.killed
                    and now - began >= kill_at
                ):
                    child.send_signal(signal.SIGTERM)
                    run.killed = True
                if now - started > STUCK_SECONDS:
                    child.kill()
                time.sleep(0.02)
        run.seconds = time.monotonic() - started
        run.exit_code = os.waitstatus_to_exitcode(status)
        run.error_lines = [
            line
            for line in stderr.read_text(errors="replace").splitlines()
            if line.startswith("tap-contactship: error:")
        ]
        read_messages(stdout, run)
        self.runs.append(run)
        return run

    def check_full_table(
        self, run: Run, before: dict[str, set[str]], after: dict[str, set[str]]
    ) -> None:
        """A finishing run: each row once, every lasting row, no invented row."""
        for stream in FULL_TABLE:
            got = run.full_table.get(stream, Counter())
            twice = sorted(i for i, n in got.items() if n > 1)
            lasting = before[stream] & after[stream]
            missing = lasting - set(got)
            invented = set(got) - (before[stream] | after[stream])
            for what, ids in (
                ("twice", twice),
                ("missing", missing),
                ("never in the API", invented),
            ):
                if ids:
                    self.failures.append(
                        f"run {run.number} ({run.mode}): {len(ids)} {stream} "
                        f"{what}, e.g. {sorted(ids)[:3]}"
                    )


def high_water_mb(pid: int) -> float:
    """The process's peak RSS so far (`VmHWM`), in MB; 0 once it is gone.

    Not `wait4`'s `ru_maxrss`: Linux carries the high-water mark over `exec`,
    so a child forked from this process (which holds the fake API's data)
    reports this process's size, not the tap's.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_messages(stdout: Path, run: Run) -> None:
    """Count what a run delivered: its RECORDs, its announced BATCH files."""
    with stdout.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            run.wrote_anything = True
            try:
                message = json.loads(line)
            except ValueError:  # a line cut by the kill: never a whole message
                continue
            kind, stream = message.get("type"), message.get("stream")
            if kind == "STATE":
                run.state = message["value"]
                run.state_bytes = len(json.dumps(message["value"]))
            elif kind == "RECORD":
                deliver(run, stream, [message["record"]])
            elif kind == "BATCH":
                deliver(run, stream, batch_rows(message))


def deliver(run: Run, stream: str, rows: list[dict[str, Any]]) -> None:
    """Count rows of one stream in a run."""
    if stream == "calls":
        run.calls.update(row["id"] for row in rows)
    elif stream in FULL_TABLE:
        run.full_table.setdefault(stream, Counter()).update(r["id"] for r in rows)


def batch_rows(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a BATCH message's files (deleted once read: disk is finite)."""
    rows = []
    for url in message["manifest"]:
        path = Path(unquote(urlparse(url).path))
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        rows += [json.loads(line) for line in data.decode().splitlines()]
        path.unlink()
    return rows


def organization(args: argparse.Namespace) -> FakeContactship:
    """The fake organization: `--calls` calls, `--calls-per-day` of them a day."""
    api = FakeContactship(api_key=KEY, phone_numbers=args.phone_numbers)
    api.seed(agents=3, contacts=args.contacts)
    spacing = timedelta(days=1) / args.calls_per_day
    api.calls = [make_call(n, created=EPOCH + spacing * n) for n in range(args.calls)]
    return api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.03)
    parser.add_argument(
        "--changes", type=float, default=0.05, help="share of requests after a change"
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--calls-per-day", type=float, default=3_300)
    parser.add_argument("--phone-numbers", type=int, default=500)
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument(
        "--kill-after",
        type=float,
        nargs=2,
        default=(3.0, 20.0),
        metavar=("MIN", "MAX"),
        help="seconds after its first message a run is sent SIGTERM (uniform)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=5_000,
        help="rows per BATCH file (the SDK's default, 10,000, is about the "
        "look-back here: a run killed before two files never gets further)",
    )
    parser.add_argument(
        "--modes", default="RECORD,BATCH", help="the syncs' modes, in turn"
    )
    args = parser.parse_args(argv)
    modes = args.modes.upper().split(",")
    draw = random.Random(args.seed)
    settings = Chaos(rate=args.fault_rate, seed=args.seed, changes=args.changes)

    with tempfile.TemporaryDirectory(prefix="soak-") as work, organization(args) as api:
        api.hooks.append(chaos(settings))
        soak = Soak(
            api=api,
            settings=settings,
            work=Path(work),
            page_size=args.page_size,
            batch_size=args.batch_size,
        )
        deadline = time.monotonic() + args.minutes * 60
        state: dict[str, Any] | None = None
        syncs = 0
        print(
            f"soak: {args.calls:,} calls, fault rate {args.fault_rate}, seed {args.seed}"
        )
        while True:
            mode = modes[syncs % len(modes)]
            syncs += 1
            first = len(soak.runs)
            while True:
                kill_at = None
                if time.monotonic() < deadline:
                    kill_at = draw.uniform(*args.kill_after)
                before = soak.full_table_ids()
                run = soak.run(mode, state, kill_at)
                report(run)
                state = run.state or state
                if run.outcome.startswith("FAILED"):
                    soak.failures.append(f"run {run.number} ({mode}): {run.outcome}")
                if run.exit_code == 0 or run.outcome.startswith("FAILED"):
                    break
            if run.exit_code == 0:
                soak.check_full_table(run, before, soak.full_table_ids())
            sync_calls: Counter[str] = Counter()
            for each in soak.runs[first:]:
                sync_calls.update(each.calls)
            soak.syncs.append((sum(sync_calls.values()), len(sync_calls)))
            if time.monotonic() >= deadline or soak.failures:
                break
        # The data stops changing: one last run collects what the last
        # sync could not have seen, and must list everything exactly.
        settings.changes = 0
        source = soak.full_table_ids()
        final = soak.run(modes[0], state, None)
        report(final)
        if final.exit_code != 0:
            soak.failures.append(f"the last run: {final.outcome}")
        soak.check_full_table(final, source, source)
        with api.lock:
            calls = {row["id"] for row in api.calls}
        summarize(soak, calls, args)
    for failure in soak.failures:
        print(f"INVARIANT FAILED: {failure}")
    return 1 if soak.failures else 0


def report(run: Run) -> None:
    """One line per run, as it ends."""
    print(
        f"run {run.number:>3} {run.mode:<6} {run.outcome:<18} after "
        f"{run.seconds:5.1f} s: {sum(run.calls.values()):>7,} call rows, "
        f"{run.peak_rss_mb:5.0f} MB peak, state {run.state_bytes} B",
        flush=True,
    )


def summarize(soak: Soak, calls: set[str], args: argparse.Namespace) -> None:
    """The union against the source; the figures, as a Markdown table."""
    delivered: Counter[str] = Counter()
    for run in soak.runs:
        delivered.update(run.calls)
    missing, invented = calls - set(delivered), set(delivered) - calls
    if missing:
        soak.failures.append(
            f"{len(missing)} calls never delivered, e.g. {sorted(missing)[:3]}"
        )
    if invented:
        soak.failures.append(
            f"{len(invented)} calls not in the API, e.g. {sorted(invented)[:3]}"
        )
    outcomes = Counter(run.outcome for run in soak.runs)
    peak = max(soak.runs, key=lambda run: run.peak_rss_mb)
    emitted = sum(delivered.values())
    print()
    print(
        f"| soak, {args.minutes:g} min, fault rate {args.fault_rate}, seed {args.seed} | |"
    )
    print("|---|---:|")
    for name, value in [
        ("runs", len(soak.runs)),
        ("syncs finished (RECORD/BATCH alternately)", outcomes["finished"]),
        ("interrupted: exit 143 and one line", outcomes["interrupted"]),
        (
            "killed before the tap's handlers (no output)",
            outcomes["killed at start-up"],
        ),
        (
            "failed otherwise",
            sum(n for o, n in outcomes.items() if o.startswith("FAIL")),
        ),
        ("calls in the API at the end", f"{len(calls):,}"),
        ("distinct calls delivered", f"{len(delivered):,}"),
        ("call records emitted", f"{emitted:,}"),
        (
            "call records emitted per distinct call, all syncs",
            f"{emitted / max(len(delivered), 1):.2f}",
        ),
        (
            "the same within each sync: resuming's cost (1.00: none)",
            per_sync(soak.syncs),
        ),
        (
            "peak RSS, largest run",
            f"{peak.peak_rss_mb:.0f} MB (run {peak.number}, {peak.mode}, {peak.outcome})",
        ),
        (
            "peak RSS, median run",
            f"{sorted(r.peak_rss_mb for r in soak.runs)[len(soak.runs) // 2]:.0f} MB",
        ),
        ("largest state", f"{max(r.state_bytes for r in soak.runs)} B"),
        ("requests served", f"{len(soak.api.requests):,}"),
        (
            "data changes",
            ", ".join(f"{n} {k}" for k, n in sorted(soak.settings.made.items())),
        ),
        ("invariants", "hold" if not soak.failures else f"{len(soak.failures)} FAILED"),
    ]:
        print(f"| {name} | {value} |")


def per_sync(syncs: list[tuple[int, int]]) -> str:
    """Median and worst of each sync's records per distinct call."""
    ratios = sorted(emitted / distinct for emitted, distinct in syncs if distinct)
    if not ratios:
        return "no sync delivered a call"
    return f"median {ratios[len(ratios) // 2]:.2f}, worst {ratios[-1]:.2f}"


if __name__ == "__main__":
    sys.exit(main())
