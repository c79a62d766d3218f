"""Where a run's steps execute: child processes of the run, or Celery workers."""

from __future__ import annotations

import os

import dagster as dg

#: `CONTACTSHIP_EXECUTOR`: `multiprocess` (Dagster's default: each step a
#: child process of its run) or `celery` (each step a task on a Celery worker,
#: on this machine or another; install `orchestrate/[celery]`).
EXECUTORS = ("multiprocess", "celery")
#: The Celery broker and result backend (`redis://host:6379/0`); workers
#: started with `dagster-celery worker start` must use the same.
BROKER_ENV = "CONTACTSHIP_CELERY_BROKER"


def executor() -> dg.ExecutorDefinition | None:
    """The executor `CONTACTSHIP_EXECUTOR` names (None: Dagster's default).

    Raises:
        ValueError: An unknown executor, or Celery without its broker.
    """
    name = os.environ.get("CONTACTSHIP_EXECUTOR", "multiprocess")
    if name not in EXECUTORS:
        msg = f"CONTACTSHIP_EXECUTOR={name!r}: use one of {', '.join(EXECUTORS)}"
        raise ValueError(msg)
    if name == "multiprocess":
        return None
    if not os.environ.get(BROKER_ENV):
        msg = f"CONTACTSHIP_EXECUTOR=celery needs {BROKER_ENV} (e.g. redis://127.0.0.1:6379/0)"
        raise ValueError(msg)
    from dagster_celery import celery_executor  # noqa: PLC0415 (an optional extra)

    # A worker that dies mid-step must not take the step with it: the task is
    # acknowledged only once it ran, and goes back to the queue when its
    # worker is lost, for another worker to run (Meltano resumes its state).
    return celery_executor.configured(
        {
            "broker": {"env": BROKER_ENV},
            "backend": {"env": BROKER_ENV},
            "config_source": {
                "task_acks_late": True,
                "task_reject_on_worker_lost": True,
                "worker_prefetch_multiplier": 1,
                "broker_transport_options": {"visibility_timeout": 60},
            },
        },
        name="celery",
    )
