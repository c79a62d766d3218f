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

ACTIVATE_VERSION is held back, per stream. The SDK writes it before a
full-table stream's records, and a target that receives it deletes (or
soft-deletes) every row of an older version: if the sync then failed halfway,
rows not yet read again would be gone from the warehouse. Held here, a
stream's message is written only when that stream says it handed over its
last record of a complete list (`activate`), before the stream's next STATE
(in BATCH mode, the one after its last BATCH message); a stream that fails, or
whose list may be incomplete, never activates its version, whatever the other
streams do. This is Singer's original rule (singer-io tap-postgres full_table).
"""

from __future__ import annotations

import atexit
import sys
import typing as t
import weakref
from dataclasses import dataclass
from decimal import Decimal

import orjson
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import (
    ActivateVersionMessage,
    RecordMessage,
    SchemaMessage,
    StateMessage,
)

if t.TYPE_CHECKING:
    from singer_sdk import Stream
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


_WRITERS: weakref.WeakSet[BufferedSingerWriter] = weakref.WeakSet()


@atexit.register
def flush_writers() -> None:
    """Write out what every writer holds.

    The last RECORDs of a sync need not be followed by a STATE, and a failed sync
    still hands over what it read.
    """
    for writer in list(_WRITERS):
        writer.write_ready()
        writer.flush()


def end_version(stream: Stream, writer: t.Any, *, complete: bool) -> None:
    """`stream` ended: its held ACTIVATE_VERSION follows, if its list is whole."""
    if not complete:
        withhold_version(
            stream,
            writer,
            "the list may be incomplete, so no ACTIVATE_VERSION is sent: no row "
            "is deleted in the warehouse this run",
        )
    elif isinstance(writer, BufferedSingerWriter):
        for stream_map in stream.stream_maps:
            writer.activate(stream_map.stream_alias)


def withhold_version(stream: Stream, writer: t.Any, why: str) -> None:
    """`stream`'s held ACTIVATE_VERSION is never sent; say why if it was asked for."""
    if isinstance(writer, BufferedSingerWriter):
        for stream_map in stream.stream_maps:
            writer.discard(stream_map.stream_alias)
    if stream.emit_activate_version_messages:
        stream.logger.warning("%s: %s", stream.name, why)


def note_batch_rows(writer: t.Any, url: str, rows: int) -> None:
    """The file at `url` holds `rows` rows (counted when a BATCH names it)."""
    if isinstance(writer, BufferedSingerWriter):
        writer.file_rows[url] = rows


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
        total.records += writer.records
        total.batch_rows += writer.batch_rows
        total.batches += writer.batches
        total.resumable |= writer.resumable
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
        self._held: dict[str, ActivateVersionMessage] = {}
        #: Rows of batch files not yet announced, by URL (`note_batch_rows`).
        self.file_rows: dict[str, int] = {}
        self.batch_rows = 0
        self.batches = 0
        #: Whether a STATE followed a row: a later run resumes from the last one.
        self.resumable = False
        self._ready: list[ActivateVersionMessage] = []
        _WRITERS.add(self)

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
        if isinstance(message, ActivateVersionMessage):
            self._held[message.stream] = message
            return
        if isinstance(message, (StateMessage, SchemaMessage)):
            self.write_ready()
        if isinstance(message, StateMessage):
            self.resumable = bool(self.records or self.batches)
        elif message.type == "BATCH":  # the SDK's class for it is private
            self.batches += 1
            manifest = getattr(message, "manifest", [])
            self.batch_rows += sum(self.file_rows.pop(u, 0) for u in manifest)
        self._lines.append(self.format_message(message) + "\n")
        self.flush()

    def activate(self, stream: str) -> None:
        """`stream` handed over the last record of a complete list.

        Its held ACTIVATE_VERSION, if any, follows before the next STATE (in
        BATCH mode, the one after the stream's last BATCH message), the next
        stream's SCHEMA, or the end of the output. Other streams' stay held.
        """
        message = self._held.pop(stream, None)
        if message is not None:
            self._ready.append(message)

    def write_ready(self) -> None:
        """Write the ACTIVATE_VERSION messages of streams that ended whole."""
        self._lines += [self.format_message(m) + "\n" for m in self._ready]
        self._ready.clear()

    def discard(self, stream: str) -> None:
        """`stream` ended without a complete list: its version is never activated."""
        self._held.pop(stream, None)

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
