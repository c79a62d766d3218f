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
    parser.add_argument(
        "--report", action="store_true", help="end with the agents' last 7 days"
    )
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
    if args.report:
        report(con)


#: Each agent's last 7 days with calls, from the marts dbt built.
REPORT = """
select
    coalesce(agent_name, agent_id) as agent,
    sum(calls) as calls,
    sum(completed_calls) as completed,
    round(100.0 * sum(completed_calls) / sum(calls), 1) as "completion %",
    round(sum(total_duration_seconds) / sum(calls), 1) as "avg duration s"
from analytics.agent_daily_performance
where call_day > (select max(call_day) from analytics.agent_daily_performance) - 7
group by 1
order by calls desc, agent
"""


def report(con: duckdb.DuckDBPyConnection) -> None:
    """Print how each agent did over the last 7 days that had calls."""
    marts = {
        row[0]
        for row in con.sql(
            "select table_name from information_schema.tables "
            "where table_schema = 'analytics'"
        ).fetchall()
    }
    if "agent_daily_performance" not in marts:
        print("\n(no analytics yet: run `meltano invoke dbt-duckdb:build`)")
        return
    print("\nAgents, last 7 days with calls (analytics.agent_daily_performance):")
    con.sql(REPORT).show(max_width=160)


if __name__ == "__main__":
    main()
