"""`manage.py rqworker-pool` (docs/deployment.md, `make serve`): its workers
run the project's worker class, every job is counted in PROMETHEUS_MULTIPROC_DIR,
and the files of the ended work horses and workers are folded into the
archive (a pool's worker exits with os._exit: no atexit handler runs)."""

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from django.conf import settings

from tests.telemetry.scrape import Scrape

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("empty_imports_queue")]

JOBS = 6


@pytest.mark.django_db
def test_a_worker_pool_runs_the_jobs_and_folds_its_metric_files(tmp_path, client, monkeypatch):
    queue = django_rq.get_queue("imports")
    jobs = [queue.enqueue("tests.telemetry.jobs.count_a_dry_run") for _ in range(JOBS)]
    metrics_dir = tmp_path / "prometheus"
    env = dict(
        os.environ,
        DEBUG="1",
        # The job needs no database; the workers' reconciler reads an empty one.
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    done = subprocess.run(
        [sys.executable, Path(settings.BASE_DIR) / "manage.py", "rqworker-pool", "imports"]
        + ["--num-workers", "2", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished", (job.id, job.get_status())
    files = sorted(path.name for path in metrics_dir.glob("*.db"))
    assert {name.rsplit("_", 1)[1] for name in files} == {"archive.db"}, files
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    page = Scrape(client.get("/metrics").content.decode())
    assert page.value("importer_dry_run_total") == JOBS
