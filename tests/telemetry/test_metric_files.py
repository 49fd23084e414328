"""PROMETHEUS_MULTIPROC_DIR does not grow with the number of processes
started: each `manage.py` process folds its metric files into the archive
files when it ends, and /metrics still counts everything it counted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client.mmap_dict import MmapedDict

from runs.metrics_archive import fold_process_files
from tests.telemetry.scrape import Scrape

pytestmark = pytest.mark.django_db

COUNT = """
from runs.metrics import DRY_RUNS, RUN_DURATION
DRY_RUNS.inc()
RUN_DURATION.labels(target="organization", status="succeeded").observe(1.5)
RUN_DURATION.labels(target="organization", status="failed").observe(700)
"""


def count_in_processes(directory: Path, times: int) -> None:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(directory))
    for _ in range(times):
        done = subprocess.run(
            [sys.executable, Path(settings.BASE_DIR) / "manage.py", "shell", "-c", COUNT],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]


def metric_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob("*.db"))


def scrape(client, monkeypatch, directory: Path) -> Scrape:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    response = client.get("/metrics")
    assert response.status_code == 200
    return Scrape(response.content.decode())


def test_the_file_count_stays_flat_and_the_totals_stay_right(tmp_path, client, monkeypatch):
    count_in_processes(tmp_path, 2)
    after_two = metric_files(tmp_path)
    count_in_processes(tmp_path, 4)
    assert metric_files(tmp_path) == after_two
    assert {name.rsplit("_", 1)[1] for name in after_two} == {"archive.db"}, after_two

    page = scrape(client, monkeypatch, tmp_path)
    assert page.value("importer_dry_run_total") == 6
    succeeded = {"target": "organization", "status": "succeeded"}
    assert page.value("importer_run_duration_seconds_count", **succeeded) == 6
    assert page.value("importer_run_duration_seconds_sum", **succeeded) == 9.0
    assert page.value("importer_run_duration_seconds_bucket", **succeeded, le="1.0") == 0
    assert page.value("importer_run_duration_seconds_bucket", **succeeded, le="2.5") == 6
    failed = {"target": "organization", "status": "failed"}
    assert page.value("importer_run_duration_seconds_bucket", **failed, le="600.0") == 0
    assert page.value("importer_run_duration_seconds_bucket", **failed, le="1800.0") == 6


def test_folding_leaves_other_processes_files_alone(tmp_path):
    """Only the ending process's files (and its horses') go: a live
    process keeps writing to its own."""
    key = '["importer_dry_run", "importer_dry_run_total", {}, "Dry runs finished."]'
    for name in ("counter_111.db", "counter_horse111.db", "counter_222.db", "gauge_livesum_111.db"):
        values = MmapedDict(str(tmp_path / name))
        values.write_value(key, 2.0, 0.0)
        values.close()
    fold_process_files(str(tmp_path), ("111", "horse111"))
    assert metric_files(tmp_path) == ["counter_222.db", "counter_archive.db"]
    assert [
        value
        for _, value, _, _ in MmapedDict.read_all_values_from_file(
            str(tmp_path / "counter_archive.db")
        )
    ] == [4.0]
