"""Run MeltanoLabs target-snowflake against fakesnow, in one process.

Test-only, never shipped. target-snowflake has no host or port setting, so
this launcher patches the Snowflake connector with fakesnow (an in-process
Snowflake on DuckDB) and translates the few statements fakesnow cannot run
into ones it can, keeping the target's own SQL wherever fakesnow understands
it: its CREATE/ALTER TABLE, its MERGE (join on the key, update every column,
insert the rest) and COPY column lists, and its DELETE/UPDATE for
ACTIVATE_VERSION all run as the target wrote them.

The gaps of fakesnow 0.12.1 and what happens to each statement here:
- PUT file://… '@~/target-snowflake/<id>': the user stage `@~` is unknown.
  The file is remembered under <id>.
- CREATE/DROP FILE FORMAT, REMOVE '@~/…': not parsed. Nothing to do; the
  statement succeeds.
- MERGE … USING (SELECT $1:col::TYPE … FROM '@~/…'(file_format => f)
  QUALIFY … ORDER BY SEQ8() DESC) and COPY INTO … FROM (SELECT $1:col::TYPE
  … FROM '@~/…'): fakesnow cannot select from a stage. The staged lines go
  into a table of one VARIANT column (`$1`) and a sequence (`SEQ8()`), and the
  statement reads from it. A fresh session has no current schema, so that
  table is made beside the target table (`USE SCHEMA`).
- fakesnow turns a MERGE into joins that DuckDB refuses for a subquery source
  ("LATERAL reference"): the target's subquery (its casts, its QUALIFY
  dedup) is run into a table first, and the MERGE reads that table.
- dbt-snowflake's incremental models (delete+insert) read a `create or
  replace temporary table DB.SCHEMA.x__dbt_tmp`; DuckDB keeps temporary
  objects in its `temp` catalog only, so that table is an ordinary one here.
- The target drains its streams in parallel threads; one DuckDB connection
  refuses a second concurrent call, so streams drain one at a time.

Usage: python snowflake_launcher.py DB_PATH --config FILE  (the target's CLI)
       python snowflake_launcher.py DB_PATH --query SQL…   (rows as JSON)
       python snowflake_launcher.py DB_PATH --dbt ARGS…    (dbt-snowflake's CLI)
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import fakesnow
import fakesnow.cursor

STAGE = r"'@~/target-snowflake/(?P<sync>[^'/]+)/?'"
PUT = re.compile(
    rf"^put\s+'?(?:file://)?(?P<file>[^'\s]+)'?\s+{STAGE}\s*$", re.I | re.S
)
NOTHING_TO_DO = re.compile(
    rf"^\s*(create or replace file format|drop file format|remove\s+{STAGE})", re.I
)
FROM_STAGE = re.compile(rf"from\s+{STAGE}\s*(\(\s*file_format\s*=>\s*[^)]*\))?", re.I)
FILE_FORMAT_CLAUSE = re.compile(
    r"\)\s*file_format\s*=\s*\(format_name='[^']*'\)\s*$", re.I
)

QUALIFIED_TEMPORARY_TABLE = re.compile(
    r"\bcreate or replace\s+temporary\s+table\s+(?=\S+\.\S+\.)", re.I
)

INTO = re.compile(r"^\s*(?:merge|copy) into (?P<table>\S+)", re.I)
MERGE_SOURCE = re.compile(
    r"\busing\s+\((?P<select>select\b.*?)\)\s+s\s+on\s", re.I | re.S
)

staged: dict[str, list[Path]] = {}
original_execute = fakesnow.cursor.FakeSnowflakeCursor.execute


def staged_lines(sync: str) -> list[str]:
    lines: list[str] = []
    for path in staged.get(sync, []):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines.extend(line for line in handle if line.strip())
    return lines


def execute(
    self: Any, command: str, params: Any = None, *args: Any, **kwargs: Any
) -> Any:
    if isinstance(params, dict) and "file_uri" in params:
        command = command.replace("%(file_uri)s", f"'{params['file_uri']}'")
        params = None
    command = QUALIFIED_TEMPORARY_TABLE.sub("create or replace table ", command)
    put = PUT.match(command.strip())
    if put:
        staged.setdefault(put["sync"], []).append(Path(put["file"]))
        return original_execute(self, "select 1 where false")
    nothing_to_do = NOTHING_TO_DO.match(command)
    if nothing_to_do:
        staged.pop(nothing_to_do["sync"] or "", None)
        return original_execute(self, "select 1 where false")
    source = FROM_STAGE.search(command)
    if source:
        table = f"stage_{source['sync'].replace('-', '_')}"
        # The staged rows live beside the target table (a new session has no
        # current schema).
        into = INTO.search(command)
        if into:
            original_execute(self, f"use schema {into['table'].rsplit('.', 1)[0]}")
        original_execute(
            self, f"create or replace temporary table {table} (v variant, seq integer)"
        )
        for seq, line in enumerate(staged_lines(source["sync"])):
            original_execute(
                self, f"insert into {table} select parse_json(%s), %s", (line, seq)
            )
        command = FROM_STAGE.sub(f"from {table}", command)
        command = FILE_FORMAT_CLAUSE.sub(")", command)
        command = command.replace("$1:", "v:").replace("SEQ8()", "seq")
        merge_source = MERGE_SOURCE.search(command)
        if merge_source:
            original_execute(
                self,
                f"create or replace temporary table {table}_rows as {merge_source['select']}",
            )
            command = (
                command[: merge_source.start("select") - 1]
                + f"{table}_rows"
                + command[merge_source.end("select") + 1 :]
            )
    return original_execute(self, command, params, *args, **kwargs)


def query(statements: list[str]) -> None:
    """Print each statement's rows, as one JSON list."""
    import snowflake.connector

    # fakesnow's own notice about Arrow copies is noise on stderr here.
    warnings.simplefilter("ignore")

    connection = snowflake.connector.connect(database="DB", schema="CONTACTSHIP")
    cursor = connection.cursor()
    rows = [cursor.execute(sql).fetchall() for sql in statements]
    print(json.dumps(rows, default=str))


def main() -> None:
    db_path, *arguments = sys.argv[1:]
    fakesnow.cursor.FakeSnowflakeCursor.execute = execute
    with fakesnow.patch(db_path=db_path):
        if arguments[:1] == ["--query"]:
            query(arguments[1:])
            return
        if arguments[:1] == ["--dbt"]:
            from dbt.cli.main import dbtRunner

            sys.exit(0 if dbtRunner().invoke(arguments[1:]).success else 1)
        from target_snowflake.target import TargetSnowflake

        sys.argv = [sys.argv[0], *arguments]
        original_init = TargetSnowflake.__init__

        def one_drain_at_a_time(target: Any, *a: Any, **kw: Any) -> None:
            original_init(target, *a, **kw)
            target.max_parallelism = 1

        TargetSnowflake.__init__ = one_drain_at_a_time
        TargetSnowflake.cli()


if __name__ == "__main__":
    main()
