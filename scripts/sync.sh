#!/usr/bin/env bash
# The main job: extract, load, transform. Loads your Contactship data into the
# embedded DuckDB warehouse (output/warehouse.duckdb, or TARGET_DUCKDB_FILEPATH),
# builds the analytics tables with dbt, and prints what landed and a report.
# Needs TAP_CONTACTSHIP_API_KEY (environment or .env).
# `scripts/sync.sh --diagnose [--format=json]` loads nothing: it reports how the
# API answers your key (`tap-contactship --diagnose`), for a bug report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ -z "${TAP_CONTACTSHIP_API_KEY:-}" ] \
  && ! grep -qsE '^TAP_CONTACTSHIP_API_KEY=.+' .env; then
  echo "error: TAP_CONTACTSHIP_API_KEY is not set: export your Contactship API key (dashboard: Settings > API Keys) or put it in .env; to try the pipeline without one, run: bash scripts/demo.sh" >&2
  exit 2
fi

ensure_pipeline
if [ "${1:-}" = "--diagnose" ]; then
  shift
  exec "$MELTANO" invoke tap-contactship --diagnose "$@"
fi
export TARGET_DUCKDB_FILEPATH="${TARGET_DUCKDB_FILEPATH:-$PWD/output/warehouse.duckdb}"
mkdir -p "$(dirname "$TARGET_DUCKDB_FILEPATH")"
# One request first: a rejected key or an unreachable API stops here, before
# the loader creates an empty warehouse.
say "meltano config test tap-contactship"
if ! log=$("$MELTANO" config test tap-contactship 2>&1 >/dev/null); then
  python3 scripts/error_line.py <<<"$log" >&2
  exit 1
fi
say "meltano run contactship-to-duckdb"
"$MELTANO" run contactship-to-duckdb
show_warehouse "$TARGET_DUCKDB_FILEPATH" --report
