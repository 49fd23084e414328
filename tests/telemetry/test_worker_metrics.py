"""Multiprocess mode end to end: runs enqueued by two `manage.py shell`
processes, executed by a real `manage.py rqworker` (forked work horses),
all of it counted in one /metrics scrape. Also the JSON log lines of those
processes: one per state change, and no row values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from demo import golden
from runs.models import ImportRun
from tests.telemetry.scrape import Scrape

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

STEPS = golden.manifest()["steps"][:5]  # clean, repeat, rules, dry run, the same for real
ENQUEUE = """
from ingest import services
from demo import golden
from runs import services
for step in golden.manifest()["steps"][{start}:{stop}]:
    services.run_enqueue(run=golden.golden_run_create(step))
"""
# Values from those files that must never reach a log line.
PERSONAL = ("Northwind", "info@northwind.example", "+49 30 1234567", "blueharbor")


@pytest.fixture
def env(tmp_path):
    db = connection.settings_dict
    metrics_dir = tmp_path / "prometheus"
    return dict(
        os.environ,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )


def manage(env, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, Path(settings.BASE_DIR) / "manage.py", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def state_lines(stderr: str) -> list[dict]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "run_state"]


def scrape(client, monkeypatch, env) -> Scrape:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", env["PROMETHEUS_MULTIPROC_DIR"])
    response = client.get("/metrics")
    assert response.status_code == 200
    return Scrape(response.content.decode())


def test_a_real_worker_counts_in_the_same_scrape_as_the_web(client, monkeypatch, env):
    first = manage(env, "shell", "-c", ENQUEUE.format(start=0, stop=3))
    second = manage(env, "shell", "-c", ENQUEUE.format(start=3, stop=5))

    waiting = scrape(client, monkeypatch, env)
    assert waiting.value("importer_runs_enqueued_total", dry_run="false") == 4
    assert waiting.value("importer_runs_enqueued_total", dry_run="true") == 1
    assert waiting.value("importer_rq_queue_jobs") == 5
    assert waiting.value("importer_rq_oldest_job_age_seconds") >= 0
    assert waiting.value("importer_runs_active", status="queued") == 5
    assert waiting.value("importer_telemetry_up", part="redis") == 1

    worker = manage(env, "rqworker", "imports", "--burst")
    runs = list(ImportRun.objects.order_by("pk"))
    assert [(run.status, run.dry_run) for run in runs] == [
        (step["expect"]["status"], step.get("dry_run", False)) for step in STEPS
    ]

    page = scrape(client, monkeypatch, env)
    rows = {"target": "organization", "source": "crm"}
    # Standard runs: 5 + 2 + 2 inserted, 5 + 1 skipped, 10 + 1 quarantined, 1 updated (the dry run not counted).
    assert page.value("importer_rows_total", **rows, outcome="inserted") == 9
    assert page.value("importer_rows_total", **rows, outcome="skipped") == 6
    assert page.value("importer_rows_total", **rows, outcome="quarantined") == 11
    assert page.value("importer_rows_total", **rows, outcome="updated") == 1
    assert page.value("importer_rows_total", **rows, outcome="unchanged") == 0
    assert (
        page.value("importer_dedupe_decisions_total", target="organization", decision="inserted")
        == 9
    )
    assert (
        page.value("importer_dedupe_decisions_total", target="organization", decision="resolved")
        == 1
    )
    assert (
        page.value("importer_dedupe_decisions_total", target="organization", decision="skipped")
        == 6
    )
    assert page.value("importer_runs_finished_total", status="succeeded") == 2
    assert page.value("importer_runs_finished_total", status="partial") == 3
    assert page.value("importer_runs_finished_total", status="failed") == 0
    assert page.value("importer_run_duration_seconds_count", target="organization") == 5
    assert page.value("importer_run_duration_seconds_bucket", target="organization", le="+Inf") == 5
    assert page.value("importer_dry_run_total") == 1
    assert page.value("importer_dry_run_request_seconds_count") == 1
    assert page.value("importer_remediation_total", outcome="failed") == 0  # present from the start
    assert page.value("importer_runs_enqueued_total") == 5
    assert (
        page.value("importer_violations_open", target="organization") == 12
    )  # 10 + 1 + the dry run's 1
    assert page.value("importer_runs_active", status="queued") == 0
    assert page.value("importer_rq_queue_jobs") == 0
    assert page.value("importer_source_last_success_timestamp_seconds", source="crm") > 0
    assert page.value("django_db_execute_total", vendor="postgresql") > 0  # the worker's queries

    # Every job's horse wrote to its worker's files, and every process (the
    # two shells, the worker) folded its files, its horses' too, into the
    # archive when it ended: the totals above, and no file per process.
    files = sorted(path.name for path in Path(env["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"))
    assert {name.rsplit("_", 1)[1] for name in files} == {"archive.db"}, files

    # One JSON line per state change, from the process that made it.
    queued = state_lines(first.stderr) + state_lines(second.stderr)
    executed = state_lines(worker.stderr)
    for run in runs:
        states = [line["status"] for line in queued + executed if line["run_id"] == run.pk]
        assert states == ["queued", "running", run.status], (run.pk, states)
    finished = [line for line in executed if line["status"] not in ("queued", "running")]
    assert all(line["source"] == "crm" and line["target"] == "organization" for line in finished)
    assert {line["rows_total"] for line in finished} == {5, 13, 4}
    assert all(line["duration_s"] is not None for line in finished)
    output = first.stderr + second.stderr + worker.stderr + worker.stdout
    for value in PERSONAL:
        assert value not in output
