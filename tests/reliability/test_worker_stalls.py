"""No worker ever waits for another job. A run whose (source, target) is busy
is deferred: its job returns at once, the run stays queued, and whoever
finishes a run of that pair enqueues the next one, in creation order. Real
`manage.py rqworker` processes on PostgreSQL + Redis."""

import csv
import io
import itertools
import time

import pytest

from core.models import Organization
from runs import services
from runs.execution import leases
from runs.models import ImportRun
from tests.importing import create_run
from tests.reliability.helpers import WorkerProcess, wait_for, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

BIG_ROWS = 3000
# The big file (about 190 kB) is partitioned, the small ones are not.
PARTITIONED = {"IMPORTER_PARTITIONS": "2", "IMPORTER_PARTITION_MIN_BYTES": "100000"}


def organizations(numbers, *, name: str, updated_at: str = "2026-01-01T00:00:00Z") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["external_id", "name", "country", "registration_number", "industry", "updated_at"]
    )
    for number in numbers:
        writer.writerow(
            [f"O-{number}", f"{name} {number}", "DE", f"HRB {number}", "Manufacturing", updated_at]
        )
    return out.getvalue().encode()


def finished(runs, *, timeout: float) -> list[ImportRun]:
    ids = [run.pk for run in runs]
    wait_for(
        lambda: (
            ImportRun.objects.filter(pk__in=ids, status__in=ImportRun.FINISHED).count() == len(ids)
        ),
        timeout=timeout,
        interval=0.2,
        what="the runs to finish",
    )
    return [ImportRun.objects.get(pk=pk) for pk in ids]


def test_a_big_run_and_three_small_runs_of_one_source_finish_in_order_on_two_workers(tmp_path):
    """The stall of issue 17: the big run holds its (source, target) while
    its partition jobs wait at the end of the queue behind the small runs'
    jobs. Those must not hold the two workers waiting for it."""
    big = create_run(organizations(range(1, BIG_ROWS + 1), name="Big"), filename="big.csv")
    assert big.file_size >= int(PARTITIONED["IMPORTER_PARTITION_MIN_BYTES"])
    first = organizations(range(1, 51), name="Small")
    smalls = [
        create_run(first, filename="small-1.csv"),
        create_run(first, filename="small-2.csv"),  # identical: every row skipped
        create_run(
            organizations(range(1, 51), name="Renamed", updated_at="2026-02-01T00:00:00Z"),
            filename="small-3.csv",
        ),
    ]
    runs = [big, *smalls]
    for run in runs:  # the workers are stopped: all four jobs wait on the queue
        services.run_enqueue(run=run)
    started = time.monotonic()
    workers = [
        WorkerProcess(worker_env(**PARTITIONED), tmp_path / f"worker-{n}.log") for n in range(2)
    ]
    try:
        runs = finished(runs, timeout=180)
    except AssertionError:
        raise AssertionError([worker.tail() for worker in workers]) from None
    finally:
        for worker in workers:
            worker.stop()
    elapsed = time.monotonic() - started
    big, *smalls = runs
    assert [run.status for run in runs] == [ImportRun.Status.SUCCEEDED] * 4, [
        run.error_message for run in runs
    ]
    assert big.partitions == 2 and big.inserted == BIG_ROWS
    for earlier, later in itertools.pairwise(runs):  # one at a time, in creation order
        assert later.started_at >= earlier.finished_at, (earlier.pk, later.pk)
    assert (smalls[0].updated, smalls[0].unchanged) == (50, 0)
    assert (smalls[1].skipped, smalls[1].inserted + smalls[1].updated + smalls[1].unchanged) == (
        50,
        0,
    )
    assert smalls[2].updated == 50
    assert Organization.objects.filter(name__startswith="Renamed").count() == 50
    assert Organization.objects.count() == BIG_ROWS
    print(
        f"\n1 big ({BIG_ROWS} rows, 2 partitions) + 3 small runs of one source on 2 workers: "
        f"all finished in {elapsed:.1f} s; big run {big.duration_s:.1f} s, "
        f"small runs {', '.join(f'{run.duration_s:.2f}' for run in smalls)} s"
    )


def test_a_deferred_run_frees_its_worker_and_is_cancelled_at_once(tmp_path):
    """While a run of the pair runs, one worker defers two runs of the pair,
    imports a run of another source, and a deferred run is cancelled at once;
    when the running run ends, the next deferred run is enqueued."""
    holder = create_run(organizations(range(1, 11), name="Holder"))
    assert (
        leases.run_start(run_id=holder.pk) is not None
    )  # running, on no worker: busy for as long as we like
    waiting = [create_run(organizations(range(1, 11), name=f"Waiting {n}")) for n in range(2)]
    other = create_run(organizations(range(1, 11), name="Other"), source="erp")
    for run in [*waiting, other]:
        services.run_enqueue(run=run)
    worker = WorkerProcess(worker_env(), tmp_path / "worker.log")
    try:
        other = finished([other], timeout=60)[0]  # on the only worker, after both deferrals
        assert other.status == ImportRun.Status.SUCCEEDED
        deferred = ImportRun.objects.filter(
            pk__in=[run.pk for run in waiting], job_id=leases.DEFERRED
        )
        wait_for(lambda: deferred.count() == 2, timeout=10, what="both runs to be deferred")
        assert not deferred.exclude(status=ImportRun.Status.QUEUED).exists()

        cancelled = services.run_cancel(run=ImportRun.objects.get(pk=waiting[0].pk))
        assert cancelled.status == ImportRun.Status.CANCELLED

        services.run_mark_failed(run_id=holder.pk, message="stopped by the test")  # frees the pair
        cancelled, done = finished(waiting, timeout=60)
    finally:
        worker.stop()
    assert cancelled.status == ImportRun.Status.CANCELLED and cancelled.started_at is None
    assert done.status == ImportRun.Status.SUCCEEDED, worker.tail()
    assert done.started_at >= ImportRun.objects.get(pk=holder.pk).finished_at
