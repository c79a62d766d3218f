"""Snowflake and BigQuery on this machine: the real loader packages, each in
its own virtualenv, against local emulators (fakesnow, bqemulator).

The loader's version is the `pip_url` `meltano.yml` ships; the emulators'
are pinned here. Test-only: nothing here is part of the package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENVS = ROOT / ".venv-warehouses"

FAKESNOW = "fakesnow==0.12.1"
# bqemulator imports numpy without declaring it.
BQEMULATOR = ["bqemulator==1.4.0", "numpy==2.4.6"]
SCHEMA = "contactship"


def plugin(kind: str, name: str) -> dict[str, Any]:
    """A plugin as `meltano.yml` declares it (`kind`: loaders, transformers)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    found: dict[str, Any] = next(
        entry for entry in project["plugins"][kind] if entry["name"] == name
    )
    return found


def loader(name: str) -> dict[str, Any]:
    return plugin("loaders", name)


def shipped_config(name: str) -> dict[str, Any]:
    """The settings `meltano.yml` gives the loader, the schema resolved."""
    config = {}
    for setting in loader(name).get("settings", []):
        if "value" in setting:
            value = setting["value"]
            config[setting["name"]] = (
                SCHEMA if value == "$MELTANO_EXTRACT__LOAD_SCHEMA" else value
            )
    return config


def python_for(name: str) -> str:
    """The interpreter Meltano would use for the loader."""
    wanted = loader(name).get("python")
    return (shutil.which(wanted) if wanted else None) or sys.executable


def venv(folder: str, requirements: list[str], python: str) -> Path:
    """A virtualenv with exactly these requirements, reused while they hold."""
    path = VENVS / folder
    marker = path / "requirements.txt"
    wanted = "\n".join(requirements)
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(path, ignore_errors=True)
        uv = os.environ.get("UV") or shutil.which("uv")
        if uv:  # the same packages, in a tenth of pip's time
            subprocess.run(
                [uv, "venv", "-q", "--seed", "--python", python, str(path)], check=True
            )
            install = [uv, "pip", "install", "-q", "--python", str(path / "bin/python")]
        else:
            subprocess.run([python, "-m", "venv", str(path)], check=True)
            install = [str(path / "bin/python"), "-m", "pip", "install", "-qq"]
        subprocess.run([*install, *requirements], check=True, timeout=900)
        marker.write_text(wanted)
    return path / "bin/python"


def prepare() -> None:
    """Every emulator's and loader's venv (`python -m tests.warehouses`: .ci/run
    builds them while other things install)."""
    for build in (
        snowflake_python,
        snowflake_dbt_python,
        bigquery_python,
        bqemulator_python,
    ):
        build()


def snowflake_python() -> Path:
    target = loader("target-snowflake")["pip_url"].split()
    return venv("snowflake", [*target, FAKESNOW], python_for("target-snowflake"))


def snowflake_dbt_python() -> Path:
    dbt = plugin("transformers", "dbt-snowflake")["pip_url"].split()
    return venv("snowflake-dbt", [*dbt, FAKESNOW], sys.executable)


def bigquery_python() -> Path:
    target = loader("target-bigquery")["pip_url"].split()
    return venv("bigquery-target", target, python_for("target-bigquery"))


def bqemulator_python() -> Path:
    return venv("bigquery-emulator", BQEMULATOR, sys.executable)


class Snowflake:
    """target-snowflake into a fakesnow database kept in `folder`."""

    def __init__(self, folder: Path, **settings: Any) -> None:
        self.python = str(snowflake_python())
        self.folder = folder
        self.config = folder / "target-snowflake.json"
        connection = {"account": "fake", "user": "fake", "password": "snow"}
        self.config.write_text(
            json.dumps(
                {
                    **connection,
                    "database": "DB",
                    "warehouse": "WH",
                    "role": "R",
                    **shipped_config("target-snowflake"),
                    **settings,
                }
            )
        )

    def table(self, name: str) -> str:
        return name

    def load(self, messages: str) -> subprocess.CompletedProcess[str]:
        return self._launch("--config", str(self.config), stdin=messages)

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        """dbt-snowflake (the version `meltano.yml` pins) on this database."""
        profile = {
            "TARGET_SNOWFLAKE_ACCOUNT": "fake",
            "TARGET_SNOWFLAKE_USER": "fake",
            "TARGET_SNOWFLAKE_PASSWORD": "snow",
            "TARGET_SNOWFLAKE_ROLE": "R",
            "TARGET_SNOWFLAKE_DATABASE": "DB",
            "TARGET_SNOWFLAKE_WAREHOUSE": "WH",
        }
        return self._launch(
            "--dbt",
            *args,
            "--target=snowflake",
            # One DuckDB connection underneath: one statement at a time.
            "--threads=1",
            f"--project-dir={ROOT / 'transform'}",
            f"--profiles-dir={ROOT / 'transform/profiles'}",
            python=str(snowflake_dbt_python()),
            env=profile,
        )

    def rows(self, sql: str) -> list[list[Any]]:
        return self.rows_each([sql])[0]

    def rows_each(self, statements: list[str]) -> list[list[list[Any]]]:
        """Each statement's rows, from one launch (each costs seconds)."""
        result = self._launch("--query", *statements)
        assert result.returncode == 0, result.stderr[-3000:]
        rows: list[list[list[Any]]] = json.loads(result.stdout)
        return rows

    def column_types(self) -> dict[tuple[str, str], str]:
        rows = self.rows(
            "select table_name, column_name, data_type from information_schema.columns"
            f" where table_schema = '{SCHEMA.upper()}'"
        )
        return {(t.lower(), c.lower()): kind for t, c, kind in rows}

    def _launch(
        self,
        *args: str,
        stdin: str = "",
        python: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        launcher = str(HERE / "snowflake_launcher.py")
        return subprocess.run(
            [python or self.python, launcher, str(self.folder), *args],
            input=stdin,
            env={**os.environ, **(env or {})},
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


class _TokenStub(BaseHTTPRequestHandler):
    """Google's OAuth token endpoint: any service account gets a token."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps(
            {"access_token": "emulator", "expires_in": 3600, "token_type": "Bearer"}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _service_account(python: Path, token_uri: str) -> str:
    """A service-account key (freshly made, never used outside this machine)."""
    script = (
        "from cryptography.hazmat.primitives import serialization\n"
        "from cryptography.hazmat.primitives.asymmetric import rsa\n"
        "key = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n"
        "print(key.private_bytes(serialization.Encoding.PEM,"
        " serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())\n"
    )
    pem = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "emulator",
            "private_key": pem,
            "client_email": "loader@test-project.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }
    )


class BigQuery:
    """z3 target-bigquery into a running bqemulator."""

    PROJECT = "test-project"

    def __init__(self, rest_url: str, token_uri: str, **settings: Any) -> None:
        self.python = str(bigquery_python())
        self.target = str(Path(self.python).with_name("target-bigquery"))
        self.rest_url = rest_url
        self.config = {
            "project": self.PROJECT,
            **shipped_config("target-bigquery"),
            "credentials_json": _service_account(Path(self.python), token_uri),
            **settings,
        }

    def table(self, name: str) -> str:
        return f"{self.config['dataset']}.{name}"

    def load(self, messages: str) -> subprocess.CompletedProcess[str]:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as config:
            json.dump(self.config, config)
            config.flush()
            return subprocess.run(
                [self.target, "--config", config.name],
                input=messages,
                capture_output=True,
                text=True,
                timeout=600,
                # google-cloud-bigquery sends every request here instead.
                env={**os.environ, "BIGQUERY_EMULATOR_HOST": self.rest_url},
                check=False,
            )

    def rows(self, sql: str) -> list[list[Any]]:
        """Rows as the REST API returns them: every cell a string (or a list)."""
        request = urllib.request.Request(
            f"{self.rest_url}/bigquery/v2/projects/{self.PROJECT}/queries",
            data=json.dumps({"query": sql, "useLegacySql": False}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        assert "error" not in answer and answer.get("jobComplete", True), answer
        return [[cell["v"] for cell in row["f"]] for row in answer.get("rows", [])]

    def column_types(self) -> dict[tuple[str, str], str]:
        rows = self.rows(
            "select table_name, column_name, data_type"
            f" from {self.config['dataset']}.INFORMATION_SCHEMA.COLUMNS"
        )
        return {(t, c): kind for t, c, kind in rows}


@contextmanager
def bqemulator(folder: Path) -> Iterator[tuple[str, str]]:
    """A running emulator and token stub: (REST URL, token URI)."""
    python = bqemulator_python()
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _TokenStub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    rest, grpc = free_port(), free_port()
    log = (folder / "bqemulator.log").open("w")
    server = subprocess.Popen(
        [
            str(python),
            str(HERE / "bigquery_emulator.py"),
            f"--rest-port={rest}",
            f"--grpc-port={grpc}",
            f"--project={BigQuery.PROJECT}",
            "--log-level=warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{rest}"
    try:
        _wait_until_up(url, server, folder / "bqemulator.log")
        yield url, f"http://127.0.0.1:{stub.server_address[1]}/token"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        stub.shutdown()
        stub.server_close()


def drop_every_dataset(url: str) -> None:
    """Empty the emulator's project, as a fresh emulator would be."""
    datasets = f"{url}/bigquery/v2/projects/{BigQuery.PROJECT}/datasets"
    with urllib.request.urlopen(datasets, timeout=60) as response:
        listed = json.load(response).get("datasets", [])
    for dataset in listed:
        name = dataset["datasetReference"]["datasetId"]
        request = urllib.request.Request(
            f"{datasets}/{name}?deleteContents=true", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=60).close()
    with urllib.request.urlopen(datasets, timeout=60) as response:
        assert not json.load(response).get("datasets"), "datasets left behind"


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"bqemulator exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(
                f"{url}/bigquery/v2/projects/{BigQuery.PROJECT}/datasets", timeout=5
            ).close()
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
        else:
            return
    raise RuntimeError("bqemulator did not start within 120 s")
