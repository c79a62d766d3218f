"""BATCH output: JSONL batch files written straight from the parsed pages.

The SDK's own batching runs every record through its record loop and then its
JSONL batcher, which gzips every file whatever `encoding.compression` says
while the BATCH message announces the configured compression. These files
are written as announced: `gzip` or `none`.

A file is written under a temporary name next to its final one and renamed
when it holds `batch_size` rows (or the list ended), so a file is complete
before any BATCH message names it; a file that fails halfway is removed.

Each file lies where the SDK's own batch reader (`Sink.process_batch_files`:
`StorageTarget.split_url`, then `from_url(head).open(tail)`) opens its URL.
That reader takes a `file://` URL's path literally (`%20` is three
characters, not a space), so the URL is `file://` and the path as it is, and
a root is read the same way: `file:///out/my%20batches` is the folder named
`my%20batches`, as the SDK's own writer reads it. A root that is not local
(`s3://…`, `memory://…`) is written through its fsspec filesystem.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import typing as t
import uuid
from contextlib import ExitStack
from pathlib import Path

import orjson
from fsspec.core import url_to_fs
from singer_sdk.mapper import SameRecordTransform

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from singer_sdk.mapper import StreamMap

    from tap_contactship.reader import Outcome

Row = dict[str, t.Any]

#: zlib level for `compression: gzip`. On 100,000 calls (72 MB of JSONL),
#: level 3 compresses as fast as level 1 (0.25 s) into a file 12% smaller;
#: level 6 takes twice as long for 16% less again, Python's default 9 seven
#: times as long for 5% less than 6 (`python benchmarks/run.py --gzip-levels`).
GZIP_LEVEL = 3


class Storage(t.Protocol):
    """What is used of the SDK's `StorageTarget` (`batch_config.storage`)."""

    root: str
    prefix: str | None
    params: dict[str, t.Any]


def local_root(root: str) -> str | None:
    """The folder a local root names, as the SDK reads it; None if not local."""
    if root.startswith("file://"):
        return os.path.abspath(root.removeprefix("file://"))  # noqa: PTH100
    if "://" in root:
        return None
    return os.path.abspath(os.path.expanduser(root))  # noqa: PTH100, PTH111


class Encoding(t.Protocol):
    """What is used of `batch_config.encoding`."""

    format: str
    compression: str | None


class BatchConfig(t.Protocol):
    """What is used of the `batch_config` the SDK hands to `get_batches`."""

    encoding: Encoding
    storage: Storage
    batch_size: int


class MappedRows:
    """A page's rows as the record path emits them: `post_process`, then the map."""

    def __init__(
        self,
        stream_map: StreamMap,
        post_process: t.Callable[[dict[str, t.Any], t.Any], dict[str, t.Any] | None],
        context: t.Any,
    ) -> None:
        """Map with `stream_map` (its filter, transforms and flattening)."""
        self.map = stream_map
        self.post_process = post_process
        self.context = context
        # Without a map or flattening, a row is its own record: no call per row.
        self.plain = type(stream_map) is SameRecordTransform and not (
            stream_map.flattening_enabled
        )
        #: The last row read, filtered out or not: where the bookmark ends.
        self.last: dict[str, t.Any] | None = None

    def of(
        self, page: list[dict[str, t.Any]]
    ) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
        """The mapped rows of `page`, and the row each was mapped from."""
        rows, sources = [], []
        for raw in page:
            row = self.post_process(raw, self.context)
            if row is None:
                continue
            self.last = row
            mapped = row if self.plain else self.map.transform(row)
            if mapped is not None:
                rows.append(mapped)
                sources.append(row)
        return rows, sources


def batch_files(
    pages: Generator[list[Row], None, Outcome],
    files: BatchFiles,
    mapped: MappedRows,
    encoding: Encoding,
    *,
    noted: Callable[[str, int], None],
    bookmark: Callable[[Row], None],
) -> Generator[tuple[Encoding, list[str]], None, Outcome]:
    """Each file the pages fill, once it is whole; returns how the list ended.

    The rows are the record path's (`post_process`, then the map) without the
    SDK's per-record loop. Before each file is yielded, the bookmark moves to
    its last row and `noted(url, rows)` hears of it; the SDK then writes the
    BATCH message and a STATE, so an interrupted sync resumes after the last
    file announced. A file that fails halfway is removed, never announced.
    """
    try:
        while True:
            try:
                page = next(pages)
            except StopIteration as end:
                outcome: Outcome = end.value
                break
            rows, sources = mapped.of(page)
            for url, source in files.write(rows, sources):
                bookmark(source)
                noted(url, files.sizes[url])
                yield encoding, [url]
        for url, source in files.finish():
            bookmark(source)
            noted(url, files.sizes[url])
            yield encoding, [url]
    except BaseException:
        files.abandon()
        raise
    if mapped.last is not None:
        # Rows a map filtered out after the last file: the final STATE (the
        # tap's, at the end of the sync) covers them, as in RECORD mode.
        bookmark(mapped.last)
    return outcome


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
        #: Rows of each file written, by URL.
        self.sizes: dict[str, int] = {}
        #: Where files go: a local folder, or an fsspec filesystem and its root.
        #: A filesystem of our own: fsspec shares cached instances, and one
        #: left inside a transaction (the SDK's `StorageTarget.open` leaves one
        #: when it fails) would hold back every file written through it.
        self.folder = local_root(config.storage.root)
        self.fs: t.Any = None
        self.root = ""
        if self.folder is None:
            params = config.storage.params or {}
            self.fs, root = url_to_fs(
                config.storage.root, skip_instance_cache=True, **params
            )
            self.root = str(root).rstrip("/")

    def write(
        self, rows: list[dict[str, t.Any]], sources: list[dict[str, t.Any]]
    ) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """Add rows; the URL of each file they fill up, and the source of its last.

        `sources[i]` is the row that `rows[i]` was mapped from (the stream's
        own row, which holds the bookmark).
        """
        start = 0
        while start < len(rows):
            if self.file is None:
                name = next(self.names)
                self.file = BatchFile(self, name, compress=self.gzip)
            room = self.size - self.file.rows
            chunk = rows[start : start + room]
            self.file.write(chunk)
            start += len(chunk)
            self.file.last = sources[start - 1]
            if self.file.rows >= self.size:
                yield self.close()

    def close(self) -> tuple[str, dict[str, t.Any]]:
        """Finish the file being written; its URL and last row."""
        assert self.file is not None  # noqa: S101
        file, self.file = self.file, None
        url = file.commit()
        self.sizes[url] = file.rows
        return url, file.last

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

    def __init__(self, files: BatchFiles, name: str, *, compress: bool) -> None:
        """Open the file under a temporary name next to its final one."""
        self.rows = 0
        self.last: dict[str, t.Any] = {}
        self.stack = ExitStack()
        self.fs = files.fs
        raw: t.IO[bytes]
        if files.folder is not None:
            self.path = f"{files.folder}/{name}"
            self.url = "file://" + self.path
            partial = Path(self.path + ".partial")
            partial.parent.mkdir(parents=True, exist_ok=True)
            raw = self.stack.enter_context(partial.open("wb"))
        else:
            self.path = f"{files.root}/{name}"
            self.url = self.fs.unstrip_protocol(self.path)
            self.fs.makedirs(self.path.rsplit("/", 1)[0], exist_ok=True)
            raw = self.stack.enter_context(self.fs.open(self.path + ".partial", "wb"))
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

    def commit(self) -> str:
        """Close the file under its final name; its URL."""
        self.stack.close()
        if self.fs is None:
            Path(self.path + ".partial").replace(self.path)
        else:
            self.fs.mv(self.path + ".partial", self.path)
        return self.url

    def discard(self) -> None:
        """Close and remove a file that will not be finished."""
        self.stack.close()
        with contextlib.suppress(OSError):
            if self.fs is None:
                Path(self.path + ".partial").unlink(missing_ok=True)
            else:
                self.fs.rm(self.path + ".partial")
