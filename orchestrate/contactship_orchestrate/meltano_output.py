"""What a `meltano run` of the tap printed: its error line, rows per table.

Plain text parsing, without Dagster, so the tap's own test suite checks it.
"""

from __future__ import annotations

import json
import re

TABLES = ("phone_numbers", "calls", "agents", "contacts", "whole_reads")
#: Lines the tap ends a failed run with, as Meltano prints them.
TAP_ERROR = re.compile(r"tap-contactship: error: (?P<line>.*?)(?:\s+cmd_type=\S+.*)?$")


def tap_error(output: str) -> str | None:
    """The tap's one error line in Meltano's output, if it wrote one."""
    for text in output.splitlines():
        found = TAP_ERROR.search(text)
        if found:
            return found["line"].strip()
    return None


def last_error(output: str) -> str:
    """Meltano's last error line, when the tap said nothing (a loader failed).

    Without a line that mentions an error, the output's last line.
    """
    lines = output.strip().splitlines()
    errors = [text for text in lines if "error" in text.lower()]
    return ((errors or lines or ["?"])[-1]).strip()[:500]


def rows_loaded(output: str) -> dict[str, int]:
    """The tap's `record_count` metrics, summed per stream."""
    rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    for text in output.splitlines():
        if '"record_count"' not in text or "METRIC: " not in text:
            continue
        metric = text.split("METRIC: ", 1)[1]
        try:
            point = json.loads(metric[: metric.rindex("}") + 1])
        except ValueError:
            continue
        stream = point.get("tags", {}).get("stream")
        if stream in rows:
            rows[stream] += int(point.get("value", 0))
    return rows
