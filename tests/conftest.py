"""Shared fixtures: the fake API, and running the tap as a pipeline would."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from tap_contactship.cli import main
from tap_contactship.client import ContactshipStream
from tap_contactship.retry import Clock
from tests.catalogs import catalog
from tests.fake_contactship import DEFAULT_KEY, FakeContactship

TAP_EXECUTABLE = Path(sys.executable).with_name("tap-contactship")


#: Every run of the tap in the current test, to check each one's exit code was read.
_RUNS: list[Run] = []


@dataclass
class Run:
    """What a pipeline sees of one tap run."""

    _exit_code: int
    stdout: str
    stderr: str
    exit_code_read: bool = False

    def __post_init__(self) -> None:
        _RUNS.append(self)

    @property
    def exit_code(self) -> int:
        """The exit code; reading it marks the run's exit code as read.

        `_every_run_checks_its_exit_code` fails a test that never reads it.
        """
        self.exit_code_read = True
        return self._exit_code

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and (stream is None or m["stream"] == stream)
        ]

    def ids(self, stream: str | None = None) -> list[str]:
        return [r["id"] for r in self.records(stream)]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def final_state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.of_type("STATE")[-1]["value"]
        return state


@pytest.fixture(autouse=True)
def _every_run_checks_its_exit_code() -> Iterator[None]:
    """A test that runs the tap and never looks at the exit code would pass
    even if every stream failed: such a test fails here instead."""
    _RUNS.clear()
    yield
    unchecked = [run for run in _RUNS if not run.exit_code_read]
    _RUNS.clear()
    assert not unchecked, "a test ran the tap without asserting its exit code"


@pytest.fixture
def api() -> Iterator[FakeContactship]:
    with FakeContactship() as fake:
        yield fake


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def batch_config(
    root: Path | str,
    compression: str = "none",
    *,
    size: int | None = None,
    prefix: str | None = None,
) -> dict[str, Any]:
    """The SDK's `batch_config` setting: JSONL files under `root`."""
    storage: dict[str, str] = {"root": str(root)}
    if prefix is not None:
        storage["prefix"] = prefix
    setting: dict[str, Any] = {
        "encoding": {"format": "jsonl", "compression": compression},
        "storage": storage,
    }
    if size is not None:
        setting["batch_size"] = size
    return setting


def run_benchmark(*argv: str, timeout: int = 600) -> list[str]:
    """Run a benchmark script at a tiny size from the project root; its lines.

    Its timings are never asserted: only that it works and what it prints.
    """
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout.splitlines()


def table_rows(lines: list[str]) -> list[str]:
    """The rows of the Markdown table a benchmark prints, its header first."""
    return [line for line in lines if line.startswith("| ")]


#: The `date-time` fields of every stream.
DATE_TIME_FIELDS = ("created_at", "updated_at", "start_at", "finished_at")


def instant(value: str) -> datetime:
    """An ISO 8601 value as an aware instant (naive: UTC)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def emitted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's rows as the tap emits them: every date-time in UTC, with
    microseconds and `Z` (one fixed-width form, so strings sort as instants)."""
    return [
        {
            key: (
                instant(value)
                .astimezone(timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                if key in DATE_TIME_FIELDS and isinstance(value, str)
                else value
            )
            for key, value in row.items()
        }
        for row in rows
    ]


def tap_config(api: FakeContactship, **overrides: Any) -> dict[str, Any]:
    return {"api_key": DEFAULT_KEY, "api_url": api.url, **overrides}


def sync(
    config: dict[str, Any],
    *args: str,
    streams: list[str] | None = None,
    state: dict[str, Any] | None = None,
) -> Run:
    """Run the tap's CLI in this process (fast; for focused tests)."""
    with tempfile.TemporaryDirectory() as folder:
        config_file = Path(folder) / "config.json"
        config_file.write_text(json.dumps(config))
        argv = ["tap-contactship", "--config", str(config_file), *args]
        if streams is not None:
            catalog_file = Path(folder) / "catalog.json"
            catalog_file.write_text(json.dumps(catalog(streams)))
            argv += ["--catalog", str(catalog_file)]
        if state is not None:
            state_file = Path(folder) / "state.json"
            state_file.write_text(json.dumps(state))
            argv += ["--state", str(state_file)]
        stdout, stderr = io.StringIO(), io.StringIO()
        exit_code = 0
        with (
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            _argv(argv),
        ):
            try:
                main()
            except SystemExit as exc:
                exit_code = int(exc.code or 0)
        return Run(exit_code, stdout.getvalue(), stderr.getvalue())


def sync_numbers(config: dict[str, Any], *args: str) -> Run:
    """Sync only `phone_numbers` in this process."""
    return sync(config, *args, streams=["phone_numbers"])


def run_cli(
    config: dict[str, Any] | None,
    *args: str,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Run:
    """Run the installed `tap-contactship` command as a subprocess."""
    argv = [str(TAP_EXECUTABLE)]
    if config is not None:
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(config))
        argv += ["--config", str(config_file)]
    argv += list(args)
    completed = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        # Only the settings a test gives: a developer's own TAP_CONTACTSHIP_*
        # variables (a real key, say), or a `.env` the SDK would read from the
        # working folder, must not change what a test sees.
        env={**clean_environment(), **(env or {})},
        cwd=tmp_path,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def dotenv_in_reach() -> bool:
    """Whether the SDK will find a `.env` (it searches up from its own files).

    With the venv inside a project that has a `.env` (as after `meltano config
    set`), `--config=ENV` reads it, and its values win over the environment's:
    tests that set TAP_CONTACTSHIP_* variables themselves cannot run there.
    """
    import singer_sdk

    return any(
        (folder / ".env").exists() for folder in Path(singer_sdk.__file__).parents
    )


def clean_environment(*prefixes: str) -> dict[str, str]:
    """This process's environment without the variables that start with
    `prefixes` (by default a developer's own TAP_CONTACTSHIP_* settings)."""
    dropped = prefixes or ("TAP_CONTACTSHIP_",)
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


class FakeClock:
    """Time that passes only when slept: waits are recorded, never slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.slept.append(round(seconds, 2))
                self.now += seconds

    @property
    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, sleep=self.sleep)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the tap's retry and throttle waits instead of sleeping them.

    Only the streams' clock is replaced; the fake server and everything else
    keep real time.
    """
    fake = FakeClock()
    monkeypatch.setattr(ContactshipStream, "clock", fake.clock)
    return fake.slept


# Property-based tests: CI's profile is derandomized and bounded; `long` hunts.
# The README test runs the README's test commands with a few examples
# (CONTACTSHIP_PROPERTY_EXAMPLES), to see they work: CI's own run hunts.
_EXAMPLES = os.environ.get("CONTACTSHIP_PROPERTY_EXAMPLES")
settings.register_profile(
    "ci",
    max_examples=int(_EXAMPLES or 40),
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    # Explaining a failure replays it hundreds of times (minutes per failure).
    phases=[p for p in Phase if p is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=int(_EXAMPLES or 3000),
    deadline=None,
    phases=[p for p in Phase if p is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")


#: The column every full-table row carries (tap_contactship.reads).
READ_VERSION = "read_version"


def unversioned(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without their `read_version`, once checked that the ones that
    carry it (full-table streams) carry one integer: one run, one version."""
    versions = {r[READ_VERSION] for r in records if READ_VERSION in r}
    assert len(versions) <= 1, versions
    assert all(isinstance(v, int) for v in versions), versions
    return [{k: v for k, v in r.items() if k != READ_VERSION} for r in records]
