"""`--diagnose` the ways a user runs it: through Meltano and `scripts/sync.sh`."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import run_script

pytestmark = pytest.mark.e2e

SECRET = "sk-live-0e2e9d1a7c3b5f"


def assert_report(output: str, stdout: str, api) -> None:
    document = json.loads(stdout)
    assert document["requests"] == len(api.requests) <= 20
    assert document["streams"]["agents"]["envelope"] == "{statusCode, data}"
    assert document["streams"]["contacts"]["envelope"] == "bare array"
    assert document["streams"]["phone_numbers"]["count"] == "consistent"
    assert SECRET not in output
    assert api.phone_numbers[0]["phone_number"] not in output
    assert api.contacts[0]["email"] not in output


def test_meltano_invoke_diagnose_writes_the_report(meltano, api):
    api.api_key = SECRET

    result = meltano(
        "invoke",
        "tap-contactship",
        "--diagnose",
        "--format=json",
        TAP_CONTACTSHIP_API_URL=api.url,
        TAP_CONTACTSHIP_API_KEY=SECRET,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "| phone_numbers | envelope | {data, count} | read as is |" in result.stderr
    assert_report(result.stdout + result.stderr, result.stdout, api)


def test_sync_script_diagnose_loads_nothing(installed_meltano, api, tmp_path):
    api.api_key = SECRET
    warehouse = tmp_path / "warehouse.duckdb"

    result = run_script(
        "sync.sh",
        "--diagnose",
        "--format=json",
        TAP_CONTACTSHIP_API_KEY=SECRET,
        TAP_CONTACTSHIP_API_URL=api.url,
        TARGET_DUCKDB_FILEPATH=str(warehouse),
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path}/meltano.db",
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert_report(result.stdout + result.stderr, result.stdout, api)
    assert not warehouse.exists()
