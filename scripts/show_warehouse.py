"""Print the tables of a DuckDB warehouse with their row counts (and a sample).

Run with the target-duckdb plugin's Python, which has the pinned duckdb.
"""

from __future__ import annotations

import argparse

import duckdb


def main() -> None:
    """Print `schema.table  rows` for every table, then optional sample rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--sample", type=int, default=0, help="rows to show per table")
    args = parser.parse_args()

    con = duckdb.connect(args.path, read_only=True)
    tables = con.sql(
        "select table_schema, table_name from information_schema.tables "
        "order by table_schema, table_name"
    ).fetchall()
    print(f"\nWarehouse {args.path}:")
    for schema, table in tables:
        name = f'"{schema}"."{table}"'
        count = con.sql(f"select count(*) from {name}").fetchall()[0][0]  # noqa: S608
        print(f"  {schema}.{table:<16} {count:>8} rows")
    for schema, table in tables if args.sample else []:
        print(f"\n{schema}.{table} (first {args.sample} rows):")
        relation = con.sql(f'select * from "{schema}"."{table}" limit {args.sample}')  # noqa: S608
        relation.show(max_width=160)


if __name__ == "__main__":
    main()
