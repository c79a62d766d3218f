"""One request of a diagnosis and what came back, and the envelope it came in."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


def envelope_of(
    payload: t.Any,
) -> tuple[str, list[dict[str, t.Any]] | None, int | None]:
    """The envelope's name, its rows (None if unknown) and its `count`."""
    if isinstance(payload, list):
        rows = [row for row in payload if isinstance(row, dict)]
        return "bare array", rows, None
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        rows = [row for row in payload["data"] if isinstance(row, dict)]
        count = payload.get("count")
        count = (
            count if isinstance(count, int) and not isinstance(count, bool) else None
        )
        if "statusCode" in payload:
            return "{statusCode, data}", rows, count
        return ("{data, count}" if "count" in payload else "{data}"), rows, count
    if isinstance(payload, dict):
        keys = ", ".join(sorted(str(k)[:20] for k in payload)[:8])
        return f"unknown (an object with keys {keys})", None, None
    return "none (no JSON body)" if payload is None else "unknown", None, None


@dataclass
class Exchange:
    """One request of the diagnosis and what came back (parsed, not yet judged)."""

    purpose: str
    status: int | None = None
    seconds: float = 0.0
    rate_headers: dict[str, str] = field(default_factory=dict)
    payload: t.Any = None
    #: Why the tap's own `parse_response` refuses the body; None: it reads it.
    refused: str | None = None
    #: The failure, in the tap's words, when there is no usable body.
    error: str | None = None
    #: Every attempt's HTTP status (0: no response).
    statuses: list[int] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, t.Any]]:
        """The rows, whichever envelope carried them (none if unknown)."""
        return envelope_of(self.payload)[1] or []
