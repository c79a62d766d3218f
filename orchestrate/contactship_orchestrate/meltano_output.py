"""Meltano as the code location meets it: installed or not, what a run printed.

Plain text and paths, without Dagster, so the tap's own test suite checks it.
Meltano's console lines read `<time> [<level>] <plugin> <what it printed>`;
its key=value format adds `name=<plugin>` after the message instead.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

TABLES = ("phone_numbers", "calls", "agents", "contacts", "whole_reads")
TAP = "tap-contactship"
#: Lines the tap ends a failed run with, as Meltano prints them: under Meltano
#: the tap adds its exit code (Meltano's own is 1 whatever the tap's).
TAP_ERROR = re.compile(
    r"tap-contactship: error: (?P<line>.*?)(?: \(exit code (?P<code>\d+)\))?"
    r"(?:\s+cmd_type=\S+.*)?$"
)
#: The tap's exit codes for failures a retry cannot fix: a bad setting (78) and
#: a rejected key (77), as `tap_contactship.errors.ExitCode` defines them.
FINAL_EXIT_CODES = frozenset({77, 78})
#: The tap's hint for a rejected key, which names the tap's own setting.
KEY_HINT = re.compile(r"; check `api_key` \(.*\)$")
_CONSOLE = re.compile(r"^\S+ \[\s*\w+\s*\] (?P<name>\S+) (?P<text>.*)$")
_NAME_FIELD = re.compile(r"\bname=(?P<name>\S+)")
_FIELDS = re.compile(r"\s+cmd_type=\S+.*$")
#: The last line of a Python traceback: the exception and its message.
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit): \S")


#: What installs everything the code location runs (and nothing already there).
INSTALL = "bash scripts/orchestrate_demo.sh --install"


def find_meltano(project: Path) -> Path:
    """The project's `.venv-meltano` Meltano, else one on PATH (as the scripts do).

    When there is neither, the former: the path a missing Meltano is named by.
    """
    own = project / ".venv-meltano/bin/meltano"
    on_path = shutil.which("meltano")
    return Path(on_path) if on_path and not own.exists() else own


def installation_problem(project: Path, executable: Path, loader: str) -> str | None:
    """What is missing for `meltano run tap-contactship <loader>`, if anything.

    No run can succeed without them, so no retry should be spent on it.
    """
    if not executable.exists():
        return (
            f"Meltano is not installed ({executable} is missing, and there is no "
            f"meltano on PATH): run `{INSTALL}` in {project}"
        )
    for kind, plugin in (("extractors", TAP), ("loaders", loader)):
        venv = project / ".meltano" / kind / plugin / "venv"
        if not venv.is_dir():
            return (
                f"Meltano's {plugin} is not installed ({venv} is missing): run "
                f"`{INSTALL}` in {project}"
            )
    return None


def _split(text: str) -> tuple[str | None, str]:
    """Who printed a line, and what it printed (without Meltano's fields)."""
    console = _CONSOLE.match(text)
    if console:
        return console["name"], _FIELDS.sub("", console["text"]).strip()
    field = _NAME_FIELD.search(text)
    return (field["name"] if field else None), _FIELDS.sub("", text).strip()


def tap_error(output: str) -> str | None:
    """The tap's one error line in Meltano's output, if it wrote one."""
    for text in output.splitlines():
        found = TAP_ERROR.search(text)
        if found:
            return found["line"].strip()
    return None


def tap_exit_code(output: str) -> int | None:
    """The tap's exit code in Meltano's output, if its error line carries one."""
    for text in output.splitlines():
        found = TAP_ERROR.search(text)
        if found:
            return int(found["code"]) if found["code"] else None
    return None


def worth_retrying(tap_code: int | None) -> bool:
    """Whether a failed run may succeed again: by the tap's exit code.

    A loader's failure, or a run the tap did not fail with a code, is retried.
    """
    return tap_code not in FINAL_EXIT_CODES


def for_client(line: str, key_env: str) -> str:
    """The tap's line, with a rejected key's hint naming the client's variable.

    Under the code location the key comes from `key_env`, not from the tap's
    `api_key` setting that the tap's own hint names.
    """
    return KEY_HINT.sub(f"; check {key_env} (this client's API key)", line)


def failure_cause(output: str, loader: str) -> str:
    """Why a run failed when the tap said nothing: the loader's own words.

    The loader's exception (the last line of its traceback), else its last
    line that mentions an error; then the same from any other plugin; then
    Meltano's first error ("Loader failed": its later ones, such as "Block run
    completed", only say that something failed); then the output's last line.
    """
    lines = output.strip().splitlines()
    said = [_split(text) for text in lines]
    for chosen in (
        [(name, text) for name, text in said if name == loader],
        [(name, text) for name, text in said if name not in {None, "meltano"}],
    ):
        exceptions = [line for line in chosen if _EXCEPTION.match(line[1])]
        errors = [line for line in chosen if "error" in line[1].lower()]
        if exceptions or errors:
            name, text = (exceptions or errors)[-1]
            return f"{name}: {text}"[:500]
    meltano = [
        text for raw, (_, text) in zip(lines, said, strict=True) if "[error" in raw
    ]
    return (meltano[:1] or [text for _, text in said[-1:]] or ["?"])[0][:500]


def rows_loaded(output: str, loader: str) -> dict[str, int]:
    """Rows per table: the loader's `record_count` metrics, else the tap's.

    SDK loaders count what they wrote under the same stream names as the tap,
    so adding both would count every row twice; a loader that counts nothing
    (target-duckdb) leaves the tap's count.
    """
    counts: dict[bool, dict[str, int]] = {
        by_loader: dict.fromkeys(TABLES, 0) for by_loader in (True, False)
    }
    counted = False
    for text in output.splitlines():
        if '"record_count"' not in text or "METRIC: " not in text:
            continue
        name, said = _split(text)
        metric = said.split("METRIC: ", 1)[-1]
        try:
            point = json.loads(metric[: metric.rindex("}") + 1])
        except ValueError:
            continue
        stream = point.get("tags", {}).get("stream")
        if stream in TABLES:
            counts[name == loader][stream] += int(point.get("value", 0))
            counted = counted or name == loader
    return counts[counted]
