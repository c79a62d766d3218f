"""Reading a `meltano run`'s output for the Dagster code location.

The lines are as Meltano 4.4.1 printed them for `meltano run tap-contactship
target-postgres` (console format), and in its key=value format.
"""

from __future__ import annotations

import pytest

from contactship_orchestrate.meltano_output import (
    failure_cause,
    find_meltano,
    for_client,
    installation_problem,
    rows_loaded,
    tap_error,
    tap_exit_code,
    worth_retrying,
)
from tap_contactship.errors import ExitCode

AT = "2026-12-03T14:04:44.575776Z"
TAIL = " cmd_type=elb consumer=False job_name=dev:tap-contactship-to-target-postgres"
REJECTED = (
    "the Contactship API rejected the API key (401 Unauthorized); check `api_key` "
    "(env TAP_CONTACTSHIP_API_KEY with --config=ENV, or Meltano's `meltano config "
    "set tap-contactship api_key`)"
)


def metric(plugin: str, stream: str, value: int) -> str:
    return (
        f'{AT} [info     ] {plugin} METRIC: {{"type":"counter","metric":'
        f'"record_count","value":{value},"tags":{{"stream":"{stream}","pid":1}}}}'
    )


def test_the_tap_s_line_is_read_without_meltano_s_fields():
    output = "\n".join(
        [
            f"{AT} [info     ] meltano      Performing extract{TAIL}",
            f"{AT} [info     ] tap-contactship tap-contactship: error: {REJECTED}{TAIL}",
            f"{AT} [error    ] meltano      Extractor failed",
        ]
    )

    assert tap_error(output) == REJECTED


def test_a_rejected_key_names_the_client_s_variable():
    assert for_client(REJECTED, "CONTACTSHIP_KEY_ACME") == (
        "the Contactship API rejected the API key (401 Unauthorized); check "
        "CONTACTSHIP_KEY_ACME (this client's API key)"
    )
    other = "invalid config: `page_size` must be at most 1000"
    assert for_client(other, "CONTACTSHIP_KEY_ACME") == other


def test_a_loader_failure_is_the_loader_s_exception_not_meltano_s_summary():
    output = "\n".join(
        [
            f"{AT} [info     ] target-postgres target-postgres v0.8.1, Meltano SDK v0.54.9",
            f"{AT} [info     ] target-postgres Need either the sqlalchemy_url to be set",
            f"{AT} [info     ] target-postgres Traceback (most recent call last):",
            f'{AT} [info     ] target-postgres   File "target.py", line 62, in __init__',
            f"{AT} [info     ] target-postgres AssertionError: Need either the "
            "sqlalchemy_url to be set or host, port, user, password, and "
            "dialect+driver to be set",
            f"{AT} [error    ] meltano      Loader failed",
            f"{AT} [error    ] meltano      Block run completed",
            f"{AT} [info     ] meltano      Run completed",
        ]
    )

    assert tap_error(output) is None
    assert failure_cause(output, "target-postgres") == (
        "target-postgres: AssertionError: Need either the sqlalchemy_url to be set "
        "or host, port, user, password, and dialect+driver to be set"
    )


def test_without_an_exception_the_loader_s_error_line_then_meltano_s_first():
    plugin = f"{AT} [info     ] target-duckdb ERROR cannot open output/w.duckdb{TAIL}"
    meltano = [
        f"{AT} [error    ] meltano      Loader failed",
        f"{AT} [error    ] meltano      Block run completed",
        f"{AT} [info     ] meltano      Run completed",
    ]

    assert failure_cause("\n".join([plugin, *meltano]), "target-duckdb") == (
        "target-duckdb: ERROR cannot open output/w.duckdb"
    )
    assert failure_cause("\n".join(meltano), "target-duckdb") == "Loader failed"
    assert failure_cause("one line\nthe last one\n", "target-postgres") == (
        "the last one"
    )
    assert failure_cause("", "target-postgres") == "?"


def test_rows_are_the_loader_s_count_when_it_counts_else_the_tap_s():
    tap = [
        metric("tap-contactship", "calls", 1000),
        metric("tap-contactship", "calls", 250),
        metric("tap-contactship", "agents", 3),
        metric("tap-contactship", "other", 9),
        f"{AT} [info     ] tap-contactship METRIC: {{not json",
    ]
    loader = [
        metric("target-postgres", "calls", 1250),
        metric("target-postgres", "agents", 3),
    ]

    assert rows_loaded("\n".join(tap + loader), "target-postgres") == {
        "phone_numbers": 0,
        "calls": 1250,
        "agents": 3,
        "contacts": 0,
        "whole_reads": 0,
    }
    # target-duckdb prints no metrics: the tap's count is the only one.
    assert rows_loaded("\n".join(tap), "target-duckdb") == {
        "phone_numbers": 0,
        "calls": 1250,
        "agents": 3,
        "contacts": 0,
        "whole_reads": 0,
    }


def test_in_the_key_value_format_the_plugin_is_its_name_field():
    line = (
        'METRIC: {"type":"counter","metric":"record_count","value":7,'
        f'"tags":{{"stream":"calls"}}}}{TAIL} name=%s producer=False'
    )
    output = "\n".join([line % "tap-contactship", line % "target-postgres"])

    assert rows_loaded(output, "target-postgres")["calls"] == 7


def test_a_missing_meltano_or_plugin_is_named_with_the_command_to_run(tmp_path):
    meltano = tmp_path / ".venv-meltano/bin/meltano"

    missing = installation_problem(tmp_path, meltano, "target-postgres")
    assert missing == (
        f"Meltano is not installed ({meltano} is missing, and there is no meltano "
        f"on PATH): run `bash scripts/orchestrate_demo.sh --install` in {tmp_path}"
    )

    meltano.parent.mkdir(parents=True)
    meltano.touch()
    missing = installation_problem(tmp_path, meltano, "target-postgres")
    venv = tmp_path / ".meltano/extractors/tap-contactship/venv"
    assert missing == (
        f"Meltano's tap-contactship is not installed ({venv} is missing): run "
        f"`bash scripts/orchestrate_demo.sh --install` in {tmp_path}"
    )

    for kind, plugin in (
        ("extractors", "tap-contactship"),
        ("loaders", "target-postgres"),
    ):
        (tmp_path / ".meltano" / kind / plugin / "venv").mkdir(parents=True)
    assert installation_problem(tmp_path, meltano, "target-postgres") is None
    assert "target-duckdb is not installed" in str(
        installation_problem(tmp_path, meltano, "target-duckdb")
    )


def test_meltano_is_the_project_s_own_else_the_one_on_path(tmp_path, monkeypatch):
    elsewhere = tmp_path / "bin/meltano"
    elsewhere.parent.mkdir()
    elsewhere.touch(mode=0o755)
    own = tmp_path / ".venv-meltano/bin/meltano"

    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert find_meltano(tmp_path) == own
    monkeypatch.setenv("PATH", str(elsewhere.parent))
    assert find_meltano(tmp_path) == elsewhere
    own.parent.mkdir(parents=True)
    own.touch(mode=0o755)
    assert find_meltano(tmp_path) == own


@pytest.mark.parametrize("tail", ["", TAIL])
@pytest.mark.parametrize("code", list(ExitCode))
def test_the_tap_s_exit_code_rides_on_its_line(code, tail):
    line = f"tap-contactship: error: {REJECTED} (exit code {int(code)})"
    output = f"{AT} [error    ] tap-contactship {line}{tail}\n{AT} [error    ] meltano"

    assert tap_error(output) == REJECTED
    assert tap_exit_code(output) == code


@pytest.mark.parametrize("code", list(ExitCode))
def test_only_a_bad_setting_or_a_rejected_key_is_not_retried(code):
    final = code in {ExitCode.CONFIG, ExitCode.KEY_REJECTED}

    assert worth_retrying(int(code)) is not final


def test_a_failure_without_the_tap_s_code_is_retried():
    output = f"{AT} [error    ] meltano      Loader failed"

    assert tap_exit_code(output) is None
    assert worth_retrying(tap_exit_code(output))
