"""Runs whose files live in a storage without local paths (S3 and the like,
through django-storages): uploads, imports, replays, results and purges go
through the storage API only (runs.execution.files.local_copy)."""

import csv
import datetime as dt
import gzip
import io
import os
import tempfile

import pytest
import xlsxwriter
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InMemoryStorage, default_storage
from django.utils import timezone
from django.utils._os import safe_join
from rest_framework.test import APIClient

from core.models import Organization
from ingest.errors import FILE_MISSING, TOO_LARGE
from runs import retention as runs_services
from runs import services
from runs.execution import files as run_files
from runs.execution import runner as run_runner
from runs.models import ImportRun
from tests.factories import UserFactory
from tests.importing import create_run, import_bytes

pytestmark = pytest.mark.django_db
CSV = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,FR\n"


class ObjectStorage(InMemoryStorage):
    """In memory, no ``path()`` (as S3Storage): records the objects opened."""

    opened: list[str] = []

    def path(self, name):
        raise NotImplementedError("This backend doesn't support absolute paths.")

    def _relative_path(self, name):  # InMemoryStorage's own use of path()
        return os.path.relpath(safe_join(self.location, name), self.location)

    def open(self, name, mode="rb"):
        self.opened.append(name)
        return super().open(name, mode)


@pytest.fixture(autouse=True)
def object_storage(settings, tmp_path, monkeypatch):
    # Django's setting_changed handler resets default_storage for STORAGES.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.ObjectStorage"}}
    ObjectStorage.opened = []
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(NotImplementedError):
        default_storage.path("anything")
    assert isinstance(ImportRun._meta.get_field("file").storage._wrapped, ObjectStorage)
    return default_storage


def xlsx_bytes() -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet("orgs")
    for row, line in enumerate(CSV.decode().splitlines()):
        for column, value in enumerate(line.split(",")):
            sheet.write(row, column, value)
    workbook.close()
    return out.getvalue()


def copies_left(tmp_path) -> list[str]:
    return [path.name for path in tmp_path.iterdir() if path.name.startswith("importer-")]


@pytest.mark.parametrize(
    "content, filename, format",
    [
        (CSV, "orgs.csv", "csv"),
        (gzip.compress(CSV), "orgs.csv.gz", "csv"),
        (xlsx_bytes(), "orgs.xlsx", "xlsx"),
    ],
    ids=["csv", "gzip", "xlsx"],
)
def test_a_file_in_object_storage_is_imported_and_its_local_copy_deleted(
    object_storage, tmp_path, content, filename, format
):
    run = import_bytes(content, filename=filename)
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert run.ingest_params_json["detected"]["format"] == format
    assert sorted(Organization.objects.values_list("name", flat=True)) == ["Acme", "Beta"]
    assert object_storage.exists(run.file.name) and object_storage.exists(run.results_file.name)
    assert run.file.name in ObjectStorage.opened
    assert copies_left(tmp_path) == []


def test_a_replay_reads_the_same_stored_object(object_storage):
    first = import_bytes(CSV)
    replay = services.run_replay(run=first, enqueue=False)
    replay = run_runner.run_execute(run_id=replay.pk)
    assert replay.status == ImportRun.Status.SUCCEEDED, replay.error_message
    assert replay.file.name == first.file.name
    assert Organization.objects.count() == 2


def test_a_missing_object_fails_the_run_as_a_missing_file(object_storage):
    run = create_run(CSV)
    object_storage.delete(run.file.name)
    run = run_runner.run_execute(run_id=run.pk)
    assert (run.status, run.error_message) == (ImportRun.Status.FAILED, FILE_MISSING)


def test_an_object_over_the_limit_is_refused_before_it_is_copied(
    object_storage, settings, tmp_path
):
    run = create_run(CSV)
    settings.IMPORTER_MAX_UPLOAD_BYTES = len(CSV) - 1
    ObjectStorage.opened = []
    run = run_runner.run_execute(run_id=run.pk)
    assert run.error_message == TOO_LARGE.format(size=len(CSV), limit=len(CSV) - 1)
    assert ObjectStorage.opened == [] and copies_left(tmp_path) == []


def test_results_are_downloaded_from_object_storage(object_storage):
    run = import_bytes(CSV, dry_run=True)
    client = APIClient()
    client.force_authenticate(UserFactory(admin=True))
    response = client.get(f"/api/v1/runs/{run.pk}/results/")
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [line["external_id"] for line in lines] == ["A-1", "A-2"]


def test_old_files_are_purged_from_object_storage(object_storage):
    run = import_bytes(CSV)
    names = (run.file.name, run.results_file.name)
    when = timezone.now() - dt.timedelta(days=100)
    ImportRun.objects.filter(pk=run.pk).update(created_at=when, finished_at=when)
    for kind in (runs_services.UPLOADS, runs_services.RESULTS):
        assert runs_services.run_files_purge(kind=kind, older_than_days=90).files == 1
    assert not any(object_storage.exists(name) for name in names)
    run.refresh_from_db()
    assert (run.file.name, run.results_file.name) == ("", "")


def test_a_storage_with_local_paths_is_read_in_place(tmp_path):
    storage = FileSystemStorage(location=tmp_path / "media")
    name = storage.save("orgs.csv", ContentFile(CSV))
    path, cleanup = run_files.local_copy(storage, name)
    assert path == storage.path(name)
    cleanup()
    assert storage.exists(name) and copies_left(tmp_path) == []


def test_the_local_copy_lives_until_the_reader_is_closed(object_storage, tmp_path):
    run = create_run(CSV)
    reader = run_files.run_reader(run)
    assert len(copies_left(tmp_path)) == 1
    assert [row.values["name"] for row in reader] == ["Acme", "Beta"]
    assert [row.values["name"] for row in reader] == ["Acme", "Beta"], (
        "read again from the same copy"
    )
    reader.close()
    assert copies_left(tmp_path) == []
