"""Who may run a run now: the (source, target) lease.

Two runs of one source into one target never run at once, and runs that
wait for workers run in creation order. A job whose run must wait returns
at once (the run is DEFERRED) rather than hold a worker; whoever ends the
pair's running run enqueues the next one (run_enqueue_next).
"""

from __future__ import annotations

import logging
from typing import Final, Literal

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from redis.exceptions import RedisError

from runs import metrics
from runs.execution import locks, queue
from runs.models import ImportRun

logger = logging.getLogger(__name__)

LEASE_BUSY: Final = "busy"
LEASE_POLL_SECONDS = 0.5
# The job_id of a run whose job found its (source, target) busy and returned:
# the run stays queued, and whoever finishes the pair's running run enqueues
# it (run_enqueue_next), or the reconciler does should that be lost.
DEFERRED = "deferred"


def run_start(*, run_id: int) -> ImportRun | None:
    """Claim a queued run for this worker (compare-and-set); None when it is
    no longer queued (cancelled, or taken by another worker) or while it
    must wait for its turn (another run of the same source and target is
    running, or an older one is queued)."""
    claimed = claim(run_id)
    return claimed if isinstance(claimed, ImportRun) else None


def pair_busy(run: ImportRun, *, in_order: bool = True) -> bool:
    """Another run of the run's (source, target) goes first: one is running,
    or (``in_order``) one created before it is still queued: runs of a pair
    that wait for workers run in creation order."""
    pair = ImportRun.objects.filter(source_id=run.source_id, target=run.target).exclude(pk=run.pk)
    ahead = Q(status=ImportRun.Status.RUNNING)
    if in_order:
        older = Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk)
        ahead |= Q(older, status=ImportRun.Status.QUEUED)
    return pair.filter(ahead).exists()


def claim(
    run_id: int, *, defer: bool = False, in_order: bool = True
) -> ImportRun | Literal["busy"] | None:
    """The claim, under the (source, target) lease: two runs of one source
    into one target never run at once, and runs that wait for workers run
    in creation order, so the second of two identical uploads sees the
    first one's id map and skips every row (``in_order=False``: a caller
    running its own run waits for a running one only). With ``defer``, a run that must wait is marked DEFERRED
    under the lease, so the run_enqueue_next of the run it waits for (which
    takes the lease too) cannot miss it."""
    with transaction.atomic():
        run = (
            ImportRun.objects.filter(pk=run_id)
            .only("source_id", "target", "status", "created_at")
            .first()
        )
        if run is None or run.status != ImportRun.Status.QUEUED:
            return None  # cancelled (also while it waited), or taken
        locks.run_lease(run.source_id, run.target)
        now = timezone.now()
        if pair_busy(run, in_order=in_order):
            if defer:
                ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
                    job_id=DEFERRED, heartbeat_at=now
                )
            return LEASE_BUSY
        claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
            status=ImportRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        return None
    run = ImportRun.objects.select_related("source").get(pk=run_id)
    metrics.observe_run_started(run)
    return run


def run_enqueue_next(*, source_id: int, target: str) -> None:
    """After a run of (source, target) ended: when no run of the pair runs,
    enqueue the oldest queued one if it was deferred. Under the lease, so a
    job deferring a run at the same moment is seen (see _claim). A queued
    run that was not deferred has a job of its own, or a ``--sync`` caller
    waiting for it; a lost one is the reconciler's."""
    with transaction.atomic():
        locks.run_lease(source_id, target)
        pair = ImportRun.objects.filter(source_id=source_id, target=target)
        if pair.filter(status=ImportRun.Status.RUNNING).exists():
            return
        head = (
            pair.filter(status=ImportRun.Status.QUEUED)
            .order_by("created_at", "pk")
            .values_list("pk", "job_id")
            .first()
        )
        if head is None or head[1] != DEFERRED:
            return
        job_id = queue.new_job_id(f"import-run-{head[0]}")
        if not ImportRun.objects.filter(pk=head[0], job_id=DEFERRED).update(job_id=job_id):
            return

        def enqueue() -> None:
            try:
                queue.get_queue().enqueue(queue.EXECUTE_RUN, head[0], job_id=job_id)
            except RedisError as exc:
                logger.warning(queue.QUEUE_DOWN.format(run_id=head[0], error=exc))

        transaction.on_commit(enqueue)
