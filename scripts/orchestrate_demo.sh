#!/usr/bin/env bash
# Dagster in one command, with no server to bring: three fake Contactship APIs
# (acme, globex, and initech whose key the API rejects), the code location of
# orchestrate/ loading each into DuckDB (the loader that needs no server) with
# Meltano's state in SQLite, every partition materialized, then the dbt
# assets; then the Dagster UI on loopback until Ctrl-C. Everything it writes
# is under output/orchestrate-demo/.
#
#   bash scripts/orchestrate_demo.sh            # ... and serve the UI
#   bash scripts/orchestrate_demo.sh --no-ui    # materialize, print, stop
#   bash scripts/orchestrate_demo.sh --install  # only install what is missing
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ui=true
[ "${1:-}" = "--no-ui" ] && ui=false
port=${ORCHESTRATE_DEMO_PORT:-3000}
demo=$PWD/output/orchestrate-demo

# What the code location runs: Meltano (.venv-meltano, else a meltano 4.4.1 on
# PATH) with the tap and both loaders in .meltano, Dagster in .venv-dagster.
# Only what is missing is installed.
ensure_pipeline
if [ ! -x .meltano/loaders/target-postgres/venv/bin/target-postgres ]; then
  say "installing target-postgres (once)"
  "$MELTANO" install target-postgres >/dev/null 2>&1 || "$MELTANO" install target-postgres
fi
if [ ! -x .venv-dagster/bin/dagster ]; then
  say "installing Dagster into .venv-dagster (once, a few minutes)"
  python3 -m venv .venv-dagster
  .venv-dagster/bin/python -m pip install -qq -e orchestrate/
fi
[ "${1:-}" = "--install" ] && exit 0

rm -rf "$demo" && mkdir -p "$demo/home"
cp orchestrate/home/dagster.yaml "$demo/home/"
# The community sign-up dialog would cover the UI on a first visit.
mkdir -p "$demo/home/.nux" && echo "seen: 1" > "$demo/home/.nux/nux.yaml"

pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
start_api() { # name, the key it accepts, calls
  python3 tests/fake_contactship.py --demo --port 0 --api-key "$2" \
    --phone-numbers 60 --calls "$3" --agents 3 --contacts 40 \
    --url-file "$demo/$1-api-url" >/dev/null &
  pids+=($!)
}
start_api acme demo-acme-key 300
start_api globex demo-globex-key 150
start_api initech initech-real-key 50
for name in acme globex initech; do
  for _ in $(seq 50); do [ -s "$demo/$name-api-url" ] && break; sleep 0.1; done
  [ -s "$demo/$name-api-url" ] || { echo "error: the $name demo API did not start" >&2; exit 1; }
done

{
  echo "organizations:"
  for name in acme globex initech; do
    upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
    echo "  - {name: $name, schema: contactship_$name, key_env: CONTACTSHIP_KEY_$upper, api_url: '$(cat "$demo/$name-api-url")'}"
  done
} > "$demo/organizations.yml"

export DAGSTER_HOME=$demo/home
export CONTACTSHIP_ORGANIZATIONS=$demo/organizations.yml
export CONTACTSHIP_LOADER=target-duckdb
export CONTACTSHIP_DBT_TARGET_PATH=$demo/dbt
export CONTACTSHIP_RETRIES=0
export MELTANO_DATABASE_URI=sqlite:///$demo/meltano.db
export TARGET_DUCKDB_FILEPATH=$demo/warehouse.duckdb
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
export CONTACTSHIP_KEY_ACME=demo-acme-key
export CONTACTSHIP_KEY_GLOBEX=demo-globex-key
# Not the key initech's API accepts: its partition fails, naming this variable.
export CONTACTSHIP_KEY_INITECH=initech-old-key
location=(-m contactship_orchestrate.definitions)

for name in acme globex initech; do
  say "materializing partition $name (dagster job execute -j load_client)"
  if .venv-dagster/bin/dagster job execute "${location[@]}" -j load_client \
    --tags "{\"dagster/partition\": \"$name\"}" >"$demo/$name.log" 2>&1; then
    echo "$name: loaded into schema contactship_$name"
  else
    # The step's failure, as the event log holds it.
    failure=$(sed -n "s/^dagster[._a-z]*\.Failure: //p" "$demo/$name.log" | head -1 || true)
    echo "$name: failed: ${failure:-see $demo/$name.log}"
  fi
done
say "materializing the dbt assets (dagster job execute -j transform)"
.venv-dagster/bin/dagster job execute "${location[@]}" -j transform >"$demo/transform.log" 2>&1 \
  || { tail -20 "$demo/transform.log" >&2; exit 1; }
echo "dbt: built the analytics schema over every loaded client"
show_warehouse "$demo/warehouse.duckdb"

if $ui; then
  echo "Dagster UI: http://127.0.0.1:$port (Ctrl-C stops it and the demo APIs)"
  .venv-dagster/bin/dagster-webserver -h 127.0.0.1 -p "$port" "${location[@]}" \
    >"$demo/webserver.log" 2>&1
fi
