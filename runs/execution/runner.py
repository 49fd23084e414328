"""What a run's jobs do: claim the run, check its file and plan its
partitions (run_execute), then import each partition from its checkpoint,
retrying a chunk the database refused for a passing reason
(run_execute_partition). The last partition to end finishes the run."""

from __future__ import annotations

import functools
import itertools
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ingest.errors import ImporterError
from ingest.readers import Reader
from runs import services
from runs.execution import files, inprocess, leases, partitions, queue, reconcile, retry
from runs.execution.partitions import Progress
from runs.models import ImportRun, RunPartition

logger = logging.getLogger(__name__)

CRASHED = "The import stopped on an unexpected error ({error}); see the worker log for details."


def claim_when_free(run_id: int) -> ImportRun | None:
    """Wait for the run's turn: for ``--sync`` and in-process jobs (no
    Redis), where the waiting process is the run's own caller, not a worker
    other jobs need. It waits for a running run of the pair only, not for
    older queued ones: those may wait for a worker that is not there (or a
    caller that died), and this caller is running its run now. The wait
    beats the queued run's heartbeat (the reconciler leaves it alone) and
    reconciles now and then, so a dead holder cannot block it for ever; a
    cancel ends it."""

    last_reconcile = time.monotonic()
    while (claimed := leases.claim(run_id, in_order=False)) == leases.LEASE_BUSY:
        ImportRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
        if time.monotonic() - last_reconcile >= settings.IMPORTER_RECONCILE_SECONDS:
            reconcile.reconcile_runs()
            last_reconcile = time.monotonic()
        time.sleep(leases.LEASE_POLL_SECONDS)
    return claimed


def run_execute(
    *, run_id: int, in_process: bool = False, progress: Progress | None = None
) -> ImportRun | None:
    """Claim a run, check its file and split it into partition jobs; a
    single partition (small files, dry runs) runs right here. With
    ``in_process`` (``--sync``) every partition runs right here, one after
    the other, and the run is finished on return. Every outcome, including a
    crash, ends with the run in a finished state and its message kept; a dead
    worker's run is resumed by the reconciler. ``progress`` is told the rows
    of each chunk done here (``import_file --sync`` shows them)."""
    # Only a caller that runs its jobs itself may wait for its turn: the
    # worker thread, like an RQ worker, must never wait for jobs behind it.
    run: ImportRun | str | None
    if in_process or inprocess.mode() == "sync":
        run = claim_when_free(run_id)
    elif (run := leases.claim(run_id, defer=True)) == leases.LEASE_BUSY:
        # Never hold a worker waiting for another job (the running run's
        # partition jobs may be behind this one on the queue).
        logger.info("run %s deferred: another run of its source and target goes first", run_id)
        return None
    if run is None:
        logger.info("run %s is not queued any more; nothing to do", run_id)
        return None
    try:
        with partitions.Heartbeat(run_id=run.pk):
            reader = files.run_reader(run)  # file-level problems fail the run here
    except ImporterError as exc:
        return services.run_mark_failed(run_id=run.pk, message=exc.message)
    except Exception as exc:
        logger.exception("run %s crashed", run.pk)
        return services.run_mark_failed(
            run_id=run.pk, message=CRASHED.format(error=type(exc).__name__)
        )
    with reader:  # the file is checked and decoded once: a single partition reads on from here
        return _plan_and_run(run, reader=reader, in_process=in_process, progress=progress)


def _plan_and_run(
    run: ImportRun, *, reader: Reader, in_process: bool, progress: Progress | None
) -> ImportRun:
    files.note_detected(run, reader)
    planned = partitions.plan_partitions(run)
    with transaction.atomic():
        RunPartition.objects.bulk_create(
            [
                RunPartition(run=run, index=index, heartbeat_at=timezone.now())
                for index in range(planned)
            ],
            ignore_conflicts=True,
        )
        ImportRun.objects.filter(pk=run.pk).update(partitions=planned, heartbeat_at=timezone.now())
    if planned == 1:  # small files and dry runs: the file as opened and checked above
        run_execute_partition(run_id=run.pk, index=0, progress=progress, reader=reader)
        return ImportRun.objects.get(pk=run.pk)
    reader.close()  # each partition reads the file for its own rows
    if in_process:
        for index in range(planned):
            run_execute_partition(run_id=run.pk, index=index, progress=progress)
        return ImportRun.objects.get(pk=run.pk)
    for index in range(planned):
        transaction.on_commit(functools.partial(queue.partition_enqueue_job, run.pk, index))
    return ImportRun.objects.get(pk=run.pk)


def run_execute_partition(
    *, run_id: int, index: int, progress: Progress | None = None, reader: Reader | None = None
) -> ImportRun | None:
    """Claim one partition of a running run (compare-and-set, so a job
    delivered twice runs once) and import it from its checkpoint; the last
    partition to finish finishes the run. None when there was nothing to do.
    ``reader``: the run's file as run_execute opened it, for the first
    attempt (a retry reads the file again from its checkpoint)."""
    claimed = RunPartition.objects.filter(
        run_id=run_id,
        index=index,
        status=RunPartition.Status.PENDING,
        run__status=ImportRun.Status.RUNNING,
    ).update(
        status=RunPartition.Status.RUNNING, attempt=F("attempt") + 1, heartbeat_at=timezone.now()
    )
    if not claimed:
        logger.info("run %s partition %s is not pending; nothing to do", run_id, index)
        return None
    part = RunPartition.objects.get(run_id=run_id, index=index)
    run = ImportRun.objects.get(pk=run_id)
    with partitions.Heartbeat(run_id=run.pk, partition_id=part.pk, attempt=part.attempt):
        for attempt in itertools.count():
            try:
                if attempt:
                    part.refresh_from_db()  # its checkpoint, as committed
                cancelled = partitions.import_partition(
                    run, part, progress=progress, reader=None if attempt else reader
                )
                break
            except (partitions.LostLease, partitions.RunStopped):
                logger.warning(
                    "run %s partition %s: taken over or stopped elsewhere", run_id, index
                )
                return None
            except ImporterError as exc:
                return services.run_mark_failed(run_id=run.pk, message=exc.message)
            except Exception as exc:
                if retry.is_retryable(exc) and attempt < retry.CHUNK_RETRIES:
                    logger.warning(
                        "run %s partition %s: %s; resuming from its checkpoint", run_id, index, exc
                    )
                    if retry.is_connection_lost(exc):
                        connection.close()  # the next query connects again
                    # Let the other partitions' chunks commit, or the database come back.
                    time.sleep(
                        min(retry.CHUNK_RETRY_PAUSE_S * 2**attempt, retry.CHUNK_RETRY_PAUSE_MAX_S)
                    )
                    continue
                logger.exception("run %s crashed", run.pk)
                return services.run_mark_failed(
                    run_id=run.pk, message=CRASHED.format(error=type(exc).__name__)
                )
    return _partition_done(run=run, part=part, cancelled=cancelled)


def _partition_done(*, run: ImportRun, part: RunPartition, cancelled: bool) -> ImportRun | None:
    """Count the partition done; the one that completes the count finishes
    the run (exactly once, whatever order partitions end in)."""
    with transaction.atomic():
        done = RunPartition.objects.filter(
            pk=part.pk, attempt=part.attempt, status=RunPartition.Status.RUNNING
        ).update(status=RunPartition.Status.DONE, finished_at=timezone.now())
        if not done:
            return None
        ImportRun.objects.filter(pk=run.pk).update(partitions_done=F("partitions_done") + 1)
        # The row is locked by the update above until commit: counts are exact.
        last = ImportRun.objects.filter(pk=run.pk, partitions_done__gte=F("partitions")).exists()
    if not last:
        return ImportRun.objects.get(pk=run.pk)
    return services.run_finish(run_id=run.pk)
