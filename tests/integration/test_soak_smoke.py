"""The soak (`benchmarks/soak.py`) for one minute: kills, resumes, its checks.

Costs about 75 s of one core in CI. The 30-minute run is by hand (docs).
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

from tests.conftest import run_benchmark, table_rows

ROOT = Path(__file__).resolve().parents[2]


def soak_module():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks/soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module
    spec.loader.exec_module(module)
    return module


def test_a_minute_of_kills_and_faults_loses_no_call():
    lines = run_benchmark(
        "benchmarks/soak.py",
        *("--minutes", "1", "--calls", "1500", "--kill-after", "0.5", "2.5"),
        *("--fault-rate", "0.1", "--changes", "0.2"),
    )
    figures = {
        row.split("|")[1].strip(): row.split("|")[2].strip()
        for row in table_rows(lines)[2:]
    }

    assert figures["invariants"] == "hold", lines
    assert figures["failed otherwise"] == "0"
    assert int(figures["interrupted: exit 143 and one line"]) >= 1, lines
    assert int(figures["syncs finished (RECORD/BATCH alternately)"]) >= 2, lines
    assert figures["distinct calls delivered"] == figures["calls in the API at the end"]
    runs = [line for line in lines if line.startswith("run ")]
    assert {"RECORD", "BATCH"} <= {line.split()[2] for line in runs}


def test_the_checks_catch_a_row_twice_a_lost_row_and_an_invented_one():
    soak = soak_module()
    checker = soak.Soak(api=None, settings=None, work=ROOT, page_size=10, batch_size=10)
    run = soak.Run(number=1, mode="RECORD")
    run.full_table = {
        "phone_numbers": Counter({"a": 2, "b": 1, "x": 1}),
        "agents": Counter({"g": 1}),
        "contacts": Counter(),
    }
    before = {"phone_numbers": {"a", "b", "c", "d"}, "agents": {"g"}, "contacts": set()}
    after = {"phone_numbers": {"a", "b", "c"}, "agents": {"g"}, "contacts": set()}

    checker.check_full_table(run, before, after)

    assert len(checker.failures) == 3, checker.failures
    twice, missing, invented = checker.failures
    assert "1 phone_numbers twice" in twice and "'a'" in twice
    assert "1 phone_numbers missing" in missing and "'c'" in missing  # d was released
    assert "never in the API" in invented and "'x'" in invented
