"""A queued run whose job Redis lost (restarted without persistence,
flushed, evicted) is enqueued again by the next worker's reconciler."""

import datetime as dt

import django_rq
import pytest
from django.utils import timezone

from core.models import Organization
from runs import services
from runs.models import ImportRun
from tests.importing import create_run
from tests.reliability.helpers import WorkerProcess, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CSV = b"external_id,name,country\n" + b"".join(f"L-{i},Lost {i},FR\n".encode() for i in range(50))


def test_a_queued_run_whose_job_redis_lost_is_enqueued_again_by_a_worker(tmp_path):
    queue = django_rq.get_queue("imports")
    queue.empty()
    run = create_run(CSV)
    services.run_enqueue(run=run)
    lost_job = ImportRun.objects.get(pk=run.pk).job_id
    assert lost_job and queue.count == 1
    queue.empty()  # Redis lost it
    ImportRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    worker = WorkerProcess(worker_env(), tmp_path / "worker.log")
    try:
        run = wait_for(
            lambda: ImportRun.objects.filter(pk=run.pk, status__in=ImportRun.FINISHED).first(),
            timeout=60,
            what="the run to be enqueued again and finish",
        )
    finally:
        worker.stop()
        queue.empty()
    assert run.status == ImportRun.Status.SUCCEEDED, worker.tail()
    assert run.job_id != lost_job
    assert Organization.objects.count() == 50
