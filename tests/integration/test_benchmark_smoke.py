"""The benchmark runs end to end at tiny sizes; its timings are never asserted."""

from __future__ import annotations

import json

from tests.conftest import run_benchmark, table_rows


def test_benchmark_smoke_run_prints_the_table(tmp_path):
    results = tmp_path / "results.json"
    lines = run_benchmark(
        "benchmarks/run.py", "--smoke", "--set", "page_size=50", "--json", str(results)
    )
    rows = table_rows(lines)

    # The header, three cases (two RECORD, one BATCH) and the writers' comparison.
    assert len(rows) == 1 + 4
    record, _, batch, _ = rows[1:]
    cells = [cell.strip() for cell in record.split("|")]
    assert cells[6].endswith(" s") and cells[7].endswith(" s"), record  # SDK loop
    assert batch.startswith("| BATCH: "), batch
    # `--set` reaches every case, the writers' included: pages of 50 rows, where
    # the cases' own page size of 100 would take half as many requests.
    measured = json.loads(results.read_text())
    assert [r["case"] for r in measured] == [
        row.split(" | ")[0][2:] for row in rows[1:]
    ]
    for result in measured:
        assert result["tap_requests"] >= result["rows"] / 50, result


def test_sdk_floor_prints_each_shape():
    lines = run_benchmark("benchmarks/sdk_floor.py", "--rows", "500")

    assert [line.split("|")[0].strip() for line in lines[1:]] == [
        "phone_numbers",
        "calls",
        "calls with transcripts",
    ]
