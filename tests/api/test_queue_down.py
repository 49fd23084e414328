"""Redis is unreachable when a file is uploaded: the upload is kept, the run
stays queued, and a worker's reconciler enqueues it once Redis answers."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from runs.execution import queue as run_queue
from runs.execution import reconcile
from runs.models import ImportRun
from tests.api.helpers import CSV, work_queued_jobs

# A port nothing listens on: connecting is refused, as when Redis is down.
UNREACHABLE = "redis://127.0.0.1:1/0"


def upload_while_redis_is_down(api, settings) -> tuple[object, dict]:
    """Upload with the queue and the cache (the upload throttle's counts) both in an unreachable Redis."""
    working = settings.RQ_QUEUES
    settings.IMPORTER_SYNC_JOBS = False
    settings.RQ_QUEUES = {
        name: {**config, "URL": UNREACHABLE, "ASYNC": True} for name, config in working.items()
    }
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE,
        },
    }
    response = api("operator").post(
        "/api/v1/runs/",
        {"target": "organization", "source": "crm", "file": SimpleUploadedFile("orgs.csv", CSV)},
        format="multipart",
    )
    return response, working


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_redis_is_down_is_accepted_and_stays_queued(api, settings, caplog):
    response, _ = upload_while_redis_is_down(api, settings)
    assert response.status_code == 202, response.content
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.job_id, run.file_sha256 != "") == (ImportRun.Status.QUEUED, "", True)
    assert f"Run {run.pk} stays queued: the queue is unreachable" in caplog.text
    assert "Upload not throttled: the cache is unreachable" in caplog.text


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_run_is_imported_once_redis_answers_again(api, settings):
    response, working = upload_while_redis_is_down(api, settings)
    run_id = response.json()["id"]
    settings.RQ_QUEUES = working  # Redis is back
    ImportRun.objects.filter(pk=run_id).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    report = reconcile.reconcile_runs()
    assert report.reenqueued_jobs == [f"run {run_id}"]
    work_queued_jobs()
    run = ImportRun.objects.get(pk=run_id)
    assert (run.status, run.rows_total) == (ImportRun.Status.PARTIAL, 3)
    assert run_queue.get_queue().count == 0
