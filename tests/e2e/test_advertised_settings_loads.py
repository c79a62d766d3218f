"""Issue 27 through real loaders: flattening and stream maps as a user sets them.

`meltano run` with flattening into a file loader (target-jsonl) and into
target-postgres, and stream maps in BATCH mode through target-postgres: the
columns the SCHEMA announces hold the values the API sent, nothing dropped.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import batch_config, emitted
from tests.e2e.conftest import Meltano, psql
from tests.e2e.test_production import pg_env
from tests.fake_contactship import FakeContactship

pytestmark = pytest.mark.e2e

FLATTENED = {
    "TAP_CONTACTSHIP_FLATTENING_ENABLED": "true",
    "TAP_CONTACTSHIP_FLATTENING_MAX_DEPTH": "1",
}


def seeded(api: FakeContactship) -> dict[str, str]:
    api.seed(calls=60, agents=2, contacts=5)
    return {"TAP_CONTACTSHIP_API_URL": api.url}


def test_flattened_calls_land_whole_in_a_file_loader(
    meltano: Meltano, api: FakeContactship, tmp_path
):
    env = {
        **seeded(api),
        **FLATTENED,
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "out"),
    }
    (tmp_path / "out").mkdir()
    meltano.run("--state-id-suffix=flat", "tap-contactship", "target-jsonl", **env)

    lines = (tmp_path / "out" / "calls.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == [c["id"] for c in api.calls]
    for row, call in zip(rows, emitted(api.calls), strict=True):
        assert json.loads(row["contact"]) == call["contact"]
        assert json.loads(row["call_analysis"]) == call["call_analysis"]
        assert not [k for k in row if k.startswith(("contact__", "call_analysis__"))]


@pytest.mark.postgres
def test_flattened_calls_land_whole_in_postgres(
    meltano: Meltano, api: FakeContactship, postgres
):
    env = {**seeded(api), **FLATTENED, **pg_env(postgres, "contactship_flat")}

    meltano.run("--state-id-suffix=flat", "tap-contactship", "target-postgres", **env)

    rows = psql(
        postgres,
        "select id, contact, call_analysis from contactship_flat.calls order by id",
    )
    expected = sorted(api.calls, key=lambda c: c["id"])
    assert [r[0] for r in rows] == [c["id"] for c in expected]
    for (_, contact, analysis), call in zip(rows, expected, strict=True):
        assert json.loads(contact) == call["contact"]
        assert json.loads(analysis) == call["call_analysis"]


@pytest.mark.postgres
def test_stream_maps_apply_to_batch_files_loaded_into_postgres(
    meltano: Meltano, api: FakeContactship, postgres, tmp_path
):
    maps = {
        "calls": {
            "contact": "__NULL__",
            "from": "md5(record['from'])",
            "__filter__": "record['call_status'] == 'completed'",
        }
    }
    env = {
        **seeded(api),
        "TAP_CONTACTSHIP_STREAM_MAPS": json.dumps(maps),
        "TAP_CONTACTSHIP_BATCH_CONFIG": json.dumps(
            batch_config(tmp_path / "my batches", "gzip", size=10)
        ),
        **pg_env(postgres, "contactship_mapped"),
    }

    meltano.run("--state-id-suffix=mapped", "tap-contactship", "target-postgres", **env)

    columns = {
        c[0]
        for c in psql(
            postgres,
            "select column_name from information_schema.columns where "
            "table_schema = 'contactship_mapped' and table_name = 'calls'",
        )
    }
    assert "contact" not in columns
    rows = psql(postgres, 'select id, "from" from contactship_mapped.calls order by id')
    completed = sorted(
        (c for c in api.calls if c["call_status"] == "completed"), key=lambda c: c["id"]
    )
    assert rows == [
        [c["id"], hashlib.md5(c["from"].encode()).hexdigest()]  # noqa: S324
        for c in completed
    ]
