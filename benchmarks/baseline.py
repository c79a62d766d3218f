"""The bare-HTTP ceiling: the fastest loop we can write that emits the same lines.

No SDK, no checks, no schema, no de-duplication: `requests` with one kept-alive
session, `orjson` to parse each page and encode each row, one `time_extracted`
per page, and bytes written straight to stdout in one write per page. Pages are
read at `page_size` strides, trusting `count`. Modes:

  sequential    one page after another
  concurrent    the first page for `count`, then N pages in flight (--in-flight),
                written in order
  retry-after   sequential; sleeps what a 429's Retry-After says, retries 5xx

With --batch-dir, rows go to JSONL files of --batch-size rows there (gzip at
--gzip-level with --compression gzip), and stdout gets a BATCH line per file:
what the tap writes in BATCH mode, minus everything that makes it correct.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=["sequential", "concurrent", "retry-after"])
    parser.add_argument("--stream", default="phone_numbers")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--batch-dir")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--compression", choices=["none", "gzip"], default="none")
    parser.add_argument("--gzip-level", type=int, default=1)
    args = parser.parse_args()

    session = requests.Session()
    path = {"phone_numbers": "phone-numbers"}.get(args.stream, args.stream)
    endpoint = f"{args.url}/v1/{path}"
    headers = {"x-api-key": args.key}
    extra = dict(item.split("=", 1) for item in args.param)
    prefix = b'{"type":"RECORD","stream":"' + args.stream.encode() + b'","record":'
    write = sys.stdout.buffer.write

    def fetch(offset: int) -> dict[str, Any]:
        params = {"limit": args.page_size, "offset": offset, "order": "asc", **extra}
        while True:
            response = session.get(endpoint, params=params, headers=headers, timeout=60)
            if args.mode == "retry-after":
                if response.status_code == 429:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code >= 500:
                    continue
            response.raise_for_status()
            body: dict[str, Any] = orjson.loads(response.content)
            return body

    def records(rows: list[dict[str, Any]]) -> None:
        extracted = datetime.now(timezone.utc).isoformat().encode()
        suffix = b',"time_extracted":"' + extracted + b'"}\n'
        write(b"".join(prefix + orjson.dumps(row) + suffix for row in rows))

    files = Files(args, write) if args.batch_dir else None
    emit = files.add if files else records

    first = fetch(0)
    emit(first["data"])
    count = first["count"]
    offsets = range(len(first["data"]), count, args.page_size)
    if args.mode == "concurrent":
        with ThreadPoolExecutor(max_workers=args.in_flight) as pool:
            for page in pool.map(fetch, offsets):
                emit(page["data"])
    else:
        for offset in offsets:
            emit(fetch(offset)["data"])
    if files:
        files.close()


class Files:
    """Rows into files of `--batch-size` rows; a BATCH line for each."""

    def __init__(self, args: argparse.Namespace, write: Any) -> None:
        self.args, self.write = args, write
        self.stem = f"{args.batch_dir}/bare--{args.stream}-{uuid.uuid4()}"
        self.count = self.rows = 0
        self.file: Any = None
        self.encoding = orjson.dumps(
            {"format": "jsonl", "compression": args.compression}
        )

    def add(self, rows: list[dict[str, Any]]) -> None:
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        while rows:
            if self.file is None:
                self.count += 1
                suffix = ".jsonl.gz" if self.args.compression == "gzip" else ".jsonl"
                self.name = f"{self.stem}-{self.count}{suffix}"
                self.file = (
                    gzip.open(self.name, "wb", compresslevel=self.args.gzip_level)  # noqa: SIM115
                    if self.args.compression == "gzip"
                    else Path(self.name).open("wb")  # noqa: SIM115
                )
            room = self.args.batch_size - self.rows
            chunk, rows = rows[:room], rows[room:]
            self.file.write(b"".join([dumps(row, option=newline) for row in chunk]))
            self.rows += len(chunk)
            if self.rows == self.args.batch_size:
                self.close()

    def close(self) -> None:
        if self.file is None:
            return
        self.file.close()
        self.file, self.rows = None, 0
        self.write(
            b'{"type":"BATCH","stream":"'
            + self.args.stream.encode()
            + b'","encoding":'
            + self.encoding
            + b',"manifest":["file://'
            + self.name.encode()
            + b'"]}\n'
        )


if __name__ == "__main__":
    main()
