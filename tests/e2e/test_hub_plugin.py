"""The plugin definitions in hub/, added to a fresh `meltano init` project.

What someone does in their own project: `meltano add --from-ref` the tap and
the DuckDB loader (whose duckdb pin keeps every row), install, run. Offline:
the tap's git URL is swapped for a clone of this repository on disk; nothing
else of the definition changes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, copy_of_the_project, duckdb_rows
from tests.fake_contactship import DEFAULT_KEY

pytestmark = [pytest.mark.e2e]

TABLES = ("phone_numbers", "calls", "agents", "contacts")


def test_a_fresh_project_adds_the_plugins_by_file_and_loads_every_row(
    installed_meltano, api, tmp_path
):
    clone = copy_of_the_project(tmp_path / "tap-contactship")
    tap = tmp_path / "tap-contactship.yml"
    tap.write_text(
        "".join(
            f"pip_url: {clone}\n" if line.startswith("pip_url:") else line
            for line in (ROOT / "hub/extractors/tap-contactship.yml")
            .read_text()
            .splitlines(keepends=True)
        )
    )
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_CONTACTSHIP_", "TARGET_", "MELTANO_", "DBT_"))
        },
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "TAP_CONTACTSHIP_API_KEY": DEFAULT_KEY,
        "TAP_CONTACTSHIP_API_URL": api.url,
    }
    project = tmp_path / "my-project"

    def meltano(*args: str, cwd: Path = project) -> str:
        """What it printed: `config`'s answer on stdout, a run's log on stderr."""
        done = subprocess.run(
            [installed_meltano, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (args, done.stderr[-3000:])
        return done.stdout if args[0] == "config" else done.stderr

    meltano("init", "--no-usage-stats", str(project), cwd=tmp_path)
    meltano(
        "add", "--no-install", "extractor", "tap-contactship", "--from-ref", str(tap)
    )
    loader = str(ROOT / "hub/loaders/target-duckdb.yml")
    meltano("add", "--no-install", "loader", "target-duckdb", "--from-ref", loader)
    meltano("config", "set", "tap-contactship", "_load_schema", "contactship")

    # The settings, with their defaults, are this project's.
    for plugin in ("tap-contactship", "target-duckdb"):
        theirs = meltano("config", "print", "--format=json", plugin)
        ours = meltano("config", "print", "--format=json", plugin, cwd=clone)
        assert json.loads(theirs.replace(str(project), "<root>")) == json.loads(
            ours.replace(str(clone), "<root>")
        ), plugin

    meltano("install")
    ran = meltano("run", "tap-contactship", "target-duckdb")

    assert "unknown variable" not in ran and "unknown setting" not in ran
    warehouse = project / "output/warehouse.duckdb"
    for table in TABLES:
        expected = len(getattr(api, table))
        assert duckdb_rows(
            warehouse, f"select count(*), count(distinct id) from contactship.{table}"
        ) == [[expected, expected]], table
