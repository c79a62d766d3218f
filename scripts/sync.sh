#!/usr/bin/env bash
# The main job: load your Contactship data into the embedded DuckDB warehouse
# (output/warehouse.duckdb, or TARGET_DUCKDB_FILEPATH) with `meltano run tap-contactship target-duckdb`,
# then print what landed. Needs TAP_CONTACTSHIP_API_KEY (environment or .env).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ -z "${TAP_CONTACTSHIP_API_KEY:-}" ] \
  && ! grep -qsE '^TAP_CONTACTSHIP_API_KEY=.+' .env; then
  echo "error: TAP_CONTACTSHIP_API_KEY is not set: export your Contactship API key (dashboard: Settings > API Keys) or put it in .env; to try the pipeline without one, run: bash scripts/demo.sh" >&2
  exit 2
fi

ensure_pipeline
export TARGET_DUCKDB_FILEPATH="${TARGET_DUCKDB_FILEPATH:-$PWD/output/warehouse.duckdb}"
mkdir -p "$(dirname "$TARGET_DUCKDB_FILEPATH")"
say "meltano run tap-contactship target-duckdb"
"$MELTANO" run tap-contactship target-duckdb
show_warehouse "$TARGET_DUCKDB_FILEPATH"
