"""Start bqemulator (a local BigQuery on DuckDB) the way the tests need it.

Test-only, never shipped. Two gaps of bqemulator 1.4.0 are patched before
its own `bqemulator start` runs with the given arguments:
- At start it downloads DuckDB's spatial extension (for GEOGRAPHY), which a
  machine without internet cannot: our tables have no GEOGRAPHY, so it is
  skipped.
- z3 target-bigquery's `batch_job` uploads gzip-compressed JSON lines, as
  BigQuery accepts; the emulator reads the upload as plain JSON. Gzip uploads
  are decompressed first.
- z3's upsert MERGE qualifies the columns it sets (`UPDATE SET
  target.`col` = source.`col``), as BigQuery allows; DuckDB, which runs the
  emulator's SQL, refuses qualified names there. The qualifier is dropped
  (the same statement to BigQuery: a MERGE only ever sets its target's
  columns).

Usage: python bigquery_emulator.py --rest-port PORT --grpc-port PORT …
"""

from __future__ import annotations

import gzip
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from bqemulator.cli import main
from bqemulator.jobs import executor
from bqemulator.sql.translator import SQLTranslator
from bqemulator.storage.engine import DuckDBEngine

GZIP_MAGIC = b"\x1f\x8b"
UPDATE_SET = re.compile(r"\bUPDATE SET\b(?P<assignments>.*?)\bWHEN\b", re.S)
read_json = executor._LOAD_FORMAT_HANDLERS["NEWLINE_DELIMITED_JSON"]


def read_json_or_gzip(path: str, target_ref: str, ctx: Any) -> None:
    with Path(path).open("rb") as upload:
        compressed = upload.read(2) == GZIP_MAGIC
    if compressed:
        plain = f"{path}.json"
        with gzip.open(path, "rb") as source, Path(plain).open("wb") as sink:
            shutil.copyfileobj(source, sink)
        path = plain
    read_json(path, target_ref, ctx)


def unqualified_merge_assignments(sql: str) -> str:
    def unqualify(match: re.Match[str]) -> str:
        assignments = match["assignments"].replace("target.`", "`")
        return f"UPDATE SET{assignments}WHEN"

    return UPDATE_SET.sub(unqualify, sql) if "MERGE " in sql else sql


translate = SQLTranslator.translate


def translate_merge(self: SQLTranslator, bq_sql: str, **kwargs: Any) -> Any:
    return translate(self, unqualified_merge_assignments(bq_sql), **kwargs)


if __name__ == "__main__":
    SQLTranslator.translate = translate_merge
    DuckDBEngine._load_spatial = lambda self: None
    executor._LOAD_FORMAT_HANDLERS["NEWLINE_DELIMITED_JSON"] = read_json_or_gzip
    sys.exit(main(["start", *sys.argv[1:]]))
