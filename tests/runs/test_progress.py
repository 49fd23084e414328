"""Live progress: rows of (an estimate of) the total, rate and time left,
for dry runs too (their counters commit only at their end)."""

import datetime

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.urls import reverse
from django.utils import timezone

from runs import progress as live_progress
from runs.models import ImportRun
from runs.selectors import run_progress
from tests.factories import ImportRunFactory
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_running_run_reports_rows_of_its_estimate_rate_and_time_left():
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        rows_processed=2_000,
        started_at=NOW - datetime.timedelta(seconds=100),
        ingest_params_json={"detected": {"rows_estimate": 10_000}},
    )
    [progress] = run_progress(ids=[run.pk], now=NOW)
    assert progress["total"] == 10_000 and progress["total_estimated"]
    assert (progress["percent"], progress["rate_per_s"], progress["seconds_left"]) == (20, 20, 400)


def test_a_replay_takes_its_parents_total_as_the_estimate():
    parent = ImportRunFactory(status=ImportRun.Status.SUCCEEDED, rows_total=5_000)
    replay = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        parent_run=parent,
        rows_processed=1_000,
        started_at=NOW - datetime.timedelta(seconds=10),
        ingest_params_json={"detected": {"rows_estimate": 9_999}},
    )
    [progress] = run_progress(ids=[replay.pk], now=NOW)
    assert (progress["total"], progress["percent"], progress["seconds_left"]) == (5_000, 20, 40)


def test_without_an_estimate_the_bar_has_no_end_and_no_time_left():
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        rows_processed=10,
        started_at=NOW - datetime.timedelta(seconds=5),
    )
    [progress] = run_progress(ids=[run.pk], now=NOW)
    assert (progress["total"], progress["percent"], progress["seconds_left"]) == (None, None, None)
    assert progress["rate_per_s"] == 2


def test_a_finished_run_is_at_100_percent_of_its_real_total():
    run = import_bytes()
    [progress] = run_progress(ids=[run.pk])
    assert (progress["total"], progress["percent"], progress["finished"]) == (3, 100, True)
    assert not progress["total_estimated"] and progress["seconds_left"] is None


def test_a_running_dry_run_reads_its_count_from_the_cache():
    dry = ImportRunFactory(status=ImportRun.Status.RUNNING, dry_run=True, started_at=NOW)
    real = ImportRunFactory(status=ImportRun.Status.RUNNING, started_at=NOW)
    live_progress.dry_run_progress_note(run_id=dry.pk, rows=700)
    live_progress.dry_run_progress_note(run_id=real.pk, rows=999)  # a real run's counters rule
    progress = {row["id"]: row for row in run_progress(ids=[dry.pk, real.pk], now=NOW)}
    assert progress[dry.pk]["rows_processed"] == 700
    assert progress[real.pk]["rows_processed"] == 0


def test_the_runner_notes_a_dry_runs_count_after_each_chunk(settings, monkeypatch):
    settings.IMPORTER_CHUNK_SIZE = 1
    noted = []
    monkeypatch.setattr(
        live_progress,
        "dry_run_progress_note",
        lambda *, run_id, rows: noted.append(rows),
    )
    import_bytes(dry_run=True)
    assert noted == [1, 2, 3]
    noted.clear()
    import_bytes(dry_run=False)
    assert noted == []  # a real run's counters commit with each chunk


def test_a_run_of_a_csv_file_keeps_an_estimate_of_its_rows():
    run = import_bytes()
    assert run.ingest_params_json["detected"]["rows_estimate"] == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", 0),
        (b"h\n", 0),
        (b"h\na\nb\n", 2),
        (b"h\na\nb", 2),
        (b"h\n" + b"x\n" * 3_000_000, 3_000_000),
    ],
)
def test_rows_estimate_counts_lines_less_the_header(content, expected):
    storage = InMemoryStorage()
    name = storage.save("f.csv", ContentFile(content))
    assert live_progress.rows_estimate(storage=storage, name=name) == expected


def test_the_progress_endpoint_says_the_time_left_in_words(admin_client):
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        rows_processed=1_000,
        started_at=timezone.now() - datetime.timedelta(seconds=60),
        ingest_params_json={"detected": {"rows_estimate": 5_000}},
    )
    response = admin_client.get(reverse("admin:runs_importrun_progress"), {"ids": str(run.pk)})
    [data] = response.json()["runs"]
    assert data["time_left"] == "about 4 min left"
