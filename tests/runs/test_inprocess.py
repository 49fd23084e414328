"""Jobs without Redis (runs/execution/inprocess.py): a web process runs them on its
background thread, never in the request; anything else runs them in the caller."""

import io
import logging
import os
import re
import threading
import time

import pytest
import requests
from django.db import transaction
from django.urls import reverse

from demo import datagen
from runs import services
from runs.execution import inprocess
from runs.models import ImportRun
from tests.factories import UserFactory
from tests.importing import create_run

# The measured figure in the report used IMPORTER_TEST_UPLOAD_ROWS=150000.
UPLOAD_ROWS = int(os.environ.get("IMPORTER_TEST_UPLOAD_ROWS", "20000"))

pytestmark = pytest.mark.django_db(transaction=True)

raised = []


def boom(gate):
    """A job that raises (the thread must log it and carry on)."""
    gate.wait(30)
    raised.append(gate)
    raise RuntimeError("boom")


@pytest.fixture
def thread_jobs(settings, monkeypatch):
    """The embedded default in a web process: no Redis, IMPORTER_JOBS "thread"."""
    settings.IMPORTER_SYNC_JOBS = True
    settings.IMPORTER_JOBS = "thread"
    monkeypatch.setattr(inprocess, "_serving", True)
    yield
    wait_idle()  # no job left touching the database the test flushes


def wait_idle(seconds=120.0) -> None:
    """Wait for the thread to be done with every job, without touching the
    database meanwhile: SQLite's in-memory test database (shared cache)
    refuses a second connection at once where a file database waits."""
    deadline = time.monotonic() + seconds
    while inprocess._jobs.unfinished_tasks:
        assert time.monotonic() < deadline, "the thread is still busy"
        time.sleep(0.1)


def test_the_thread_runs_a_job_only_after_commit_and_survives_one_raising(thread_jobs, caplog):
    gate = threading.Event()  # holds the thread until this test is done writing
    with transaction.atomic():
        run = create_run()
        # A job that raises first, on the same thread: logged, and the next one runs.
        transaction.on_commit(
            lambda: inprocess.InProcessQueue().enqueue(
                "tests.runs.test_inprocess.boom", gate, job_id="boom-1"
            )
        )
        services.run_enqueue(run=run)
        assert inprocess._jobs.unfinished_tasks == 0  # nothing before the commit
    assert inprocess._jobs.unfinished_tasks == 2 and raised == []
    run.refresh_from_db()
    assert run.status == ImportRun.Status.QUEUED
    gate.set()
    wait_idle()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL and raised == [gate]
    assert any(r.levelno == logging.ERROR and "boom-1" in r.getMessage() for r in caplog.records)


def test_outside_a_web_process_the_job_runs_in_the_caller(settings, monkeypatch):
    # import_file without --sync, reconcile_runs: their process would not
    # outlive the thread, so the run is finished when enqueue returns.
    settings.IMPORTER_SYNC_JOBS = True
    settings.IMPORTER_JOBS = "thread"
    monkeypatch.setattr(inprocess, "_serving", False)
    run = create_run()
    services.run_enqueue(run=run)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL
    assert inprocess._jobs.unfinished_tasks == 0


# On PostgreSQL: the request and the thread write at the same time, which
# SQLite's in-memory test database refuses (production SQLite is a WAL file
# with a busy timeout, settings.py).
@pytest.mark.postgres
def test_a_large_admin_upload_answers_at_once_and_imports_behind(thread_jobs, live_server, client):
    data = io.StringIO()
    datagen.generate_organizations(data, rows=UPLOAD_ROWS, seed=1)
    body = data.getvalue().encode()
    client.force_login(UserFactory(operator=True))
    http = requests.Session()
    http.cookies.set("sessionid", client.cookies["sessionid"].value)
    add = live_server.url + reverse("admin:runs_importrun_add")
    form = http.get(add)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)

    started = time.perf_counter()
    response = http.post(
        add,
        headers={"Referer": add},
        data={
            "csrfmiddlewaretoken": token,
            "target": "organization",
            "source": "crm",
            "encoding": "",
            "delimiter": "",
            "format": "",
        },
        files={"file": ("orgs.csv", body, "text/csv")},
        allow_redirects=False,
    )
    elapsed = time.perf_counter() - started
    print(f"\nupload of {UPLOAD_ROWS} rows ({len(body)} bytes) answered in {elapsed:.2f} s")

    assert response.status_code == 302, response.text[:500]
    run = ImportRun.objects.get()
    assert elapsed < 2.0
    assert run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)
    wait_idle()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL, run.error_message
    assert run.rows_total == UPLOAD_ROWS
