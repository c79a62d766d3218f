"""Singer messages on stdout, without the per-record costs of the SDK's writer.

The SDK's default writer encodes with simplejson in pure Python and flushes
stdout after every message; its `contrib.msgspec` writer encodes in C, but
also flushes after every message, and each flush is a system call that hands
the interpreter lock to the threads fetching pages. `python benchmarks/run.py`
runs the whole tap with each (its last rows): on 100,000 phone numbers this
writer is about 10% faster end to end than the msgspec one, and the default is
far behind. So this one is kept.

RECORD lines are encoded by orjson and collected in a buffer of our own (stdout
may be unbuffered: PYTHONUNBUFFERED), written in large chunks; every other
message (SCHEMA, STATE, ...) writes the buffer out and flushes, so a target sees
each STATE right after its records.

ACTIVATE_VERSION: the SDK writes it before a full-table stream's records, and
a target that receives it deletes (or soft-deletes) every row of an older
version: if the sync then failed halfway, rows not yet read again would be gone
from the warehouse. So this writer drops the SDK's, and a stream writes its own
(`WholeListVersion`) after the last record of a list it read whole, before its
next STATE; a stream that fails, or whose list may be incomplete, writes none.
This is Singer's original rule (singer-io tap-postgres full_table).
"""

from __future__ import annotations

import sys
import typing as t
import weakref
from dataclasses import dataclass
from decimal import Decimal

import orjson
from singer_sdk.io_base import SingerWriter
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import (
    ActivateVersionMessage,
    RecordMessage,
    StateMessage,
)

if t.TYPE_CHECKING:
    from singer_sdk.mapper import StreamMap
    from singer_sdk.singerlib.encoding.simple import Message


def _encode_other(value: t.Any) -> t.Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _encode_line(value: t.Any) -> str:
    # orjson writes NaN and Infinity as null, as the SDK's encoder does, and
    # datetimes as isoformat(); it refuses integers beyond 64 bits (TypeError).
    return orjson.dumps(
        value, default=_encode_other, option=orjson.OPT_APPEND_NEWLINE
    ).decode()


# The CLI's way to every writer of the process (`flush_writers`, `delivered`):
# the tap itself flushes its writer when its sync ends (`TapContactship.sync_all`).
_WRITERS: weakref.WeakSet[BufferedSingerWriter] = weakref.WeakSet()


def flush_writers() -> None:
    """Write out what every writer holds (a failed sync hands over what it read)."""
    for writer in list(_WRITERS):
        writer.flush()


class WholeListVersion(ActivateVersionMessage):
    """The ACTIVATE_VERSION a stream writes after the last record of a whole list."""

    def __init__(self, stream: str, version: int) -> None:
        """Activate `version` of `stream`."""
        super().__init__(stream=stream, version=version)


def whole_list_versions(
    stream_maps: list[StreamMap], version: int
) -> list[WholeListVersion]:
    """One ACTIVATE_VERSION per output of a stream, as the SDK writes its own."""
    return [
        WholeListVersion(stream_map.stream_alias, version)
        for stream_map in stream_maps
        if not isinstance(stream_map, RemoveRecordTransform)
    ]


@dataclass
class Delivered:
    """What the writers handed to stdout so far in this process."""

    records: int = 0
    batch_rows: int = 0
    batches: int = 0
    #: A STATE followed a row: the next run resumes from the last one.
    resumable: bool = False


def delivered() -> Delivered:
    """Rows in RECORD and BATCH messages so far, and whether a STATE covers them."""
    total = Delivered()
    for writer in list(_WRITERS):
        mine = writer.delivered()
        total.records += mine.records
        total.batch_rows += mine.batch_rows
        total.batches += mine.batches
        total.resumable |= mine.resumable
    return total


class BufferedSingerWriter(SingerWriter):
    """Same lines as the SDK's writer; RECORDs are not flushed one by one."""

    #: Characters of RECORD lines held before they are written out.
    BUFFER_CHARS = 1 << 16

    def __init__(self) -> None:
        """Start with an empty buffer, written out at exit whatever happens."""
        super().__init__()
        self._lines: list[str] = []
        self._chars = 0
        self.records = 0
        #: Rows of batch files not yet announced, by URL (`note_batch_rows`).
        self.file_rows: dict[str, int] = {}
        self.batch_rows = 0
        self.batches = 0
        #: Whether a STATE followed a row: a later run resumes from the last one.
        self.resumable = False
        _WRITERS.add(self)

    def delivered(self) -> Delivered:
        """Rows in RECORD and BATCH messages so far, and whether a STATE covers them."""
        return Delivered(self.records, self.batch_rows, self.batches, self.resumable)

    def note_batch_rows(self, url: str, rows: int) -> None:
        """The file at `url` holds `rows` rows (counted when a BATCH names it)."""
        self.file_rows[url] = rows

    def serialize_message(self, message: Message) -> str:
        """Encode RECORD messages with orjson, others as the SDK does."""
        if isinstance(message, RecordMessage):
            line = self._record_line(message)
            if line is not None:
                return line[:-1]
        return str(super().serialize_message(message))

    def write_message(self, message: Message) -> None:
        """Buffer a RECORD line; write anything else at once, after the buffer."""
        if isinstance(message, RecordMessage):
            self.records += 1
            line = self._record_line(message)
            if line is not None:
                self._lines.append(line)
                self._chars += len(line)
                if self._chars >= self.BUFFER_CHARS:
                    self.flush()
                return
        if isinstance(message, ActivateVersionMessage) and not isinstance(
            message, WholeListVersion
        ):
            return  # the SDK's, before the records: see the module's docstring
        if isinstance(message, StateMessage):
            self.resumable = bool(self.records or self.batches)
        elif message.type == "BATCH":  # the SDK's class for it is private
            self.batches += 1
            manifest = getattr(message, "manifest", [])
            self.batch_rows += sum(self.file_rows.pop(u, 0) for u in manifest)
        self._lines.append(self.format_message(message) + "\n")
        self.flush()

    def _record_line(self, message: RecordMessage) -> str | None:
        # The whole line in one orjson call: it writes `time_extracted` as
        # isoformat() does, and is twice as fast as joining encoded parts.
        line: dict[str, t.Any] = {
            "type": "RECORD",
            "stream": message.stream,
            "record": message.record,
        }
        if message.version is not None:
            line["version"] = message.version
        if message.time_extracted is not None:
            line["time_extracted"] = message.time_extracted
        try:
            return _encode_line(line)
        except TypeError:  # what orjson cannot encode, the SDK's encoder can
            return None

    def flush(self) -> None:
        """Write the buffered lines and flush stdout."""
        if self._lines:
            lines, self._lines, self._chars = self._lines, [], 0
            sys.stdout.write("".join(lines))
        sys.stdout.flush()
