"""The benchmark runs end to end at tiny sizes; its timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_benchmark_smoke_run_prints_the_table():
    result = run_benchmark("benchmarks/run.py", "--smoke")

    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    # The header, three cases (two RECORD, one BATCH) and the writers' comparison.
    assert len(rows) == 1 + 4
    record, _, batch, _ = rows[1:]
    cells = [cell.strip() for cell in record.split("|")]
    assert cells[6].endswith(" s") and cells[7].endswith(" s"), record  # SDK loop
    assert batch.startswith("| BATCH: "), batch


def test_sdk_floor_prints_each_shape():
    result = run_benchmark("benchmarks/sdk_floor.py", "--rows", "500")

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split("|")[0].strip() for line in lines[1:]] == [
        "phone_numbers",
        "calls",
        "calls with transcripts",
    ]
