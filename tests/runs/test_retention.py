"""Retention of runs' stored files (runs.retention.run_files_purge): what is
deleted, what is kept, what the run looks like afterwards."""

import datetime as dt
import os

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ingest.errors import UsageError
from runs import retention as services
from runs import services as run_services
from runs.execution import runner
from runs.models import ImportRun
from tests.factories import ImportRunFactory
from tests.importing import ORGS_CSV, create_run, import_bytes

pytestmark = pytest.mark.django_db
DAYS = 90


def age(run: ImportRun, days: float) -> ImportRun:
    """The run as if it had been made and finished ``days`` ago."""
    when = timezone.now() - dt.timedelta(days=days)
    ImportRun.objects.filter(pk=run.pk).update(created_at=when, started_at=when, finished_at=when)
    run.refresh_from_db()
    return run


def purge(kind=services.UPLOADS, dry_run=False) -> services.FilesPurged:
    return services.run_files_purge(kind=kind, older_than_days=DAYS, dry_run=dry_run)


def stored(name: str) -> bool:
    return ImportRun._meta.get_field("file").storage.exists(name)


def test_an_old_runs_upload_is_deleted_and_the_run_forgets_it():
    old, recent = age(import_bytes(), DAYS + 1), age(import_bytes(), DAYS - 1)
    name = old.file.name
    result = purge()
    assert (result.files, result.runs, result.bytes, result.kept) == (1, 1, len(ORGS_CSV), 0)
    assert not stored(name)
    old.refresh_from_db()
    assert old.file.name == "" and old.file_sha256 and old.original_filename == "orgs.csv"
    assert old.results_file, "results have their own retention"
    recent.refresh_from_db()
    assert recent.file and stored(recent.file.name)


def test_a_purge_is_idempotent():
    age(import_bytes(), DAYS + 1)
    assert purge().files == 1
    again = purge()
    assert (again.files, again.runs, again.bytes) == (0, 0, 0)


def test_a_dry_run_reports_without_removing():
    old = age(import_bytes(), DAYS + 1)
    result = purge(dry_run=True)
    assert (result.files, result.runs, result.bytes) == (1, 1, len(ORGS_CSV))
    old.refresh_from_db()
    assert old.file and stored(old.file.name)
    assert purge(dry_run=True).files == 1


@pytest.mark.parametrize("status", [ImportRun.Status.QUEUED, ImportRun.Status.RUNNING])
def test_an_unfinished_run_keeps_its_file_however_old(status):
    run = create_run(ORGS_CSV)
    ImportRun.objects.filter(pk=run.pk).update(
        status=status, created_at=timezone.now() - dt.timedelta(days=400)
    )
    assert purge().files == 0
    run.refresh_from_db()
    assert run.file and stored(run.file.name)


def test_a_file_shared_with_a_recent_replay_is_kept_until_both_are_old():
    parent = age(import_bytes(), DAYS + 10)
    replay = run_services.run_replay(run=parent, enqueue=False)  # queued: same stored file
    assert replay.file.name == parent.file.name
    result = purge()
    assert (result.files, result.runs, result.kept) == (0, 0, 1)
    runner.run_execute(run_id=replay.pk)
    age(replay, DAYS - 1)
    assert purge().kept == 1
    age(replay, DAYS + 1)
    result = purge()
    assert (result.files, result.runs, result.kept) == (1, 2, 0)
    assert not stored(parent.file.name)
    assert ImportRun.objects.filter(file="").count() == 2


def test_a_file_already_gone_is_forgotten_without_counting_bytes():
    old = age(import_bytes(), DAYS + 1)
    old.file.storage.delete(old.file.name)
    result = purge()
    assert (result.files, result.runs, result.bytes) == (0, 1, 0)
    old.refresh_from_db()
    assert not old.file


def test_results_files_are_deleted_with_their_own_retention():
    old = age(import_bytes(dry_run=True), DAYS + 1)
    name, size = old.results_file.name, old.results_file.size
    result = purge(services.RESULTS)
    assert (result.kind, result.files, result.runs, result.bytes) == ("results", 1, 1, size)
    assert not stored(name)
    old.refresh_from_db()
    assert not old.results_file and old.file, "the upload has its own retention"


def test_files_go_through_the_storage_api(settings):
    """An object store has no local path: the purge must not need one."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    run = age(ImportRunFactory(status=ImportRun.Status.SUCCEEDED), DAYS + 1)
    run.file.save("orgs.csv", ContentFile(ORGS_CSV))
    run.results_file.save("results.csv", ContentFile(b"row_number\n"))
    assert not os.path.exists(run.file.path)  # no local file behind it: os.remove would fail
    assert (purge().bytes, purge(services.RESULTS).bytes) == (len(ORGS_CSV), len(b"row_number\n"))
    assert not run.file.storage.exists(run.file.name) and not run.results_file.storage.exists(
        run.results_file.name
    )


def test_a_negative_retention_is_a_usage_error():
    with pytest.raises(UsageError) as error:
        services.run_files_purge(kind=services.UPLOADS, older_than_days=-1)
    assert error.value.message == services.BAD_RETENTION.format(days=-1)


def test_after_the_purge_the_run_reads_as_before_and_replay_says_why_not(admin_client):
    old = age(import_bytes(dry_run=True), DAYS + 1)
    purge()
    purge(services.RESULTS)
    page = admin_client.get(reverse("admin:runs_importrun_change", args=[old.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "orgs.csv" in content and "Deleted after the retention period" in content
    assert reverse("admin:runs_importrun_run_for_real", args=[old.pk]) not in content
    api = APIClient()
    api.force_authenticate(page.wsgi_request.user)
    detail = api.get(f"/api/v1/runs/{old.pk}/")
    assert detail.status_code == 200
    assert (detail.json()["status"], detail.json()["has_results"], detail.json()["rows_total"]) == (
        "partial",
        False,
        3,
    )
    replay = api.post(f"/api/v1/runs/{old.pk}/replay/")
    assert replay.status_code == 409  # the run's state refuses it (API contract)
    assert replay.json()["detail"] == run_services.NO_FILE_TO_REPLAY.format(run_id=old.pk)
    results = api.get(f"/api/v1/runs/{old.pk}/results/")
    assert results.status_code == 404
    response = admin_client.post(reverse("admin:runs_importrun_replay", args=[old.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        run_services.NO_FILE_TO_REPLAY.format(run_id=old.pk)
    ]
