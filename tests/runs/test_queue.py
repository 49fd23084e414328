"""Runs enqueued on the real imports queue (Redis) and executed by real RQ
workers: one in this process's burst loop, one as a `manage.py rqworker`."""

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.db import connection

from core.models import Organization
from demo import golden
from runs import services
from runs.models import ImportRun

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

CLEAN = golden.GOLDEN_DIR / "01_organizations_clean.csv"


def enqueue_clean_file():
    with CLEAN.open("rb") as handle:
        run = services.run_create(
            target="organization", source="crm", file=handle, filename=CLEAN.name
        )
    services.run_enqueue(run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.QUEUED and run.job_id
    return run


def test_a_burst_worker_executes_the_enqueued_run():
    run = enqueue_clean_file()
    assert django_rq.get_queue("imports").count == 1
    django_rq.get_worker("imports").work(burst=True)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.inserted, run.rows_total, run.rows_processed) == (5, 5, 5)
    assert Organization.objects.count() == 5


@pytest.mark.postgres
def test_a_rqworker_process_executes_the_enqueued_run():
    run = enqueue_clean_file()
    env = dict(os.environ, MEDIA_ROOT=str(settings.MEDIA_ROOT))
    db = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    worker = subprocess.run(
        [sys.executable, Path(settings.BASE_DIR) / "manage.py", "rqworker", "imports", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, (run.error_message, worker.stderr[-2000:])
    assert run.inserted == 5


def test_the_golden_dataset_through_the_queue_and_a_worker():
    for step in golden.manifest()["steps"]:
        run = golden.golden_run_create(step)
        services.run_enqueue(run=run)
        django_rq.get_worker("imports").work(burst=True)
        run.refresh_from_db()
        assert {key: getattr(run, key) for key in step["expect"]} == step["expect"], step["name"]
