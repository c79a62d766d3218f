# Shared by scripts/sync.sh and scripts/demo.sh: find Meltano (or install it
# once, inside the project folder) and the plugins the pipeline needs.
MELTANO_VERSION=4.4.1
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false
export MELTANO_CLI_DISABLE_VERSION_CHECK=true

say() { printf '==> %s\n' "$*" >&2; }

ensure_pipeline() {
  MELTANO=.venv-meltano/bin/meltano
  if [ ! -x "$MELTANO" ]; then
    if command -v meltano >/dev/null \
      && meltano --version 2>/dev/null | grep -q "version $MELTANO_VERSION"; then
      MELTANO=$(command -v meltano)
    else
      say "installing Meltano $MELTANO_VERSION into .venv-meltano (once)"
      python3 -m venv .venv-meltano
      .venv-meltano/bin/python -m pip install -qq "meltano[postgres]==$MELTANO_VERSION"
    fi
  fi
  if [ ! -x .meltano/extractors/tap-contactship/venv/bin/tap-contactship ] \
    || [ ! -x .meltano/loaders/target-duckdb/venv/bin/target-duckdb ] \
    || [ ! -x .meltano/transformers/dbt-duckdb/venv/bin/dbt ]; then
    say "installing tap-contactship, target-duckdb and dbt-duckdb (once)"
    "$MELTANO" install tap-contactship target-duckdb dbt-duckdb >/dev/null 2>&1 \
      || "$MELTANO" install tap-contactship target-duckdb dbt-duckdb
  fi
}

show_warehouse() {
  .meltano/loaders/target-duckdb/venv/bin/python scripts/show_warehouse.py "$@"
}
