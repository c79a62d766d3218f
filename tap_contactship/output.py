"""Singer messages on stdout, without the per-record costs of the SDK's writer.

The SDK flushes stdout after every message and encodes with simplejson in pure
Python. Here RECORD lines are encoded by the standard library's C encoder and
collected in a buffer of our own (stdout may be unbuffered: PYTHONUNBUFFERED),
written in large chunks; every other message (SCHEMA, STATE, ...) writes the
buffer out and flushes, so a target sees each STATE right after its records.
"""

from __future__ import annotations

import atexit
import json
import sys
import typing as t
import weakref
from datetime import datetime
from decimal import Decimal

from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message


def _encode_other(value: t.Any) -> t.Any:
    if isinstance(value, datetime):
        return value.isoformat(sep="T")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


_encode_record = json.JSONEncoder(
    separators=(",", ":"), default=_encode_other, allow_nan=False
).encode


_WRITERS: weakref.WeakSet[BufferedSingerWriter] = weakref.WeakSet()


@atexit.register
def flush_writers() -> None:
    """Write out what every writer holds.

    The last RECORDs of a sync need not be followed by a STATE, and a failed sync
    still hands over what it read.
    """
    for writer in list(_WRITERS):
        writer.flush()


def records_written() -> int:
    """RECORD messages handed to the writers so far in this process."""
    return sum(writer.records for writer in list(_WRITERS))


class BufferedSingerWriter(SingerWriter):
    """Same lines as the SDK's writer; RECORDs are not flushed one by one."""

    #: Characters of RECORD lines held before they are written out.
    BUFFER_CHARS = 1 << 16

    def __init__(self) -> None:
        """Start with an empty buffer, written out at exit whatever happens."""
        super().__init__()
        self._lines: list[str] = []
        self._chars = 0
        self._prefixes: dict[str, str] = {}
        self.records = 0
        _WRITERS.add(self)

    def serialize_message(self, message: Message) -> str:
        """Encode RECORD messages with the C encoder, others as the SDK does."""
        if isinstance(message, RecordMessage):
            try:
                record = _encode_record(message.record)
            except ValueError:  # NaN or Infinity: the SDK's encoder writes null
                return str(super().serialize_message(message))
            prefix = self._prefixes.get(message.stream)
            if prefix is None:
                stream = _encode_record(message.stream)
                prefix = self._prefixes[message.stream] = (
                    f'{{"type":"RECORD","stream":{stream},"record":'
                )
            line = prefix + record
            if message.version is not None:
                line += f',"version":{message.version}'
            if message.time_extracted is not None:
                line += f',"time_extracted":"{message.time_extracted.isoformat()}"'
            return line + "}"
        return str(super().serialize_message(message))

    def write_message(self, message: Message) -> None:
        """Buffer a RECORD line; write anything else at once, after the buffer."""
        line = self.format_message(message) + "\n"
        self._lines.append(line)
        self._chars += len(line)
        if isinstance(message, RecordMessage):
            self.records += 1
            if self._chars < self.BUFFER_CHARS:
                return
        self.flush()

    def flush(self) -> None:
        """Write the buffered lines and flush stdout."""
        if self._lines:
            lines, self._lines, self._chars = self._lines, [], 0
            sys.stdout.write("".join(lines))
        sys.stdout.flush()
