"""The `tap-contactship` command: every failure is one line and a non-zero exit."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import typing as t
from pathlib import Path

from tap_contactship import diagnose, interrupts
from tap_contactship.errors import (
    ConfigError,
    ContactshipError,
    ExitCode,
    SyncInterruptedError,
)
from tap_contactship.output import delivered, flush_writers
from tap_contactship.redaction import redact
from tap_contactship.tap import TapContactship

if t.TYPE_CHECKING:
    from collections.abc import Sequence

#: The file options the SDK reads, checked first so a bad one is named.
FILE_OPTIONS = ("--config", "--state", "--catalog")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; a known failure ends with one line on stderr and its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        check_files(args)
        with interrupts.held():
            if "--diagnose" in args:  # a report on the API, not a sync
                diagnose.main(args)
            else:
                TapContactship.cli.main(args=args, prog_name="tap-contactship")
    except ContactshipError as exc:
        flush_writers()  # the records read before the failure come first
        fail(explain(exc), exc.exit_code)
    except Exception as exc:
        flush_writers()
        logging.getLogger("tap-contactship").debug("the sync failed", exc_info=True)
        fail(unexpected(exc), ExitCode.UNEXPECTED)
    finally:
        # A reader that went away (`| head`) is handled by click: it exits 1
        # quietly and makes later flushes of stdout harmless, this one included.
        flush_writers()


def explain(error: ContactshipError) -> str:
    """The error's line; an interruption also says what was delivered."""
    if not isinstance(error, SyncInterruptedError):
        return str(error)
    done = delivered()
    parts = []
    if done.records:
        parts.append(f"{done.records:,} rows in RECORD messages")
    if done.batches:
        files = (
            "1 BATCH message"
            if done.batches == 1
            else f"{done.batches:,} BATCH messages"
        )
        parts.append(f"{done.batch_rows:,} rows in {files}")
    if not parts:
        return f"{error} before any record was written"
    resume = (
        "the last STATE on stdout lets the next run resume from there"
        if done.resumable
        else "no STATE was written after them: the next run starts over"
    )
    return f"{error} after {' and '.join(parts)}; {resume}"


def unexpected(error: Exception) -> str:
    """One line for a failure the tap did not word itself."""
    return (
        f"the sync failed: {type(error).__name__}: {error} (from the Singer SDK, "
        "a stream map or `batch_config`; TAP_CONTACTSHIP_LOGLEVEL=DEBUG shows the "
        "traceback)"
    )


def fail(message: str, exit_code: int) -> t.NoReturn:
    """Print the one error line and exit.

    Under Meltano (which configures the SDK's logging) the line is logged at
    ERROR, so Meltano shows the reason as the error instead of at info level.
    Meltano itself exits 1 whatever the tap's code and does not print it, so
    there the line ends with it: a scheduler reads the failure's class there.
    """
    line = "tap-contactship: error: " + redact(" ".join(message.split()))
    if "SINGER_SDK_LOG_CONFIG" in os.environ:
        logging.getLogger("tap-contactship").error(f"{line} (exit code {exit_code})")
    else:
        sys.stderr.write(line + "\n")
    sys.exit(exit_code)


def check_files(args: Sequence[str]) -> None:
    """Read each --config, --state and --catalog file once, as the SDK will.

    Raises:
        ConfigError: One is missing, unreadable or not JSON; names it.
    """
    for option, path in _file_arguments(args):
        if option == "--config" and path == "ENV":
            continue
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            msg = f"cannot read the {option} file {path}: {reason}"
            raise ConfigError(msg) from None
        try:
            json.loads(text)
        except ValueError as exc:
            where = (
                f" (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            msg = (
                f"the {option} file {path} is not valid JSON{where}: truncated, "
                "or not JSON?"
            )
            raise ConfigError(msg) from None


def _file_arguments(args: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for position, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option not in FILE_OPTIONS:
            continue
        if not equals:
            if position + 1 >= len(args):
                continue  # click reports the missing value
            value = args[position + 1]
        found.append((option, value))
    return found


def cli() -> None:
    """The `tap-contactship` command: `main` in a process of its own."""
    # Everything imported so far lives until exit: keep the garbage collector
    # from walking it again and again, and once more at shutdown (~40 ms).
    gc.freeze()
    main()


if __name__ == "__main__":
    cli()
