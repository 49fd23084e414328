"""The imports queue and its jobs: RQ's queue with REDIS_URL, else this
process's own (inprocess.py: a background thread in a web process, the
caller elsewhere). Jobs are named by their dotted path, so a job on the
queue never pins an import of this module's callers."""

from __future__ import annotations

import uuid
from typing import Any

import django_rq
from django.conf import settings
from redis.exceptions import RedisError

from runs.execution import inprocess
from runs.models import ImportRun, RunPartition

QUEUE_NAME = "imports"
EXECUTE_RUN = "runs.execution.jobs.execute_run"
EXECUTE_PARTITION = "runs.execution.jobs.execute_partition"

QUEUE_DOWN = (
    "Run {run_id} stays queued: the queue is unreachable ({error}). "
    "A worker enqueues it again once the queue is back."
)


def run_enqueue_job(run_id: int, *, job_id: str | None = None) -> None:
    """A new job for a run (also the reconciler's, for a lost one)."""
    job_id = job_id or new_job_id(f"import-run-{run_id}")
    # Before the enqueue: the job may defer the run (job_id DEFERRED) before
    # this process gets to write anything after it.
    ImportRun.objects.filter(pk=run_id).update(job_id=job_id)
    try:
        get_queue().enqueue(EXECUTE_RUN, run_id, job_id=job_id)
    except RedisError:
        # No job was made: the run keeps no job id (the reconciler's sign of
        # a lost job), unless its job already changed it.
        ImportRun.objects.filter(pk=run_id, job_id=job_id).update(job_id="")
        raise


def partition_enqueue_job(run_id: int, index: int) -> None:
    """A job for one partition of a planned run (also the reconciler's)."""
    job = get_queue().enqueue(
        EXECUTE_PARTITION,
        run_id,
        index,
        job_id=new_job_id(f"import-run-{run_id}-p{index}"),
    )
    RunPartition.objects.filter(run_id=run_id, index=index).update(job_id=job.id)


def new_job_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def get_queue() -> Any:
    """The imports queue: RQ's with REDIS_URL, else this process's own
    (runs/execution/inprocess.py: a background thread in a web process, the caller
    elsewhere)."""
    if settings.IMPORTER_SYNC_JOBS:
        return inprocess.InProcessQueue()
    return django_rq.get_queue(QUEUE_NAME)
