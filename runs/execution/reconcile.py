"""The reconciler: finds runs whose worker died or whose job Redis lost, and
puts them back on track. Every worker runs it when it starts and every
IMPORTER_RECONCILE_SECONDS (runs/execution/worker.py); `manage.py reconcile_runs`
runs it by hand or from cron.

- A running partition without a heartbeat for IMPORTER_STALE_SECONDS lost
  its worker: it goes back to pending (a new ``attempt`` fences the old
  worker out) and is enqueued again; it resumes from its checkpoint. When
  only the work horse died, its worker sees it and hands the partition back
  at once (reconcile_dead_job).
- A run that died while being planned (running, no partitions yet) goes
  back to queued and is enqueued again.
- After IMPORTER_MAX_ATTEMPTS the run is failed with WORKER_DIED instead;
  `replay_run` completes it (its committed rows are skipped as unchanged).
- A queued run, or a pending partition, whose job is not on the queue any
  more (Redis restarted, flushed, or the job failed before it started) is
  enqueued again; a queued run only when it is its turn (no run of its
  source and target running, none older queued): a deferred run waits
  without a job until the run before it ends (leases.run_enqueue_next).

Every change is a compare-and-set on what was read, so reconcilers running
on several workers at once do each thing once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rq.exceptions import NoSuchJobError
from rq.job import Job

from runs import services
from runs.execution import queue as run_queue
from runs.models import ImportRun, RunPartition

logger = logging.getLogger(__name__)

WORKER_DIED = (
    "The worker died while importing this run (no heartbeat for {seconds} s; tried {attempts} times). "
    "Rows committed before it died stay; replay the run to complete it."
)

WORK_HORSE_DIED = (
    "The worker died while importing this run (its work horse was killed; tried {attempts} times). "
    "Rows committed before it died stay; replay the run to complete it."
)

# Job states in which the job will still run (or is running).
_LIVE_JOB_STATES = ("queued", "started", "deferred", "scheduled")


@dataclass
class ReconcileReport:
    resumed_partitions: list[tuple[int, int]] = field(default_factory=list)
    requeued_runs: list[int] = field(default_factory=list)
    reenqueued_jobs: list[str] = field(default_factory=list)
    failed_runs: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.resumed_partitions
            or self.requeued_runs
            or self.reenqueued_jobs
            or self.failed_runs
        )


def reconcile_runs(*, now: dt.datetime | None = None) -> ReconcileReport:
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.IMPORTER_STALE_SECONDS)
    report = ReconcileReport()
    _resume_stale_partitions(stale_before, report)
    _requeue_stale_plans(stale_before, report)
    _reenqueue_lost_jobs(stale_before, report)
    if report:
        logger.warning("reconciled runs: %s", report)
    return report


def _worker_died(
    run_id: int, attempts: int, report: ReconcileReport, template: str = WORKER_DIED
) -> None:
    message = template.format(seconds=settings.IMPORTER_STALE_SECONDS, attempts=attempts)
    run = services.run_mark_failed(run_id=run_id, message=message)
    if run.error_message == message:
        report.failed_runs.append(run_id)


def _resume_stale_partitions(stale_before: dt.datetime, report: ReconcileReport) -> None:
    stale = RunPartition.objects.filter(
        status=RunPartition.Status.RUNNING,
        heartbeat_at__lt=stale_before,
        run__status=ImportRun.Status.RUNNING,
    )
    _resume_partitions(stale, report)


def _resume_partitions(parts, report: ReconcileReport, template: str = WORKER_DIED) -> None:
    """Give running partitions whose worker is gone back (pending, a new job):
    compare-and-set on the attempt and heartbeat read, so only one
    reconciler does it, and the old worker, should it live, is fenced out."""
    for pk, run_id, index, attempt, heartbeat_at in parts.values_list(
        "pk", "run_id", "index", "attempt", "heartbeat_at"
    ):
        if attempt >= settings.IMPORTER_MAX_ATTEMPTS:
            _worker_died(run_id, attempt, report, template)
            continue
        released = RunPartition.objects.filter(
            pk=pk, status=RunPartition.Status.RUNNING, attempt=attempt, heartbeat_at=heartbeat_at
        ).update(status=RunPartition.Status.PENDING, job_id="", heartbeat_at=timezone.now())
        if released:
            report.resumed_partitions.append((run_id, index))
            run_queue.partition_enqueue_job(run_id, index)


def _requeue_stale_plans(stale_before: dt.datetime, report: ReconcileReport) -> None:
    stale = ImportRun.objects.filter(
        status=ImportRun.Status.RUNNING, partitions=0, heartbeat_at__lt=stale_before
    )
    _requeue_plans(stale, report)


def _requeue_plans(runs, report: ReconcileReport, template: str = WORKER_DIED) -> None:
    """Runs whose worker died while planning them go back to queued."""
    for run_id, attempts, heartbeat_at in runs.values_list("pk", "attempts", "heartbeat_at"):
        if attempts >= settings.IMPORTER_MAX_ATTEMPTS:
            _worker_died(run_id, attempts, report, template)
            continue
        requeued = ImportRun.objects.filter(
            pk=run_id, status=ImportRun.Status.RUNNING, partitions=0, heartbeat_at=heartbeat_at
        ).update(status=ImportRun.Status.QUEUED, job_id="", heartbeat_at=timezone.now())
        if requeued:
            report.requeued_runs.append(run_id)
            run_queue.run_enqueue_job(run_id)


def reconcile_dead_job(*, job_id: str, func_name: str, args: tuple) -> ReconcileReport:
    """The work horse running job ``job_id`` died and its worker saw it
    (runs/execution/worker.py): hand the job's partition, or its run being planned,
    back at once rather than after IMPORTER_STALE_SECONDS without a
    heartbeat. Only what that job still owns: the partition's (or run's)
    job id is the dead job's, and the same compare-and-set on the attempt
    as the stale path fences out anyone who took it over meanwhile."""
    report = ReconcileReport()
    if func_name == "runs.execution.jobs.execute_partition":
        run_id, index = args
        parts = RunPartition.objects.filter(run_id=run_id, index=index, job_id=job_id)
    elif func_name == "runs.execution.jobs.execute_run":
        (run_id,) = args
        if not ImportRun.objects.filter(pk=run_id, job_id=job_id).exists():
            return report
        planning = ImportRun.objects.filter(
            pk=run_id, status=ImportRun.Status.RUNNING, partitions=0
        )
        _requeue_plans(planning, report, WORK_HORSE_DIED)
        # A run of one partition runs it inside its own job (no job id of its own).
        parts = RunPartition.objects.filter(run_id=run_id, run__partitions=1, job_id="")
    else:
        return report
    running = parts.filter(status=RunPartition.Status.RUNNING, run__status=ImportRun.Status.RUNNING)
    _resume_partitions(running, report, WORK_HORSE_DIED)
    if report:
        logger.warning("the work horse of job %s died; handed back at once: %s", job_id, report)
    return report


def _goes_first():
    """Runs of the outer run's (source, target) that run before it: a running
    one, or an older queued one (the same rule as leases.pair_busy)."""
    pair = ImportRun.objects.filter(
        source_id=OuterRef("source_id"), target=OuterRef("target")
    ).exclude(pk=OuterRef("pk"))
    older = Q(created_at__lt=OuterRef("created_at")) | Q(
        created_at=OuterRef("created_at"), pk__lt=OuterRef("pk")
    )
    return pair.filter(
        Q(status=ImportRun.Status.RUNNING) | Q(older, status=ImportRun.Status.QUEUED)
    )


def _job_is_live(job_id: str, connection) -> bool:
    """Without Redis (jobs run in-process) a job lives only while its
    process does: a run still queued after its enqueue was lost with it."""

    if not job_id or settings.IMPORTER_SYNC_JOBS:
        return False
    try:
        return Job.fetch(job_id, connection=connection).get_status() in _LIVE_JOB_STATES
    except NoSuchJobError:
        return False


def _reenqueue_lost_jobs(stale_before: dt.datetime, report: ReconcileReport) -> None:
    """Queued runs and pending partitions whose job is gone. Only those quiet
    for IMPORTER_STALE_SECONDS: a fresh one may be between commit and
    enqueue, and a ``--sync`` run waiting for its turn beats its heartbeat.
    Only a run whose turn it is (leases.pair_busy): a deferred run waiting
    behind another has no job on purpose, and the end of the run before it
    enqueues it."""
    connection = None if settings.IMPORTER_SYNC_JOBS else run_queue.get_queue().connection
    queued = (
        ImportRun.objects.filter(status=ImportRun.Status.QUEUED, created_at__lt=stale_before)
        .exclude(heartbeat_at__gte=stale_before)
        .exclude(Exists(_goes_first()))
    )
    for run_id, job_id in queued.values_list("pk", "job_id"):
        if _job_is_live(job_id, connection):
            continue
        if ImportRun.objects.filter(
            pk=run_id, status=ImportRun.Status.QUEUED, job_id=job_id
        ).update(heartbeat_at=timezone.now()):
            report.reenqueued_jobs.append(job_id or f"run {run_id}")
            run_queue.run_enqueue_job(run_id)
    pending = RunPartition.objects.filter(
        status=RunPartition.Status.PENDING,
        run__status=ImportRun.Status.RUNNING,
        run__partitions__gt=0,
    ).exclude(heartbeat_at__gte=stale_before)
    for pk, run_id, index, job_id in pending.values_list("pk", "run_id", "index", "job_id"):
        if _job_is_live(job_id, connection):
            continue
        if RunPartition.objects.filter(
            pk=pk, status=RunPartition.Status.PENDING, job_id=job_id
        ).update(heartbeat_at=timezone.now()):
            report.reenqueued_jobs.append(job_id or f"run {run_id} partition {index}")
            run_queue.partition_enqueue_job(run_id, index)
