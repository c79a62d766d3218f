"""`meltano config set` on any plugin changes only the lines it sets.

Meltano rewrites every project file it loads in its own layout, expanding YAML
anchors; `meltano.yml` and the organization files are kept in that layout, so
a setting costs a line or two of diff instead of hundreds.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import Meltano, copy_of_the_project

pytestmark = [pytest.mark.e2e]

#: One setting of every plugin, as the README's `meltano config set` lines do.
EDITS = {
    "tap-contactship": ("page_size", "50"),
    "tap-contactship--acme": ("api_url", "https://acme.example"),
    "target-duckdb": ("hard_delete", "true"),
    "target-jsonl": ("do_timestamp_file", "true"),
    "target-postgres": ("host", "db.example"),
    "target-snowflake": ("role", "LOADER"),
    "target-bigquery": ("location", "EU"),
    "dbt-duckdb": ("target", "duckdb_ci"),
    "dbt-postgres": ("target", "postgres_ci"),
    "dbt-snowflake": ("target", "snowflake_ci"),
    "dbt-bigquery": ("target", "bigquery_ci"),
}


def changed_lines(before: dict[Path, str], project: Path) -> dict[str, int]:
    changes = {}
    for path, text in before.items():
        diff = difflib.unified_diff(
            text.splitlines(), path.read_text().splitlines(), n=0, lineterm=""
        )
        count = sum(
            line[:1] in "+-" and line[:3] not in {"+++", "---"} for line in diff
        )
        if count:
            changes[str(path.relative_to(project))] = count
    return changes


def test_config_set_on_every_plugin_changes_a_few_lines(installed_meltano, tmp_path):
    project = copy_of_the_project(tmp_path / "project")
    (project / "organizations/acme.meltano.yml").write_text(
        (project / "organizations/example.meltano.yml.sample").read_text()
    )
    declared = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]
    assert set(EDITS) == {
        "tap-contactship--acme",
        *(plugin["name"] for plugins in declared.values() for plugin in plugins),
    }
    meltano = Meltano(installed_meltano, tmp_path, project=project)
    files = [project / "meltano.yml", project / "organizations/acme.meltano.yml"]

    for plugin, (setting, value) in EDITS.items():
        before = {path: path.read_text() for path in files}
        done = meltano("config", "set", plugin, setting, value)
        assert done.returncode == 0, done.stderr[-2000:]

        changes = changed_lines(before, project)
        assert len(changes) == 1, (plugin, changes)
        assert sum(changes.values()) <= 2, (plugin, changes)

    # A key goes to `.env`, not into any project file.
    before = {path: path.read_text() for path in files}
    done = meltano("config", "set", "tap-contactship--acme", "api_key", "acme-key")
    assert done.returncode == 0, done.stderr[-2000:]
    assert changed_lines(before, project) == {}
    assert "TAP_CONTACTSHIP__ACME_API_KEY='acme-key'" in (project / ".env").read_text()
