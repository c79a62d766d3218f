#!/usr/bin/env bash
# The same pipeline with no API key: a local fake Contactship API serves a few
# hundred demo rows dated the last three weeks up to now (every documented call
# status, a transcript per call), Meltano loads them into
# output/demo/warehouse.duckdb (with its own state, apart from your real one),
# dbt builds the analytics tables, the rows and a report are printed, the fake
# stops. Every example query of the README has rows in this warehouse.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_pipeline
rm -rf output/demo && mkdir -p output/demo

python3 tests/fake_contactship.py --demo --port 0 --api-key demo-key-0000 \
  --phone-numbers 300 --calls 400 --agents 4 --contacts 120 \
  --url-file output/demo/api-url >/dev/null &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s output/demo/api-url ] && break; sleep 0.1; done
[ -s output/demo/api-url ] || { echo "error: the demo API did not start" >&2; exit 1; }

say "meltano run tap-contactship target-duckdb dbt-duckdb:build (against the demo API at $(cat output/demo/api-url))"
TAP_CONTACTSHIP_API_KEY=demo-key-0000 \
TAP_CONTACTSHIP_API_URL="$(cat output/demo/api-url)" \
TAP_CONTACTSHIP_INCLUDE_TRANSCRIPTS=true \
MELTANO_DATABASE_URI="sqlite:///$PWD/output/demo/meltano.db" \
TARGET_DUCKDB_FILEPATH="$PWD/output/demo/warehouse.duckdb" \
  "$MELTANO" run tap-contactship target-duckdb dbt-duckdb:build
show_warehouse output/demo/warehouse.duckdb --sample 3 --report
