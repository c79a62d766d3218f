"""Which calls one run emits: a window on `created_at`, built per sync.

Calls change after they are created (status, result, analysis and recording
arrive later) and the API has no `updated_at`, so a run that starts after a
finished one re-reads the `calls_lookback_days` before its bookmark.

A run that resumes an interrupted one continues where that one stopped. The
SDK's state tells them apart: while a sorted stream is read, its STATEs carry
the newest call handed over (`replication_key_value`) and the SDK's
`starting_replication_value`, which only the end of the stream's sync removes.
A state that still has it is an interrupted run's (`Interrupted` notes which,
from the state the run was given, before the SDK overwrites the marker): the
next run reads from that call on (the calls created at that instant again,
and the day before over HTTP, as `date_from` has day precision), with no
look-back. Its own STATEs carry the marker again until it finishes, so however
often a sync is cut, each run continues from the last STATE.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

from tap_contactship import responses
from tap_contactship.errors import APIError, ConfigError
from tap_contactship.timestamps import (
    TimestampError,
    canonical_timestamp,
    parse_timestamp,
)

Row = dict[str, t.Any]


class CallsWindow:
    """The calls from `start` on, checked to be in `created_at` order."""

    def __init__(self, start: datetime | None) -> None:
        """Emit calls created at or after `start` (None: every call)."""
        self.start = start
        # Canonical forms compare as their instants do (see timestamps.py).
        self.since = None if start is None else canonical_timestamp(start)
        #: The last `created_at` read, in the canonical form.
        self.previous: str | None = None

    def params(self) -> dict[str, t.Any]:
        """`date_from`: a day before the window starts."""
        if self.start is None:
            return {}
        # The docs only show day precision and name no timezone: a day of
        # margin covers any reading of the date; the rest is cut client-side.
        # The day is taken in UTC: in the offset's own zone (up to +14:00) the
        # day before can still start after the window in a server's zone as
        # far west as -12:00.
        day_before = self.start.astimezone(timezone.utc) - timedelta(1)
        return {"date_from": day_before.date().isoformat()}

    def select(self, rows: list[Row]) -> list[Row]:
        """The calls of one page from the window start on.

        Raises:
            APIError: A `created_at` is not a timestamp, or calls come out of
                order (a bookmark taken from them would skip calls).
        """
        since, previous = self.since, self.previous
        kept = []
        for row in rows:
            created_at = row.get("created_at")
            if created_at is not None:
                # Read even without a window: a garbled value must not become
                # the bookmark that the next run starts from. Written back, so
                # `post_process` leaves it alone (`canonical_fields`).
                created_at = row["created_at"] = responses.api_timestamp(
                    created_at, "calls.created_at", row.get("id")
                )
                if previous is not None and created_at < previous:
                    message = responses.out_of_order_message(created_at, previous)
                    raise APIError(message)
                previous = created_at
            if since is None or created_at is None or created_at >= since:
                kept.append(row)
        self.previous = previous
        return kept


def bookmark_time(value: t.Any) -> datetime:
    """A `created_at` bookmark read from the state.

    Raises:
        ConfigError: It is not a timestamp.
    """
    try:
        return parse_timestamp(value)
    except TimestampError:
        msg = (
            "the state's `calls` bookmark is not a timestamp; fix or clear it "
            "(meltano state clear <state id>)"
        )
        raise ConfigError(msg) from None


def window_start(
    bookmark: t.Any, lookback: timedelta, start_date: str | None
) -> datetime | None:
    """The earliest `created_at` a run emits.

    The bookmark minus the look-back on later runs, `start_date` on the first,
    never earlier than `start_date`; None means every call.

    Raises:
        ConfigError: The state's bookmark is not a timestamp.
    """
    floor = parse_timestamp(start_date) if start_date else None
    if not bookmark:
        return floor
    start = bookmark_time(bookmark) - lookback
    return max(start, floor) if floor else start


#: The SDK's marker of a stream whose sync has not finished (its name in
#: `singer_sdk.helpers._state`, a private module).
STARTING = "starting_replication_value"


class Interrupted:
    """The streams whose input state is an interrupted run's."""

    def __init__(self) -> None:
        """No stream, until a state is loaded."""
        self.streams: set[str] = set()

    def load(self, state: dict[str, t.Any]) -> None:
        """Note the streams of `state` (a STATE's value) that had not finished."""
        for name, stream_state in (state.get("bookmarks") or {}).items():
            if isinstance(stream_state, dict) and STARTING in stream_state:
                self.streams.add(name)


def run_start(
    bookmark: t.Any,
    *,
    interrupted: bool,
    lookback: timedelta,
    start_date: str | None,
) -> datetime | None:
    """The earliest `created_at` a run emits.

    Where an interrupted run stopped, else the look-back window (`window_start`).

    Raises:
        ConfigError: The state's bookmark is not a timestamp.
    """
    if not (interrupted and bookmark):
        return window_start(bookmark, lookback, start_date)
    resume = bookmark_time(bookmark)
    floor = parse_timestamp(start_date) if start_date else None
    return max(resume, floor) if floor else resume
