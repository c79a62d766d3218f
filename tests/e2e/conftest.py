"""Shared by the end-to-end tests: Meltano, a real PostgreSQL, DuckDB reads."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_environment, free_port
from tests.fake_contactship import DEFAULT_KEY, FakeContactship
from tests.warehouses import bqemulator, drop_every_dataset

ROOT = Path(__file__).resolve().parents[2]
DUCKDB_PYTHON = ROOT / ".meltano/loaders/target-duckdb/venv/bin/python"
PLUGINS = [
    "tap-contactship",
    "target-duckdb",
    "target-jsonl",
    "target-postgres",
    "target-snowflake",
    "target-bigquery",
    "dbt-duckdb",
    "dbt-postgres",
    "dbt-snowflake",
    "dbt-bigquery",
]


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI a missing tool is a failure."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def find_meltano() -> str | None:
    candidates = [
        os.environ.get("MELTANO_BIN"),
        str(ROOT / ".venv-meltano/bin/meltano"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("meltano")


class Meltano:
    """Meltano run in `project` (this repository unless a copy is given).

    Each instance has its own system folder (`run/`, `logs/`, `elt/`) linked to
    the plugins installed once for the session, and its own dbt target and log
    folders, so tests run Meltano side by side (pytest-xdist): two runs of one
    extractor in one system folder write the same
    `run/tap-contactship/tap.properties.json`.
    """

    def __init__(self, executable: str, workdir: Path, project: Path = ROOT) -> None:
        self.executable = executable
        self.workdir = workdir
        self.project = project
        system = project / ".meltano" if project != ROOT else workdir / "meltano-sys"
        link_installed_plugins(system)
        self.env = {
            **meltano_environment(),
            "MELTANO_SYS_DIR_ROOT": str(system),
            "MELTANO_DATABASE_URI": f"sqlite:///{workdir}/meltano.db",
            "TARGET_DUCKDB_FILEPATH": str(workdir / "warehouse.duckdb"),
            "TAP_CONTACTSHIP_API_KEY": DEFAULT_KEY,
            **{
                f"{dbt.upper().replace('-', '_')}_{setting.upper()}": str(
                    workdir / f"dbt-{setting}"
                )
                for dbt in PLUGINS
                if dbt.startswith("dbt-")
                for setting in ("target_path", "log_path")
            },
        }

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.executable, *args],
            cwd=self.project,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = self("run", *args, **env)
        assert result.returncode == 0, result.stderr[-3000:]
        return result


def meltano_environment() -> dict[str, str]:
    """This process's environment without a developer's own key, URL or
    warehouse settings (they must not change what a test sees)."""
    return {
        **clean_environment("TAP_CONTACTSHIP_", "TARGET_", "MELTANO_", "DBT_"),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    }


def run_script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run one of `scripts/` as a user would: no TAP_CONTACTSHIP_* unless given."""
    return subprocess.run(
        ["bash", f"scripts/{name}", *args],
        cwd=ROOT,
        env={**clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


#: What a Meltano system folder holds per run rather than per installation.
PER_RUN = {"run", "logs", "elt", "meltano.db"}


def link_installed_plugins(system: Path) -> Path:
    """A Meltano system folder whose plugins are the session's installed ones."""
    system.mkdir(parents=True, exist_ok=True)
    installed = ROOT / ".meltano"
    for entry in installed.iterdir() if installed.is_dir() else ():
        link = system / entry.name
        if entry.name not in PER_RUN and not link.is_symlink() and not link.exists():
            link.symlink_to(entry)
    return system


@contextmanager
def exclusively(lock: Path) -> Iterator[None]:
    """One pytest-xdist worker at a time in the block (the others wait)."""
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def installed_meltano() -> str:
    """Meltano, with every plugin the tests use installed once in `.meltano`.

    `.ci/run` installs them before the tests start: here it is then a quick
    check. Each test's Meltano links to these plugins (`link_installed_plugins`).
    """
    executable = find_meltano()
    if executable is None:
        unavailable("meltano is not installed (bash .ci/run installs it)")
    assert executable is not None
    with (
        exclusively(ROOT / "output/.meltano-install.lock"),
        tempfile.TemporaryDirectory() as folder,
    ):
        result = subprocess.run(
            [executable, "install", *PLUGINS],
            cwd=ROOT,
            env={
                **meltano_environment(),
                "MELTANO_DATABASE_URI": f"sqlite:///{folder}/meltano.db",
            },
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    return executable


@pytest.fixture
def meltano(installed_meltano, tmp_path) -> Meltano:
    return Meltano(installed_meltano, tmp_path)


@pytest.fixture
def api() -> Iterator[FakeContactship]:
    with FakeContactship(phone_numbers=250) as fake:
        fake.seed(calls=330, agents=3, contacts=120)
        yield fake


def duckdb_rows(path: Path, query: str) -> list[list[Any]]:
    return duckdb_rows_each(path, [query])[0]


def duckdb_rows_each(path: Path, queries: list[str]) -> list[list[list[Any]]]:
    """Each query's rows, from one process (each costs a Python start-up)."""
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(json.dumps([con.sql(q).fetchall() for q in json.loads(sys.argv[2])],"
        " default=str))\n"
    )
    out = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", script, str(path), json.dumps(queries)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[list[list[Any]]] = json.loads(out.stdout)
    return rows


def postgres_bindir() -> Path | None:
    """Debian's PostgreSQL programs, if installed."""
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    return bindir if bindir is not None and (bindir / "initdb").exists() else None


@contextmanager
def local_postgres(bindir: Path) -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL server on 127.0.0.1: its connection settings."""
    data = Path(tempfile.mkdtemp(prefix="tap-contactship-pg-"))
    port = free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]

    def pg(*args: str) -> None:
        subprocess.run(
            [*as_postgres, *args], check=True, capture_output=True, timeout=120
        )

    pg(
        str(bindir / "initdb"),
        "-D",
        str(data / "db"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
    )
    pg(
        str(bindir / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-l",
        str(data / "log"),
        "-o",
        f"-c listen_addresses=127.0.0.1 -c port={port} -k {data}",
        "-w",
        "start",
    )
    try:
        yield {
            "host": "127.0.0.1",
            "port": str(port),
            "user": "postgres",
            "database": "postgres",
        }
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop")
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed (bash .ci/run installs it)")
    assert bindir is not None
    with local_postgres(bindir) as server:
        yield server


def psql(server: dict[str, str], query: str) -> list[list[str]]:
    out = subprocess.run(
        [
            "psql",
            "-h",
            server["host"],
            "-p",
            server["port"],
            "-U",
            server["user"],
            "-d",
            server["database"],
            "-At",
            "-F",
            "\t",
            "-c",
            query,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("\t") for line in out.stdout.splitlines()]


def copy_of_the_project(destination: Path) -> Path:
    """What a fresh clone holds: the files git tracks (or would), nothing built."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, files.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


@pytest.fixture(scope="session")
def bigquery_server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One bqemulator per test process (it takes a minute to start): REST URL,
    token URI. The tests that use it share an `xdist_group`, so one starts."""
    with bqemulator(tmp_path_factory.mktemp("bqemulator")) as running:
        yield running


@pytest.fixture
def bigquery_emulator(bigquery_server) -> tuple[str, str]:
    """The session's bqemulator, emptied: each test starts with no dataset."""
    drop_every_dataset(bigquery_server[0])
    return bigquery_server


def agency(
    installed_meltano: str, folder: Path, organizations: dict[str, FakeContactship]
) -> tuple[Meltano, dict[str, str]]:
    """A fresh copy of the project with one organization file per fake API,
    made from the example as the README says, and the environment giving
    each organization its key and URL."""
    project = copy_of_the_project(folder / "agency")
    example = (project / "organizations/example.meltano.yml.sample").read_text()
    env = {"TAP_CONTACTSHIP_EMIT_ACTIVATE_VERSION_MESSAGES": "true"}
    for name, api in organizations.items():
        organization = project / f"organizations/{name}.meltano.yml"
        organization.write_text(example.replace("acme", name))
        env[f"TAP_CONTACTSHIP__{name.upper()}_API_KEY"] = api.api_key
        env[f"TAP_CONTACTSHIP__{name.upper()}_API_URL"] = api.url
    return Meltano(installed_meltano, folder, project=project), env


#: Tests that run Meltano in this repository's own `.meltano` (the scripts a
#: user runs, the benchmarks): one at a time, on one xdist worker.
IN_THE_PROJECT_ITSELF = (
    "test_sync_script_loads_and_prints_what_landed",
    "test_sync_script_diagnose_loads_nothing",
    "test_demo_needs_no_key",
    "test_the_dbt_step_benchmark_runs",
    "test_the_load_benchmark_runs",
)
#: The Dagster runs: each client's Meltano system folder is the code
#: location's own (`output/dagster/meltano/<client>`), the same in both.
ON_DAGSTER = (
    "test_each_client_loads_alone_then_incrementally_then_dbt_builds",
    "test_the_demo_script_materializes_every_partition_and_serves_the_ui",
    "test_runs_spread_over_both_workers_and_each_client_loads_exactly",
    "test_a_worker_killed_mid_load_never_leaves_a_half_loaded_client_done",
)
#: The longest tests start first, so neither core idles at the end.
LONGEST_FIRST = (
    "test_the_demo_script_materializes_every_partition_and_serves_the_ui",
    "test_every_readme_command_runs_as_written_in_a_fresh_clone",
    "test_bigquery_marts_match_the_api_after_two_runs",
    "test_bigquery_holds_every_row_once",
    "test_each_client_loads_alone_then_incrementally_then_dbt_builds",
    "test_postgres_marts_match_the_api_and_a_full_refresh",
    "test_duckdb_marts_match_the_api_and_a_full_refresh",
    "test_snowflake_marts_match_the_api_after_two_runs",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for `--dist loadgroup` (before xdist reads them), longest first."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "bigquery_emulator" in fixtures:  # one emulator, started once
            item.add_marker(pytest.mark.xdist_group("bigquery"))
        elif item.originalname in IN_THE_PROJECT_ITSELF:  # type: ignore[attr-defined]
            item.add_marker(pytest.mark.xdist_group("the-project-itself"))
        elif item.originalname in ON_DAGSTER:  # type: ignore[attr-defined]
            item.add_marker(pytest.mark.xdist_group("dagster"))

    def rank(item: pytest.Item) -> int:
        name = item.originalname  # type: ignore[attr-defined]
        return (
            LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        )

    items.sort(key=rank)
