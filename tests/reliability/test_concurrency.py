"""Concurrency against real PostgreSQL and real `manage.py rqworker`
processes: runs of one (source, target) are serialized; runs of different
sources over the same records never deadlock (or, when PostgreSQL breaks
one up, the chunk is retried from its checkpoint); a job delivered twice
imports once."""

import csv
import io

import django_rq
import pytest

from core.models import Organization
from demo import datagen
from ingest.models import ExternalIdMap
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import create_run
from tests.reliability.helpers import WorkerProcess, wait_for, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]


@pytest.fixture
def workers(tmp_path):
    pool = [WorkerProcess(worker_env(), tmp_path / f"worker-{n}.log") for n in range(2)]
    yield pool
    for worker in pool:
        worker.stop()


def all_finished(runs, timeout=300):
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


def generated(rows: int) -> bytes:
    out = io.StringIO()
    datagen.generate_organizations(out, rows=rows, seed=5, invalid_rate=0.02)
    return out.getvalue().encode()


def test_the_same_file_uploaded_twice_at_once_gives_two_runs_the_second_all_skipped(workers):
    content = generated(6000)
    first, second = create_run(content), create_run(content)
    services.run_enqueue(run=first)
    services.run_enqueue(run=second)
    first, second = sorted(all_finished([first, second]), key=lambda run: run.started_at)
    assert first.status == second.status == ImportRun.Status.PARTIAL
    assert second.started_at >= first.finished_at  # serialized by the lease
    assert first.inserted > 5000 and first.quarantined > 0
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 0)
    assert second.skipped == first.inserted + first.updated + first.unchanged + first.skipped
    assert Organization.objects.count() == first.inserted


def organizations(rows, *, name: str, prefix: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "name", "country", "registration_number", "updated_at"])
    for number in rows:
        writer.writerow(
            [
                f"{prefix}-{number}",
                f"{name} {number}",
                "DE",
                f"HRB {number}",
                "2026-01-01T00:00:00Z",
            ]
        )
    return out.getvalue().encode()


def test_runs_of_different_sources_over_the_same_records_in_opposite_orders_both_complete(workers):
    numbers = range(1, 8001)
    seed = create_run(organizations(numbers, name="Seed", prefix="S"), source="seed")
    runner.run_execute(run_id=seed.pk)
    assert Organization.objects.count() == 8000
    # Both update every record, matched by natural key, each chunk's records
    # in the other run's reverse order: the classic deadlock shape.
    blocks = [numbers[start : start + 2000] for start in range(0, len(numbers), 2000)]
    ascending = create_run(organizations(numbers, name="Up", prefix="A"), source="erp")
    descending = create_run(
        organizations([n for block in blocks for n in reversed(block)], name="Down", prefix="B"),
        source="crm",
    )
    services.run_enqueue(run=ascending)
    services.run_enqueue(run=descending)
    runs = all_finished([ascending, descending])
    for run in runs:
        assert (run.status, run.updated + run.unchanged, run.inserted) == (
            ImportRun.Status.SUCCEEDED,
            8000,
            0,
        ), (run.error_message, [worker.tail() for worker in workers])
    assert Organization.objects.count() == 8000
    assert ExternalIdMap.objects.count() == 3 * 8000
    retried = sum(worker.tail(10**6).count("resuming from its checkpoint") for worker in workers)
    print(f"\ndeadlocks broken up by PostgreSQL and retried: {retried}")


def test_a_job_delivered_twice_imports_once(workers):
    content = generated(3000)
    run = create_run(content)
    services.run_enqueue(run=run)
    services.run_enqueue(run=run)  # a double click, a retried request, a redelivery
    queue = django_rq.get_queue("imports")
    (run,) = all_finished([run])
    prefix = f"import-run-{run.pk}-"

    def finished_jobs():
        ids = [
            job_id
            for job_id in queue.finished_job_registry.get_job_ids()
            if job_id.startswith(prefix)
        ]
        return ids if len(ids) == 2 else None

    job_ids = wait_for(finished_jobs, timeout=60, what="both jobs to be done")
    results = sorted(str(queue.fetch_job(job_id).return_value()) for job_id in job_ids)
    assert results == ["None", run.status]  # one imported, the other found nothing to do
    assert run.attempts == 1
    assert Organization.objects.count() == run.inserted > 2500
    assert ExternalIdMap.objects.count() == run.inserted


def test_a_partition_job_delivered_twice_imports_once(settings):
    settings.IMPORTER_SYNC_JOBS = True
    settings.IMPORTER_PARTITIONS = 2
    settings.IMPORTER_PARTITION_MIN_BYTES = 0
    run = runner.run_execute(run_id=create_run(generated(500)).pk)
    assert run.is_finished or ImportRun.objects.get(pk=run.pk).is_finished
    inserted = Organization.objects.count()
    assert runner.run_execute_partition(run_id=run.pk, index=0) is None
    assert runner.run_execute_partition(run_id=run.pk, index=1) is None
    assert Organization.objects.count() == inserted
