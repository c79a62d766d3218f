"""The Dagster code location: one partition per organization, dbt downstream.

- `contactship_raw/<table>`: the four raw tables, partitioned by organization.
  A materialization is the project's own `meltano run tap-contactship
  <loader>` for that client: its key (from the variable its entry names), its
  state (`--state-id-suffix=<name>`, in Meltano's system database), its schema.
  A rejected key or a bad setting fails at once with the tap's one line; any
  other failure is retried with exponential backoff.
- The dbt package as assets (`dagster-dbt`, from the project's manifest),
  built once over every organization's schema.
- `hourly_loads` requests one `load_client` run per organization every hour;
  the instance's run queue (`home/dagster.yaml`) bounds how many run at once.
  `transform_after_loads` starts the dbt build once every run of that hour has
  finished, whatever each one's outcome: one client's failure stops nobody.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from contactship_orchestrate.meltano_output import (
    TABLES,
    failure_cause,
    find_meltano,
    for_client,
    installation_problem,
    rows_loaded,
    tap_error,
    tap_exit_code,
    worth_retrying,
)
from contactship_orchestrate.organizations import (
    PROJECT,
    Organization,
    load_organizations,
)

ORGANIZATIONS = load_organizations()
BY_NAME = {org.name: org for org in ORGANIZATIONS}
#: The loader every client writes with (docs/orchestration.md says why not DuckDB).
LOADER = os.environ.get("CONTACTSHIP_LOADER", "target-postgres")
#: The warehouse it writes to: the dbt target and the raw assets' kind.
WAREHOUSE = "postgres" if LOADER == "target-postgres" else "duckdb"
#: Run tags the run queue's limits refer to (`home/dagster.yaml`).
CLIENT_LOAD_TAG = "contactship/client-load"
LOADER_TAG = "contactship/loader"
TICK_TAG = "contactship/tick"
# Like Meltano's and Dagster's (`home/dagster.yaml`): dbt reports nothing home,
# neither for the manifest parsed below nor for the builds.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

partitions = dg.StaticPartitionsDefinition([org.name for org in ORGANIZATIONS])


class MeltanoProject(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The Meltano project and where it keeps state."""

    project_dir: str = str(PROJECT)
    executable: str = str(find_meltano(PROJECT))
    #: Meltano's system database: PostgreSQL, so any worker can run any client.
    database_uri: str
    loader: str = LOADER
    #: Seconds a client's run may take.
    timeout: float = 3600
    #: Each client's own Meltano system folder (see `system_folder`).
    work_dir: str = str(PROJECT / "output/dagster/meltano")

    def system_folder(self, org: Organization) -> Path:
        """A `.meltano` folder for one client, sharing the project's plugins.

        Two `meltano run`s of the same extractor in one project write the same
        `.meltano/run/tap-contactship/tap.properties.json`, and one reads the
        other's half-written catalog. Each client gets its own `run`, `logs`
        and `elt` (MELTANO_SYS_DIR_ROOT) and links to the installed plugins.
        """
        shared = Path(self.project_dir) / ".meltano"
        folder = Path(self.work_dir) / org.name
        folder.mkdir(parents=True, exist_ok=True)
        for entry in shared.iterdir():
            link = folder / entry.name
            if entry.name not in {"run", "logs", "elt"} and not link.exists():
                link.symlink_to(entry)
        return folder

    def run(self, org: Organization, log: Any) -> dict[str, int]:
        """`meltano run` for one client; rows loaded per table.

        Raises:
            dg.Failure: The run failed; its description is the tap's own line
                (or the loader's cause), or says what to install first.
        """
        missing = installation_problem(
            Path(self.project_dir), Path(self.executable), self.loader
        )
        if missing:
            raise dg.Failure(description=f"{org.name}: {missing}", allow_retries=False)
        key = os.environ.get(org.key_env, "")
        if not key:
            raise dg.Failure(
                description=f"{org.key_env} is not set (the API key of {org.name})",
                allow_retries=False,
            )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAP_")},
            "MELTANO_DATABASE_URI": self.database_uri,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_SYS_DIR_ROOT": str(self.system_folder(org)),
            "TAP_CONTACTSHIP_API_KEY": key,
            # Every loader the project declares writes to this schema.
            "MELTANO_EXTRACT__LOAD_SCHEMA": org.schema,
        }
        loader_env = self.loader.upper().replace("-", "_")
        env[f"{loader_env}_DEFAULT_TARGET_SCHEMA"] = org.schema
        if org.api_url:
            env["TAP_CONTACTSHIP_API_URL"] = org.api_url
        command = [
            self.executable,
            "run",
            f"--state-id-suffix={org.name}",
            "tap-contactship",
            self.loader,
        ]
        log.info(f"{org.name}: {' '.join(command[1:])} into schema {org.schema}")
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 (the project's own meltano)
            command,
            cwd=self.project_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        output = (done.stdout + done.stderr).replace(key, "[redacted]")
        if done.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-15:])
            log.error(f"{org.name}: meltano run failed ({done.returncode}):\n{tail}")
            tapped = tap_error(output)
            line = (
                for_client(tapped, org.key_env)
                if tapped
                else failure_cause(output, self.loader)
            )
            raise dg.Failure(
                description=f"{org.name}: {line}",
                allow_retries=worth_retrying(tap_exit_code(output)),
                metadata={"exit code": done.returncode},
            )
        log.info(f"{org.name}: loaded in {time.monotonic() - started:.1f} s")
        return rows_loaded(output, self.loader)


def retry_policy() -> dg.RetryPolicy:
    """Retries of a failed client run: exponential backoff from the delay."""
    return dg.RetryPolicy(
        max_retries=int(os.environ.get("CONTACTSHIP_RETRIES", "3")),
        delay=float(os.environ.get("CONTACTSHIP_RETRY_DELAY", "60")),
        backoff=dg.Backoff.EXPONENTIAL,
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["contactship_raw", table],
            description=f"Raw `{table}` of every organization, one schema each",
            kinds={"meltano", WAREHOUSE},
        )
        for table in TABLES
    ],
    partitions_def=partitions,
    retry_policy=retry_policy(),
    group_name="contactship_raw",
    op_tags={CLIENT_LOAD_TAG: "true"},
)
def contactship_raw(
    context: dg.AssetExecutionContext, meltano: MeltanoProject
) -> Iterator[dg.MaterializeResult]:
    """Load one organization's Contactship data with Meltano."""
    org = BY_NAME[context.partition_key]
    rows = meltano.run(org, context.log)
    for table in TABLES:
        yield dg.MaterializeResult(
            asset_key=["contactship_raw", table],
            metadata={
                "schema": org.schema,
                "rows synced": dg.MetadataValue.int(rows[table]),
            },
        )


class Translator(DagsterDbtTranslator):
    """The package's `contactship` sources are the raw assets above."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:  # noqa: D102
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["contactship_raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:  # noqa: ARG002, D102
        return "contactship_models"


dbt_project = DbtProject(
    project_dir=PROJECT / "transform",
    profiles_dir=PROJECT / "transform/profiles",
    target_path=Path(
        os.environ.get("CONTACTSHIP_DBT_TARGET_PATH", PROJECT / "output/dagster/dbt")
    ),
    target=WAREHOUSE,
)
#: dbt from this venv (dbt-core and dbt-postgres are this package's dependencies).
dbt_cli = DbtCliResource(
    project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
)
if not dbt_project.manifest_path.exists():
    # The manifest the dbt assets are read from: parsed once, here, so that
    # `dagster dev`, `dagster job execute` and a test all find it. The web
    # server, the daemon and each run import this module, maybe at once: each
    # parses into a folder of its own and moves the whole file into place.
    own = dbt_project.target_path / f"parse-{os.getpid()}"
    dbt_cli.cli(["parse"], target_path=own).wait()
    (own / "manifest.json").replace(dbt_project.manifest_path)
    shutil.rmtree(own, ignore_errors=True)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
)
def contactship_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource
) -> Iterator[Any]:
    """`dbt build` over the schema of every organization loaded at least once."""
    loaded = context.instance.get_materialized_partitions(
        dg.AssetKey(["contactship_raw", "calls"])
    )
    schemas = [org.schema for org in ORGANIZATIONS if org.name in loaded]
    if not schemas:
        raise dg.Failure(description="no organization has been loaded yet")
    context.log.info(f"dbt build over {', '.join(schemas)}")
    variables = json.dumps({"contactship_schemas": schemas})
    yield from dbt.cli(["build", "--vars", variables], context=context).stream()


load_client = dg.define_asset_job(
    "load_client",
    selection=dg.AssetSelection.assets(contactship_raw),
    partitions_def=partitions,
    tags={CLIENT_LOAD_TAG: "true", LOADER_TAG: LOADER},
    description="Load one organization (a partition) with Meltano",
)
transform = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.assets(contactship_models),
    description="Build the dbt package over every organization's schema",
)


@dg.schedule(cron_schedule="0 * * * *", job=load_client, execution_timezone="UTC")
def hourly_loads(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """Every hour, one run per organization (queued: see `home/dagster.yaml`)."""
    tick = context.scheduled_execution_time.isoformat()
    for org in ORGANIZATIONS:
        yield dg.RunRequest(
            run_key=f"{org.name}@{tick}", partition_key=org.name, tags={TICK_TAG: tick}
        )


FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}


@dg.sensor(job=transform, minimum_interval_seconds=60)
def transform_after_loads(
    context: dg.SensorEvaluationContext,
) -> Iterator[dg.RunRequest]:
    """The dbt build, once per hour's loads, after every one of them finished."""
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=load_client.name), limit=10 * len(ORGANIZATIONS)
    )
    ticks: dict[str, list[dg.DagsterRun]] = {}
    for run in runs:
        tick = run.tags.get(TICK_TAG)
        if tick:
            ticks.setdefault(tick, []).append(run)
    for tick, tick_runs in sorted(ticks.items()):
        loaded = {run.tags.get("dagster/partition") for run in tick_runs}
        if loaded >= set(BY_NAME) and all(run.status in FINISHED for run in tick_runs):
            yield dg.RunRequest(run_key=f"transform@{tick}", tags={TICK_TAG: tick})


defs = dg.Definitions(
    assets=[contactship_raw, contactship_models],
    jobs=[load_client, transform],
    schedules=[hourly_loads],
    sensors=[transform_after_loads],
    resources={
        "meltano": MeltanoProject(database_uri=dg.EnvVar("MELTANO_DATABASE_URI")),
        "dbt": dbt_cli,
    },
)
