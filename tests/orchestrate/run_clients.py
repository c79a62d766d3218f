"""Run the Dagster code location's jobs; print what happened as JSON.

Runs under `.venv-dagster/bin/python` (Dagster is not in the tap's venv), with
DAGSTER_HOME and the organizations file set by the test:

    run_clients.py inprocess acme globex    # one run per partition, in this process
    run_clients.py multiprocess acme globex # all at once, steps in child processes
    run_clients.py transform                # the dbt assets

`multiprocess` runs each partition's run in a process of its own, at the same
time, as Dagster's run launcher does (one instance is not shared between
threads: its SQLite storage deadlocks), with the multiprocess executor: the
step runs in a child process of that run.
"""

import json
import subprocess
import sys

import dagster as dg

from contactship_orchestrate import definitions


def load_client_job() -> dg.JobDefinition:
    return definitions.defs.get_job_def("load_client")


def transform_job() -> dg.JobDefinition:
    return definitions.defs.get_job_def("transform")


def report(run_id: str, success: bool, instance: dg.DagsterInstance) -> dict:
    records = instance.all_logs(run_id)
    events = [r.dagster_event for r in records if r.dagster_event]
    failures = [
        e.step_failure_data.user_failure_data.description
        for e in events
        if e.is_step_failure and e.step_failure_data.user_failure_data
    ]
    return {
        "success": success,
        "failures": failures,
        "retries": sum(e.is_step_up_for_retry for e in events),
        "materialized": sorted(
            "/".join(e.asset_key.path) for e in events if e.is_step_materialization
        ),
        "rows synced": {
            "/".join(e.asset_key.path): metadata["rows synced"].value
            for e in events
            if e.is_step_materialization
            and "rows synced"
            in (metadata := e.step_materialization_data.materialization.metadata)
        },
        # Everything the event log holds, to check that no key is in it.
        "log": [r.user_message for r in records]
        + [repr(e.event_specific_data) for e in events],
    }


def main() -> None:
    mode, partitions = sys.argv[1], sys.argv[2:]
    instance = dg.DagsterInstance.get()
    results = {}
    if mode == "inprocess":
        for partition in partitions:
            result = load_client_job().execute_in_process(
                partition_key=partition, instance=instance, raise_on_error=False
            )
            results[partition] = report(result.run_id, result.success, instance)
    elif mode == "multiprocess":
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "run-one", partition],
                stdout=subprocess.PIPE,
                text=True,
            )
            for partition in partitions
        ]
        for partition, worker in zip(partitions, workers, strict=True):
            out, _ = worker.communicate()
            results[partition] = json.loads(out.splitlines()[-1])
    elif mode == "run-one":
        (partition,) = partitions
        with dg.execute_job(
            dg.reconstructable(load_client_job),
            instance,
            tags={"dagster/partition": partition},
        ) as result:
            print(json.dumps(report(result.run_id, result.success, instance)))
            return
    else:
        result = transform_job().execute_in_process(
            instance=instance, raise_on_error=False
        )
        results["transform"] = report(result.run_id, result.success, instance)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
