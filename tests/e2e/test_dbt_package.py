"""`transform/` as a dbt package in someone else's dbt project.

A fresh dbt project of the user's own, in a temporary folder, installs the
package from disk (`packages.yml`, `local:`, offline) and builds it with its
own model on top, against raw tables a real `meltano run` loaded from the fake
API. Their warehouse is a DuckDB file of their own; the raw one is attached
as database `raw`, which the package's variables name, as they would a raw
database elsewhere. Their `generate_schema_name` decides where the package's
models land, and with none, dbt's default does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Meltano

pytestmark = [pytest.mark.e2e]

DBT = ROOT / ".meltano/transformers/dbt-duckdb/venv/bin/dbt"
#: A file dbt-duckdb creates has its DuckDB's storage format, which the
#: loader's pinned duckdb cannot open: read it with dbt-duckdb's own.
DBT_PYTHON = DBT.parent / "python"
MARTS = (
    "fct_calls",
    "dim_agents",
    "agent_daily_performance",
    "campaign_performance",
    "call_outcomes",
    "call_transcript_turns",
    "contact_outreach",
    "phone_number_usage",
)

THEIR_NAMING = """\
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- else -%}theirs__{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
"""


def their_project(folder: Path, raw_warehouse: Path, *, naming: bool) -> Path:
    """A dbt project as a user writes one, with the package listed."""
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        "name: their_analytics\n"
        "version: '1.0.0'\n"
        "config-version: 2\n"
        "profile: their_analytics\n"
        "vars:\n"
        "  contactship:\n"
        "    contactship_database: raw\n"
        "    contactship_schemas: [contactship]\n"
    )
    (folder / "packages.yml").write_text(
        f"packages:\n  - local: {ROOT / 'transform'}\n"
    )
    (folder / "profiles.yml").write_text(
        "their_analytics:\n"
        "  target: dev\n"
        "  outputs:\n"
        "    dev:\n"
        "      type: duckdb\n"
        f"      path: {folder / 'theirs.duckdb'}\n"
        "      schema: main\n"
        "      threads: 1\n"
        f"      attach: [{{path: {raw_warehouse}, alias: raw, read_only: true}}]\n"
    )
    (folder / "models/calls_per_agent.sql").write_text(
        "select agent_name, count(*) as calls from {{ ref('fct_calls') }} group by 1\n"
    )
    if naming:
        (folder / "macros").mkdir()
        (folder / "macros/generate_schema_name.sql").write_text(THEIR_NAMING)
    return folder


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_CONTACTSHIP_", "TARGET_", "DBT_", "MELTANO_"))
    }
    environment["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def rows(path: Path, query: str) -> list[list[Any]]:
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps(con.sql(sys.argv[2]).fetchall(), default=str))\n"
    )
    out = subprocess.run(
        [str(DBT_PYTHON), "-c", script, str(path), query],
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[list[Any]] = json.loads(out.stdout)
    return found


def model_schemas(project: Path) -> dict[str, str]:
    """Each model's schema as dbt planned it (`dbt parse`'s manifest)."""
    manifest = json.loads((project / "target/manifest.json").read_text())
    return {
        node["name"]: node["schema"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def test_their_dbt_project_builds_the_package_where_their_naming_says(
    meltano: Meltano, api, tmp_path
):
    meltano.run(
        "tap-contactship",
        "target-duckdb",
        TAP_CONTACTSHIP_API_URL=api.url,
        TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS="true",
    )
    raw = meltano.workdir / "warehouse.duckdb"
    project = their_project(tmp_path / "their-project", raw, naming=True)

    installed = dbt(project, "deps")
    assert installed.returncode == 0, installed.stdout[-3000:]
    built = dbt(project, "build")
    assert built.returncode == 0, built.stdout[-3000:]

    theirs = project / "theirs.duckdb"
    schemas = rows(
        theirs,
        "select distinct table_schema from information_schema.tables "
        "where table_catalog = 'theirs' order by 1",
    )
    assert schemas == [["main"], ["theirs__analytics"], ["theirs__staging"]]
    for mart in MARTS:
        assert rows(theirs, f"select count(*) > 0 from theirs__analytics.{mart}")
    assert rows(
        theirs,
        "select count(*), count(distinct call_id) from theirs__analytics.fct_calls",
    ) == [[len(api.calls), len(api.calls)]]
    assert rows(theirs, "select sum(calls) from main.calls_per_agent") == [
        [len(api.calls)]
    ]

    # Without a naming macro of their own, dbt's default names the schemas.
    plain = their_project(tmp_path / "plain-project", raw, naming=False)
    assert dbt(plain, "deps").returncode == 0
    parsed = dbt(plain, "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    planned = model_schemas(plain)
    assert planned["fct_calls"] == "main_analytics"
    assert planned["stg_contactship__calls"] == "main_staging"
    assert planned["calls_per_agent"] == "main"
