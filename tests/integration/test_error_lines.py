"""What a new user meets first, run as the real command: every failure is one true line.

Each test asserts the exit code, that stderr holds exactly one
`tap-contactship: error:` line (or none on success), no traceback, and no
`| ERROR` line besides the true one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tap_contactship.errors import ExitCode
from tests.catalogs import catalog
from tests.conftest import (
    TAP_EXECUTABLE,
    Run,
    dotenv_in_reach,
    free_port,
    run_cli,
    tap_config,
)
from tests.fake_contactship import FakeContactship

ERROR_PREFIX = "tap-contactship: error: "


def error_line(run: Run) -> str:
    """The one error line; fails if there is not exactly one, or a traceback."""
    assert "Traceback" not in run.stderr
    assert "Exception ignored" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith(ERROR_PREFIX)]
    assert len(lines) == 1, run.stderr[-2000:]
    assert not [line for line in run.stderr.splitlines() if "| ERROR" in line]
    return lines[0].removeprefix(ERROR_PREFIX)


def assert_clean_success(run: Run) -> None:
    assert run.exit_code == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert "| ERROR" not in run.stderr
    assert ERROR_PREFIX not in run.stderr


def test_a_good_sync_and_connection_test_log_no_error(api, tmp_path):
    api.seed_phone_numbers(30)
    api.seed(calls=20, agents=2, contacts=5)

    assert_clean_success(run_cli(tap_config(api), tmp_path=tmp_path))
    assert_clean_success(run_cli(tap_config(api), "--test", tmp_path=tmp_path))
    assert_clean_success(run_cli(tap_config(api), "--discover", tmp_path=tmp_path))


def test_a_failed_sync_logs_only_the_true_error(api, tmp_path):
    api.api_key = "another-key"

    run = run_cli(tap_config(api), tmp_path=tmp_path)

    assert run.exit_code == ExitCode.KEY_REJECTED
    assert error_line(run).startswith("the Contactship API rejected the API key (401")
    assert "unhandled error" not in run.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--config", "/missing.json"],
            "cannot read the --config file /missing.json: No such file or directory",
        ),
        (["--config", "{bad}"], "is not valid JSON (line 1, column 15)"),
        (
            ["--config", "{good}", "--state", "{bad}"],
            "the --state file {bad} is not valid JSON (line 1, column 15)",
        ),
        (
            ["--config", "{good}", "--catalog", "{bad}"],
            "the --catalog file {bad} is not valid JSON",
        ),
    ],
)
def test_unreadable_files_are_named(api, tmp_path, args, expected):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(tap_config(api)))
    bad.write_text('{"bookmarks": ')
    args = [a.replace("{good}", str(good)).replace("{bad}", str(bad)) for a in args]

    run = run_cli(None, *args, tmp_path=tmp_path)

    assert run.exit_code == ExitCode.CONFIG
    assert expected.replace("{bad}", str(bad)) in error_line(run)
    assert api.requests == []


def test_env_config_with_a_value_of_the_wrong_type(api, tmp_path):
    env = {
        "TAP_CONTACTSHIP_API_KEY": "test-key",
        "TAP_CONTACTSHIP_API_URL": api.url,
        "TAP_CONTACTSHIP_PAGE_SIZE": "abc",
    }

    run = run_cli(None, "--config=ENV", tmp_path=tmp_path, env=env)

    assert run.exit_code == ExitCode.CONFIG
    assert (
        error_line(run)
        == "invalid config: TAP_CONTACTSHIP_PAGE_SIZE must be a valid integer"
    )


def test_no_arguments_says_that_no_config_was_given(tmp_path):
    run = run_cli(None, tmp_path=tmp_path, env={"TAP_CONTACTSHIP_API_KEY": "unused"})

    assert run.exit_code == ExitCode.CONFIG
    assert "no --config was given" in error_line(run)


@pytest.mark.skipif(dotenv_in_reach(), reason="a .env the SDK reads provides the key")
def test_the_missing_key_hint_names_what_works(api, tmp_path):
    in_file = run_cli({"api_url": api.url}, tmp_path=tmp_path)
    in_env = run_cli(
        None,
        "--config=ENV",
        tmp_path=tmp_path,
        env={"TAP_CONTACTSHIP_API_URL": api.url},
    )

    assert in_file.exit_code == in_env.exit_code == ExitCode.CONFIG
    assert (
        "add it to the --config file (TAP_CONTACTSHIP_API_KEY is only read with --config=ENV)"
        in error_line(in_file)
    )
    assert (
        error_line(in_env)
        == "invalid config: `api_key` is required: TAP_CONTACTSHIP_API_KEY is not set"
    )


def test_unknown_settings_are_warned_with_a_did_you_mean(api, tmp_path):
    api.seed_phone_numbers(3)

    run = run_cli(
        {**tap_config(api), "pagesize": 50, "colour": "red"}, tmp_path=tmp_path
    )

    assert_clean_success(run)
    assert (
        "unknown setting `pagesize` is ignored; did you mean `page_size`?" in run.stderr
    )
    assert "unknown setting `colour` is ignored\n" in run.stderr


def test_a_misspelt_key_setting_is_named_in_the_error(tmp_path):
    run = run_cli({"apikey": "k" * 10}, tmp_path=tmp_path)

    assert run.exit_code == ExitCode.CONFIG
    assert error_line(run) == (
        "invalid config: `api_key` is required: the config has `apikey`; did you "
        "mean `api_key`?"
    )


def test_a_key_pasted_with_spaces_still_works(api, tmp_path):
    api.seed_phone_numbers(3)

    run = run_cli(tap_config(api, api_key="  test-key \n"), tmp_path=tmp_path)

    assert_clean_success(run)
    assert "`api_key` has leading or trailing spaces; they are ignored" in run.stderr


def test_a_host_that_does_not_resolve_fails_at_once_naming_the_cause(tmp_path):
    started = time.monotonic()
    run = run_cli(
        {"api_key": "k" * 8, "api_url": "https://nohost.invalid"}, tmp_path=tmp_path
    )

    assert run.exit_code == ExitCode.UNREACHABLE
    line = error_line(run)
    assert "the host name does not resolve" in line
    assert "attempts" not in line
    assert time.monotonic() - started < 10


def test_a_refused_port_is_retried_and_named(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"

    run = run_cli(
        {"api_key": "k" * 8, "api_url": url, "max_retries": 2}, tmp_path=tmp_path
    )

    assert run.exit_code == ExitCode.UNREACHABLE
    line = error_line(run)
    assert "after 2 attempts" in line
    assert "connection was refused" in line


def test_https_against_a_plain_http_server_names_tls(api, tmp_path):
    url = api.url.replace("http://", "https://")

    run = run_cli({"api_key": "test-key", "api_url": url}, tmp_path=tmp_path)

    assert run.exit_code == ExitCode.UNREACHABLE
    assert "TLS handshake failed (wrong version number" in error_line(run)


def test_a_closed_pipe_exits_quietly(api, tmp_path):
    api.seed_phone_numbers(20000)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(api)))

    completed = subprocess.run(
        [
            "bash",
            "-c",
            f"'{TAP_EXECUTABLE}' --config '{config}' | head -3; "
            'echo "tap exit code: ${PIPESTATUS[0]}" >&2',
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert len(completed.stdout.splitlines()) == 3
    # Non-zero (the sync did not finish), as click exits for a closed pipe.
    assert "tap exit code: 1\n" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert "BrokenPipe" not in completed.stderr
    assert "Exception ignored" not in completed.stderr
    assert ERROR_PREFIX not in completed.stderr


@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_an_interrupted_sync_exits_non_zero_and_the_next_run_resumes(
    tmp_path, signum, exit_code
):
    with FakeContactship() as api:
        api.seed(calls=6000)
        api.latency = 0.002
        config = tmp_path / "config.json"
        config.write_text(json.dumps(tap_config(api, page_size=100)))
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps(catalog(["calls"])))
        out = tmp_path / "out.jsonl"
        with out.open("w") as stdout, (tmp_path / "err.txt").open("w") as stderr:
            process = subprocess.Popen(
                [
                    str(TAP_EXECUTABLE),
                    "--config",
                    str(config),
                    "--catalog",
                    str(catalog_file),
                ],
                stdout=stdout,
                stderr=stderr,
            )
            deadline = time.monotonic() + 60
            while out.read_text().count('"type":"STATE"') < 2:
                assert process.poll() is None, (
                    "the sync ended before it was interrupted"
                )
                assert time.monotonic() < deadline
                time.sleep(0.05)
            process.send_signal(signum)
            process.wait(timeout=60)
        run = Run(
            process.returncode, out.read_text(), (tmp_path / "err.txt").read_text()
        )

        assert run.exit_code == exit_code
        line = error_line(run)
        name = signal.Signals(signum).name
        assert line.startswith(f"interrupted by {name} after ")
        assert "the last STATE on stdout lets the next run resume" in line
        assert run.stdout.endswith("\n")
        first_ids = run.ids("calls")  # every line parses: no half-written line
        assert 1000 <= len(first_ids) < 6000
        state = run.final_state()

        resumed = run_cli(
            json.loads(config.read_text()),
            "--catalog",
            str(catalog_file),
            "--state",
            str(_write(tmp_path / "state.json", state)),
            tmp_path=tmp_path,
        )

        assert_clean_success(resumed)
        assert set(first_ids) | set(resumed.ids("calls")) == {
            c["id"] for c in api.calls
        }


def _write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_about_markdown_starts_at_the_margin(tmp_path):
    run = run_cli(None, "--about", "--format=markdown", tmp_path=tmp_path)

    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0] == "# `tap-contactship`"
    assert lines[2].startswith(
        "Singer tap for Contactship, the AI phone-calling platform."
    )
    assert not [line for line in lines if line.startswith("        #")]


def test_an_interrupt_during_a_slow_request_exits_at_once(tmp_path):
    with FakeContactship(phone_numbers=10) as api:
        api.latency = 20  # every request hangs for 20 s
        config = tmp_path / "config.json"
        config.write_text(json.dumps(tap_config(api)))
        with (tmp_path / "err.txt").open("w") as stderr:
            process = subprocess.Popen(
                [str(TAP_EXECUTABLE), "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            deadline = time.monotonic() + 30
            while api.in_flight == 0:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            sent = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            waited = time.monotonic() - sent
        run = Run(process.returncode, "", (tmp_path / "err.txt").read_text())

        assert run.exit_code == 143
        assert error_line(run) == "interrupted by SIGTERM before any record was written"
        # Not after the 20 s request: requests still in flight are abandoned.
        assert waited < 10


@pytest.mark.parametrize("mode", ["env", "file"])
def test_a_misspelt_variable_is_warned_like_a_misspelt_setting(api, tmp_path, mode):
    api.seed_phone_numbers(3)
    env = {"TAP_CONTACTSHIP_PAGESIZE": "50", "TAP_CONTACTSHIP_COLOUR": "red"}
    if mode == "env":
        env |= {
            "TAP_CONTACTSHIP_API_KEY": "test-key",
            "TAP_CONTACTSHIP_API_URL": api.url,
        }
        if dotenv_in_reach():
            pytest.skip("a .env in reach of the SDK would override these variables")
        run = run_cli(None, "--config=ENV", tmp_path=tmp_path, env=env)
    else:
        run = run_cli(tap_config(api), tmp_path=tmp_path, env=env)

    assert_clean_success(run)
    assert (
        "unknown variable TAP_CONTACTSHIP_PAGESIZE is ignored; did you mean "
        "TAP_CONTACTSHIP_PAGE_SIZE?" in run.stderr
    )
    assert "unknown variable TAP_CONTACTSHIP_COLOUR is ignored\n" in run.stderr
