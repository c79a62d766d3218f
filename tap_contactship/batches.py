"""BATCH output: JSONL batch files written straight from the parsed pages.

The SDK's own batching runs every record through its record loop and then its
JSONL batcher, which gzips every file whatever `encoding.compression` says
while the BATCH message announces the configured compression. These files
are written as announced: `gzip` or `none`.

A file is written under a temporary name next to its final one and renamed
when it holds `batch_size` rows (or the list ended), so a file is complete
before any BATCH message names it; a file that fails halfway is removed. For
storage that is not a local path (`s3://…`), files go through the SDK's
`StorageTarget.open`, whose fsspec transaction commits a file only when it is
closed without an error.
"""

from __future__ import annotations

import gzip
import typing as t
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson

if t.TYPE_CHECKING:
    from collections.abc import Iterator

#: zlib level for `compression: gzip`. On 100,000 calls (72 MB of JSONL),
#: level 3 compresses as fast as level 1 (0.25 s) into a file 12% smaller;
#: level 6 takes twice as long for 16% less again, Python's default 9 seven
#: times as long for 5% less than 6 (`python benchmarks/run.py --gzip-levels`).
GZIP_LEVEL = 3


class Storage(t.Protocol):
    """What is used of the SDK's `StorageTarget` (`batch_config.storage`)."""

    prefix: str | None

    def get_url(self, filename: str) -> str: ...  # noqa: D102

    def open(  # noqa: D102
        self, filename: str, mode: str = ...
    ) -> t.ContextManager[t.BinaryIO]: ...


class Encoding(t.Protocol):
    """What is used of `batch_config.encoding`."""

    format: str
    compression: str | None


class BatchConfig(t.Protocol):
    """What is used of the `batch_config` the SDK hands to `get_batches`."""

    encoding: Encoding
    storage: Storage
    batch_size: int


class BatchFiles:
    """Rows into files of `batch_size` rows; each file's URL once it is whole."""

    def __init__(self, config: BatchConfig, name: str) -> None:
        """Write files named `<prefix><name>-<uuid>-<n>.jsonl[.gz]`.

        The SDK's settings schema allows `gzip` and `none` (unset: none).
        """
        self.storage = config.storage
        self.size = int(config.batch_size)
        self.gzip = config.encoding.compression == "gzip"
        suffix = ".jsonl.gz" if self.gzip else ".jsonl"
        stem = f"{config.storage.prefix or ''}{name}-{uuid.uuid4()}"
        self.names = (f"{stem}-{n}{suffix}" for n in range(1, 1 << 62))
        self.file: BatchFile | None = None

    def write(
        self, rows: list[dict[str, t.Any]]
    ) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """Add rows; the URL and last row of each file they fill up."""
        start = 0
        while start < len(rows):
            if self.file is None:
                name = next(self.names)
                self.file = BatchFile(self.storage, name, compress=self.gzip)
            room = self.size - self.file.rows
            chunk = rows[start : start + room]
            self.file.write(chunk)
            start += len(chunk)
            if self.file.rows >= self.size:
                yield self.close()

    def close(self) -> tuple[str, dict[str, t.Any]]:
        """Finish the file being written; its URL and last row."""
        assert self.file is not None  # noqa: S101
        file, self.file = self.file, None
        return file.commit(), file.last

    def finish(self) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """The URL and last row of the last file, if it holds any rows."""
        if self.file is not None and self.file.rows:
            yield self.close()

    def abandon(self) -> None:
        """Remove the file being written: it is never announced."""
        if self.file is not None:
            file, self.file = self.file, None
            file.discard()


class BatchFile:
    """One batch file being written; visible under its name only once whole."""

    def __init__(self, storage: Storage, name: str, *, compress: bool) -> None:
        """Open the file (a temporary name for a local path)."""
        self.url = storage.get_url(name)
        self.rows = 0
        self.last: dict[str, t.Any] = {}
        self.stack = ExitStack()
        parsed = urlparse(self.url)
        self.path = Path(unquote(parsed.path)) if parsed.scheme == "file" else None
        raw: t.IO[bytes]
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.partial = self.path.with_name(self.path.name + ".partial")
            raw = self.stack.enter_context(self.partial.open("wb"))
        else:
            raw = self.stack.enter_context(storage.open(name, "wb"))
        #: Where the encoded lines go: the file, or gzip in front of it.
        self.put: t.Callable[[bytes], int] = raw.write
        if compress:
            self.put = self.stack.enter_context(
                gzip.GzipFile(
                    filename="",
                    fileobj=raw,
                    mode="wb",
                    compresslevel=GZIP_LEVEL,
                    mtime=0,
                )
            ).write

    def write(self, rows: list[dict[str, t.Any]]) -> None:
        """Append rows, one JSON object per line."""
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        self.put(b"".join([dumps(row, option=newline) for row in rows]))
        self.rows += len(rows)
        self.last = rows[-1]

    def commit(self) -> str:
        """Close the file under its final name; its URL."""
        self.stack.close()
        if self.path is not None:
            self.partial.replace(self.path)
        return self.url

    def discard(self) -> None:
        """Close and remove a file that will not be finished."""
        error = RuntimeError("batch file abandoned")
        # An exception passed in: fsspec's transaction then commits nothing.
        self.stack.__exit__(type(error), error, None)
        if self.path is not None:
            self.partial.unlink(missing_ok=True)
