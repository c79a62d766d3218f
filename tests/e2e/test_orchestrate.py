"""The Dagster code location (`orchestrate/`): three clients, one with a bad key.

Dagster lives in its own venv (`.venv-dagster`, which `.ci/run` installs), so
its jobs run through `tests/orchestrate/run_clients.py` under that venv's
Python; the rows are read back here from PostgreSQL, where Meltano also
keeps its state (one system database every worker shares).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import ROOT, duckdb_rows, psql, unavailable
from tests.fake_contactship import FakeContactship, make_call

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DAGSTER_PYTHON = ROOT / ".venv-dagster/bin/python"
GOOD = ("acme", "globex")
KEYS = {
    "acme": "acme-key-0001",
    "globex": "globex-key-0002",
    "initech": "initech-key-3",
}


def dagster_python() -> Path:
    if not DAGSTER_PYTHON.exists():
        unavailable("Dagster is not installed (bash .ci/run installs .venv-dagster)")
    return DAGSTER_PYTHON


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, FakeContactship]]:
    with (
        FakeContactship(api_key=KEYS["acme"], phone_numbers=40) as acme,
        FakeContactship(api_key=KEYS["globex"], phone_numbers=25) as globex,
        # Its key in the environment is not the one this API accepts.
        FakeContactship(api_key="initech-real-key") as initech,
    ):
        acme.seed(calls=120, agents=3, contacts=30)
        globex.seed(calls=75, agents=2, contacts=12)
        yield {"acme": acme, "globex": globex, "initech": initech}


@pytest.fixture(scope="module")
def warehouse(postgres) -> dict[str, str]:
    """A database of its own: other tests' marts in the shared one would be
    merged into the incremental `fct_calls` this build makes."""
    psql(postgres, "drop database if exists orchestrated")
    psql(postgres, "create database orchestrated")
    return {**postgres, "database": "orchestrated"}


@pytest.fixture(scope="module")
def dagster(
    clients, postgres, warehouse, tmp_path_factory
) -> Callable[..., dict[str, Any]]:
    """Run the code location's jobs against these clients; their results."""
    python = dagster_python()
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copy(ROOT / "orchestrate/home/dagster.yaml", home)
    organizations = home / "organizations.yml"
    organizations.write_text(
        json.dumps(
            {
                "organizations": [
                    {
                        "name": name,
                        "schema": f"contactship_{name}",
                        "key_env": f"TEST_KEY_{name.upper()}",
                        "api_url": api.url,
                    }
                    for name, api in clients.items()
                ]
            }
        )
    )
    psql(postgres, "drop database if exists dagster_meltano")
    psql(postgres, "create database dagster_meltano")
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAP_", "TARGET_", "MELTANO_", "DBT_", "DAGSTER_"))
        },
        "DAGSTER_HOME": str(home),
        "CONTACTSHIP_ORGANIZATIONS": str(organizations),
        "CONTACTSHIP_DBT_TARGET_PATH": str(home / "dbt"),
        "CONTACTSHIP_RETRIES": "2",
        "CONTACTSHIP_RETRY_DELAY": "0.1",
        "MELTANO_DATABASE_URI": (
            f"postgresql+psycopg://{postgres['user']}@{postgres['host']}:"
            f"{postgres['port']}/dagster_meltano"
        ),
        **{f"TEST_KEY_{name.upper()}": key for name, key in KEYS.items()},
        **{f"TARGET_POSTGRES_{k.upper()}": v for k, v in warehouse.items()},
        "TARGET_POSTGRES_PASSWORD": "unused",
    }

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(python), str(ROOT / "tests/orchestrate/run_clients.py"), *args],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        results: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
        return results

    return run


def counts(postgres, schema: str, table: str) -> list[int]:
    query = f"select count(*), count(distinct id) from {schema}.{table}"
    return [int(n) for n in psql(postgres, query)[0]]


def check_loaded(postgres, clients) -> None:
    for name in GOOD:
        api = clients[name]
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            expected = len(getattr(api, table))
            assert counts(postgres, f"contactship_{name}", table) == [expected] * 2, (
                name,
                table,
            )


def check_results(results: dict[str, Any]) -> None:
    for name in GOOD:
        assert results[name]["success"], "\n".join(map(str, results[name]["log"]))
        assert results[name]["failures"] == []
        assert len(results[name]["materialized"]) == 5  # with whole_reads
    initech = results["initech"]
    assert not initech["success"]
    (failure,) = initech["failures"]
    # The tap's own line, and no retry: a rejected key stays rejected.
    assert failure == (
        "initech: the Contactship API rejected the API key (401 Unauthorized); "
        "check TEST_KEY_INITECH (this client's API key)"
    ), failure
    assert initech["retries"] == 0
    for result in results.values():
        for key in KEYS.values():
            assert all(key not in text for text in result["log"] if text)


def test_each_client_loads_alone_then_incrementally_then_dbt_builds(
    dagster, clients, warehouse
):
    first = dagster("inprocess", "acme", "globex", "initech")

    check_results(first)
    check_loaded(warehouse, clients)
    for name in GOOD:
        # Counted once: by the loader (target-postgres), not also by the tap.
        assert first[name]["rows synced"] == {
            **{
                f"contactship_raw/{table}": len(getattr(clients[name], table))
                for table in ("phone_numbers", "calls", "agents", "contacts")
            },
            # One row per full-table list read whole.
            "contactship_raw/whole_reads": 3,
        }
    # The loader may have created a table from the first SCHEMA message.
    for (table,) in psql(
        warehouse,
        "select table_name from information_schema.tables "
        "where table_schema = 'contactship_initech'",
    ):
        assert counts(warehouse, "contactship_initech", table) == [0, 0]

    for api in clients.values():
        api.calls.extend(make_call(len(api.calls) + n) for n in range(7))
    asked = {name: len(clients[name].data_requests("/v1/calls")) for name in GOOD}
    second = dagster("multiprocess", "acme", "globex", "initech")

    check_results(second)
    check_loaded(warehouse, clients)
    for name in GOOD:
        # Incremental: from the bookmark Meltano kept in PostgreSQL.
        new = clients[name].data_requests("/v1/calls")[asked[name] :]
        assert new and all("date_from" in seen.params for seen in new), name

    built = dagster("transform")

    assert built["transform"]["success"], built["transform"]["failures"]
    per_client = psql(
        warehouse,
        "select source_relation, count(*), count(distinct call_id) "
        "from analytics.fct_calls group by 1 order by 1",
    )
    assert per_client == [
        [f"contactship_{name}", *[str(len(clients[name].calls))] * 2] for name in GOOD
    ]


WORKSPACE = """
{
  workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
  } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name cronSchedule }
    sensors { name }
    jobs { name }
    assetNodes { assetKey { path } groupName isPartitioned partitionKeys }
  } } }
}
"""


def png_colors(data: bytes) -> int:
    """Distinct colours in an 8-bit RGB(A) PNG (Chromium's screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height = (
        int.from_bytes(header[:4], "big"),
        int.from_bytes(header[4:8], "big"),
    )
    assert header[8] == 8 and header[9] in (2, 6), "8-bit RGB or RGBA"
    size = 3 if header[9] == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * size
    previous, colours = bytearray(stride), set[bytes]()
    for row in range(height):
        filter_type, line = (
            raw[row * (stride + 1)],
            bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 255
            elif filter_type == 2:
                line[i] = (line[i] + up) & 255
            elif filter_type == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif filter_type == 4:
                estimate = left + up - corner
                nearest = min(
                    (abs(estimate - left), 0, left),
                    (abs(estimate - up), 1, up),
                    (abs(estimate - corner), 2, corner),
                )[2]
                line[i] = (line[i] + nearest) & 255
        if row % 10 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, size * 5))
        previous = line
    return len(colours)


def graphql(url: str, query: str) -> dict[str, Any]:
    """The web server's answer to `query`, once it is up (at most 2 minutes)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                break
        except OSError:
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.5)
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        data: dict[str, Any] = json.load(response)["data"]
    return data


def test_the_web_server_shows_the_code_location_and_the_asset_graph(tmp_path):
    python = dagster_python()
    home = tmp_path / "home"
    (home / ".nux").mkdir(parents=True)
    shutil.copy(ROOT / "orchestrate/home/dagster.yaml", home)
    # The community sign-up dialog would cover the graph.
    (home / ".nux/nux.yaml").write_text("seen: 1\n")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")},
        "DAGSTER_HOME": str(home),
        "CONTACTSHIP_DBT_TARGET_PATH": str(tmp_path / "dbt"),
    }
    server = subprocess.Popen(
        [
            str(python.with_name("dagster-webserver")),
            *("-h", "127.0.0.1", "-p", str(port)),
            *("-m", "contactship_orchestrate.definitions"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        data = graphql(url, WORKSPACE)

        (entry,) = data["workspaceOrError"]["locationEntries"]
        assert entry["loadStatus"] == "LOADED"
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        (repository,) = data["repositoriesOrError"]["nodes"]
        assert repository["schedules"] == [
            {"name": "hourly_loads", "cronSchedule": "0 * * * *"}
        ]
        assert repository["sensors"] == [{"name": "transform_after_loads"}]
        assert {"load_client", "transform"} <= {j["name"] for j in repository["jobs"]}
        nodes = {"/".join(n["assetKey"]["path"]): n for n in repository["assetNodes"]}
        for table in ("phone_numbers", "calls", "agents", "contacts"):
            raw = nodes[f"contactship_raw/{table}"]
            assert raw["isPartitioned"] and raw["partitionKeys"] == ["acme", "globex"]
        models = {k for k, n in nodes.items() if n["groupName"] == "contactship_models"}
        assert "analytics/fct_calls" in models and len(models) == 12

        shot = ROOT / "output/dagster-asset-graph.png"
        shot.unlink(missing_ok=True)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            unavailable("chromium is not installed (bash .ci/run installs it)")
        subprocess.run(
            [
                str(chromium),
                *("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"),
                *("--window-size=1600,1000", "--virtual-time-budget=20000"),
                f"--screenshot={shot}",
                f"{url}/assets/analytics/fct_calls?view=lineage&lineageScope=upstream",
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
        # A page with the graph has hundreds of colours; a blank one a handful.
        assert png_colors(shot.read_bytes()) > 50
    finally:
        server.terminate()
        server.wait(timeout=30)


ROWS_SYNCED = """
{ assetOrError(assetKey: {path: ["contactship_raw", "calls"]}) { ... on Asset {
  assetMaterializations { partition metadataEntries {
    label ... on IntMetadataEntry { intValue }
  } }
} } }
"""


def test_the_demo_script_materializes_every_partition_and_serves_the_ui():
    dagster_python()
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("TAP_", "TARGET_", "MELTANO_", "DBT_", "DAGSTER_", "CONTACTSHIP_")
            )
        },
        "ORCHESTRATE_DEMO_PORT": str(port),
    }
    script = subprocess.Popen(
        ["bash", "scripts/orchestrate_demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said: list[str] = []
    try:
        assert script.stdout is not None
        for line in script.stdout:
            said.append(line)
            if line.startswith("Dagster UI: "):
                break
        url = f"http://127.0.0.1:{port}"
        assert said[-1].startswith(f"Dagster UI: {url} "), "".join(said)
        printed = "".join(said)
        assert "acme: loaded into schema contactship_acme" in printed
        assert "globex: loaded into schema contactship_globex" in printed
        assert (
            "initech: failed: initech: the Contactship API rejected the API key "
            "(401 Unauthorized); check CONTACTSHIP_KEY_INITECH" in printed
        )
        warehouse = ROOT / "output/orchestrate-demo/warehouse.duckdb"
        assert duckdb_rows(
            warehouse,
            "select source_relation, count(*) from analytics.fct_calls "
            "group by 1 order by 1",
        ) == [["contactship_acme", 300], ["contactship_globex", 150]]

        asset = graphql(url, ROWS_SYNCED)["assetOrError"]
        synced = {
            event["partition"]: entry["intValue"]
            for event in asset["assetMaterializations"]
            for entry in event["metadataEntries"]
            if entry["label"] == "rows synced"
        }
        # The tap's count (target-duckdb counts nothing), once.
        assert synced == {"acme": 300, "globex": 150}
    finally:
        os.killpg(script.pid, signal.SIGTERM)
        try:
            script.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # Whatever ignored SIGTERM must not outlive the test.
            os.killpg(script.pid, signal.SIGKILL)
            script.communicate(timeout=30)
            raise
