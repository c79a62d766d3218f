"""The benchmark runs end to end at tiny sizes; its timings are never asserted."""

from __future__ import annotations

from tests.conftest import run_benchmark, table_rows


def test_benchmark_smoke_run_prints_the_table():
    rows = table_rows(run_benchmark("benchmarks/run.py", "--smoke"))

    # The header, three cases (two RECORD, one BATCH) and the writers' comparison.
    assert len(rows) == 1 + 4
    record, _, batch, _ = rows[1:]
    cells = [cell.strip() for cell in record.split("|")]
    assert cells[6].endswith(" s") and cells[7].endswith(" s"), record  # SDK loop
    assert batch.startswith("| BATCH: "), batch


def test_sdk_floor_prints_each_shape():
    lines = run_benchmark("benchmarks/sdk_floor.py", "--rows", "500")

    assert [line.split("|")[0].strip() for line in lines[1:]] == [
        "phone_numbers",
        "calls",
        "calls with transcripts",
    ]
