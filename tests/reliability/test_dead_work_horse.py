"""A work horse killed under a living worker: the worker sees the death and
hands the partition back at once, so the run resumes from its checkpoint
within seconds, not after IMPORTER_STALE_SECONDS (set to ten minutes here,
so only the worker's hand-back can pass). Real `manage.py rqworker` on
PostgreSQL + Redis."""

import io
import time

import pytest

from demo import datagen
from runs import services
from runs.execution import leases, reconcile
from runs.models import ImportRun, RunPartition
from tests.importing import create_run
from tests.reliability.helpers import (
    WorkerProcess,
    core_checksum,
    counters,
    wait_for,
    wipe_imports,
    worker_env,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

ROWS = 30000
RESUMED_WITHIN_S = 15
SLOW_STALE = {
    "IMPORTER_STALE_SECONDS": "600",
    "IMPORTER_RECONCILE_SECONDS": "1",
    "IMPORTER_HEARTBEAT_SECONDS": "1",
    "IMPORTER_CHUNK_SIZE": "500",
}


def dataset() -> bytes:
    out = io.StringIO()
    datagen.generate_organizations(out, rows=ROWS, seed=23, invalid_rate=0.02)
    return out.getvalue().encode()


def finished(run_id: int, timeout: float = 300) -> ImportRun:
    return wait_for(
        lambda: ImportRun.objects.filter(pk=run_id, status__in=ImportRun.FINISHED).first(),
        timeout=timeout,
        interval=0.2,
        what=f"run {run_id} to finish",
    )


def attempts(run_id: int) -> int:
    return sum(RunPartition.objects.filter(run_id=run_id).values_list("attempt", flat=True))


@pytest.mark.parametrize("partitions", [1, 2], ids=["inside the run's job", "a partition job"])
def test_a_killed_work_horse_is_resumed_at_once_and_loses_nothing(tmp_path, partitions):
    content = dataset()
    env = worker_env(
        **SLOW_STALE,
        IMPORTER_PARTITIONS=str(partitions),
        IMPORTER_PARTITION_MIN_BYTES="0" if partitions > 1 else str(1 << 40),
    )
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        clean = create_run(content)
        services.run_enqueue(run=clean)
        clean = finished(clean.pk)
        assert clean.status == ImportRun.Status.PARTIAL, (clean.error_message, worker.tail())
        expected = core_checksum(), counters(clean)
        wipe_imports()

        run = create_run(content)
        services.run_enqueue(run=run)
        wait_for(
            lambda: ImportRun.objects.get(pk=run.pk).rows_processed >= 0.2 * ROWS / partitions,
            timeout=120,
            interval=0.05,
            what="a fifth of the rows",
        )
        before = attempts(run.pk)
        worker.kill_horse()
        killed_at = time.monotonic()
        wait_for(
            lambda: attempts(run.pk) > before,
            timeout=RESUMED_WITHIN_S,
            interval=0.1,
            what="the worker to hand the partition back",
        )
        resumed_after = time.monotonic() - killed_at
        run = finished(run.pk)
    finally:
        worker.stop()
    assert run.status == ImportRun.Status.PARTIAL, (run.error_message, worker.tail())
    assert (core_checksum(), counters(run)) == expected
    assert run.rows_processed == run.rows_total == ROWS
    assert run.attempts == 1  # the partition was resumed, the run not planned again
    print(
        f"\nwork horse killed ({partitions} partition(s)): resumed after {resumed_after:.1f} s "
        f"(stale after {SLOW_STALE['IMPORTER_STALE_SECONDS']} s)"
    )


def test_a_dead_job_hands_back_only_what_it_still_owns(settings):
    """The hand-back is a compare-and-set: a partition another job took over
    (a new job id) is left alone; the dead job's own one goes back to pending
    with a new job; a run out of attempts is failed."""
    settings.IMPORTER_SYNC_JOBS = False
    settings.IMPORTER_PARTITIONS = 2
    settings.IMPORTER_PARTITION_MIN_BYTES = 0
    run = create_run(b"external_id,name,country\nA,A,DE\nB,B,DE\n")
    assert leases.run_start(run_id=run.pk) is not None
    ImportRun.objects.filter(pk=run.pk).update(partitions=2)
    for index, job_id in enumerate(["dead-job", "live-job"]):
        RunPartition.objects.create(
            run=run, index=index, status=RunPartition.Status.RUNNING, attempt=1, job_id=job_id
        )
    partition = "runs.execution.jobs.execute_partition"
    assert not reconcile.reconcile_dead_job(
        job_id="dead-job", func_name=partition, args=(run.pk, 1)
    )
    report = reconcile.reconcile_dead_job(job_id="dead-job", func_name=partition, args=(run.pk, 0))
    assert report.resumed_partitions == [(run.pk, 0)]
    dead, live = RunPartition.objects.filter(run=run).order_by("index")
    assert (dead.status, live.status, live.job_id) == ("pending", "running", "live-job")
    assert dead.job_id.startswith(f"import-run-{run.pk}-p0-")

    RunPartition.objects.filter(pk=live.pk).update(attempt=settings.IMPORTER_MAX_ATTEMPTS)
    report = reconcile.reconcile_dead_job(job_id="live-job", func_name=partition, args=(run.pk, 1))
    assert report.failed_runs == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED and "work horse was killed" in run.error_message
