"""The RQ jobs against real Redis and PostgreSQL: a job never raises into
RQ, so RQ keeps no traceback (whose message may quote a row or the
database's address) in the job's results stream."""

import django_rq
import pytest
from django.db import connection

from demo import golden
from runs.execution import queue as run_queue
from runs.models import ImportRun, RunPartition

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

CLEAN = {"file": "01_organizations_clean.csv", "target": "organization", "source": "crm"}


def results_stream(job_id: str) -> list[dict[bytes, bytes]]:
    """What RQ 3 stored for the job: the entries of ``rq:results:<job id>``."""
    return [
        fields for _id, fields in django_rq.get_connection("imports").xrange(f"rq:results:{job_id}")
    ]


def test_a_partition_job_that_loses_the_database_leaves_no_traceback_in_rq():
    run = golden.golden_run_create(CLEAN)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING, partitions=2)
    RunPartition.objects.create(run=run, index=0)
    run_queue.partition_enqueue_job(run.pk, 0)
    job_id = RunPartition.objects.get(run=run, index=0).job_id
    queue = django_rq.get_queue("imports")

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"  # the work horse finds the database refusing connections
    try:
        django_rq.get_worker("imports").work(burst=True)
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    stored = results_stream(job_id)
    assert stored, "the job ran"
    assert not [fields for fields in stored if b"exc_string" in fields]
    assert job_id not in queue.failed_job_registry.get_job_ids()
    # Nothing was claimed: the partition waits for the reconciler, which
    # enqueues it again (its job is finished, not live).
    assert RunPartition.objects.get(run=run, index=0).status == RunPartition.Status.PENDING
