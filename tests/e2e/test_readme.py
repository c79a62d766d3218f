"""Every command the README and docs/ show, exactly as written, in a fresh clone.

The commands run one after another in one shell, as a reader would type them,
in a copy of the files git tracks (what a clone holds: no `.venv`, no
`output/` contents). Only the environment is provided: the key and URL of the
project's fake API, the PostgreSQL the suite starts, and what CI installed
once for every test: Meltano on PATH, its plugins and the Dagster venv linked
in. So this test checks the commands, not pip. A command is never rewritten;
the few it skips `.ci/run` runs as written, on its own fresh clone.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.documentation import commands, queries
from tests.e2e.conftest import (
    ROOT,
    copy_of_the_project,
    duckdb_rows,
    link_installed_plugins,
    psql,
)
from tests.fake_contactship import DEFAULT_KEY, FakeContactship

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

#: Run by `.ci/run` itself, as written, in CI's fresh clone: `bash .ci/run`
#: (here it would run this very test again), the fast suite, and the Dagster
#: venv this test links in.
NOT_RUN_HERE = {
    "bash .ci/run",
    '.venv/bin/pytest -m "not e2e" -q',
    "python3 -m venv .venv-dagster && .venv-dagster/bin/pip install -q -e orchestrate/",
}
MARK = "::readme-command::"


def test_the_readme_is_parsed_into_commands():
    shown = commands()

    assert shown[:2] == ["bash scripts/sync.sh", "bash .ci/run"]
    assert "meltano run tap-contactship target-duckdb" in shown
    assert len(shown) >= 15


def test_every_command_skipped_here_is_in_the_readme_and_run_by_ci():
    shown = commands()
    ci = (ROOT / ".ci/run").read_text()

    for command in NOT_RUN_HERE:
        assert command in shown, command
        assert command == "bash .ci/run" or command in ci, command


@pytest.fixture
def fresh_clone(tmp_path: Path, installed_meltano: str) -> Path:
    clone = copy_of_the_project(tmp_path / "tap-contactship")
    link_installed_plugins(clone / ".meltano")
    if (ROOT / ".venv-dagster").exists():
        (clone / ".venv-dagster").symlink_to(ROOT / ".venv-dagster")
    return clone


@pytest.fixture
def org() -> Iterator[FakeContactship]:
    with FakeContactship(phone_numbers=120) as fake:
        fake.seed(calls=200, agents=3, contacts=40)
        yield fake


def test_every_readme_command_runs_as_written_in_a_fresh_clone(
    installed_meltano, fresh_clone, org, postgres
):
    to_run = [c for c in commands(fresh_clone) if c not in NOT_RUN_HERE]
    script = "set -euo pipefail\n" + "".join(
        f"echo {shlex.quote(MARK + c)} >&2\n{c}\n" for c in to_run
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_CONTACTSHIP_", "TARGET_", "MELTANO_"))
    }
    environment.update(
        PATH=f"{Path(installed_meltano).parent}:{environment['PATH']}",
        TAP_CONTACTSHIP_API_KEY=DEFAULT_KEY,
        TAP_CONTACTSHIP_API_URL=org.url,
        TARGET_POSTGRES_HOST=postgres["host"],
        TARGET_POSTGRES_PORT=postgres["port"],
        TARGET_POSTGRES_USER=postgres["user"],
        TARGET_POSTGRES_DATABASE=postgres["database"],
        TARGET_POSTGRES_PASSWORD="trust-auth-ignores-it",  # noqa: S106
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA="readme",
        MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
        MELTANO_CLI_DISABLE_VERSION_CHECK="true",
        CONTACTSHIP_PROPERTY_EXAMPLES="3",
    )

    result = subprocess.run(
        ["bash", "-c", script],
        cwd=fresh_clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )

    ran = [
        line[len(MARK) :]
        for line in result.stderr.splitlines()
        if line.startswith(MARK)
    ]
    assert result.returncode == 0, (
        f"README command failed: {ran[-1] if ran else '?'}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert ran == to_run
    assert "Traceback" not in result.stderr

    # What the commands said they would do, they did.
    warehouse = fresh_clone / "output/warehouse.duckdb"
    assert duckdb_rows(
        warehouse, "select count(*), count(distinct id) from contactship.calls"
    ) == [[200, 200]]
    assert psql(postgres, "select count(*) from readme.phone_numbers") == [["120"]]
    messages = (fresh_clone / "output/messages.jsonl").read_text().splitlines()
    # Each stream's rows, and one `whole_reads` row per full-table list.
    assert sum('"type":"RECORD"' in m for m in messages) == 120 + 200 + 3 + 40 + 3
    assert (fresh_clone / ".env").read_text().count("TAP_CONTACTSHIP_API_KEY") == 1

    # And every example query runs on the analytics tables the commands built.
    examples = queries(fresh_clone)
    assert len(examples) >= 4
    for query in examples:
        duckdb_rows(warehouse, query)
    assert duckdb_rows(warehouse, "select count(*) from analytics.fct_calls") == [[200]]


#: `call_status` values the API reference documents.
DOCUMENTED_STATUSES = {
    "in-progress",
    "completed",
    "no-answer",
    "failed",
    "in-queue",
    "incomplete",
    "busy",
    "answering-machine",
    "scheduled",
    "voice_mail",
}


def test_the_demo_answers_every_readme_query(installed_meltano, tmp_path):
    clone = copy_of_the_project(tmp_path / "tap-contactship")
    link_installed_plugins(clone / ".meltano")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_CONTACTSHIP_", "TARGET_", "MELTANO_", "DBT_"))
    }
    environment["PATH"] = f"{Path(installed_meltano).parent}:{environment['PATH']}"

    demo = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=clone,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert demo.returncode == 0, demo.stderr[-3000:]
    warehouse = clone / "output/demo/warehouse.duckdb"
    examples = queries(clone)
    assert len(examples) >= 8
    empty = [query for query in examples if not duckdb_rows(warehouse, query)]
    assert empty == [], "\n\n".join(empty)
    statuses = duckdb_rows(
        warehouse, "select distinct call_status from analytics.fct_calls"
    )
    assert {status for (status,) in statuses} == DOCUMENTED_STATUSES
    # The API's `from` on an inbound call is the caller's number, never ours.
    assert duckdb_rows(
        warehouse,
        "select count(*) from analytics.phone_number_usage "
        "where number_type = 'inbound' and outbound_calls > 0",
    ) == [[0]]
    assert duckdb_rows(
        warehouse,
        "select count(*) = count(distinct call_id) * 4 "
        "from analytics.call_transcript_turns",
    ) == [[True]]
