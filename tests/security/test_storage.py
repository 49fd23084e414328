"""Stored files get server-side names, never the client's; a refused
upload stores nothing; runs leave no temporary files behind."""

import os
import re
import tempfile

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import TemporaryUploadedFile

from ingest import errors, pipeline
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import create_run, import_bytes

CSV = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,XX\n"
SERVER_NAME = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")


def files_under(path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names)


@pytest.fixture
def own_tempdir(tmp_path, monkeypatch):
    """Temporary files of this test (tempfile and Django uploads) go here."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.django_db
@pytest.mark.parametrize(
    "client_name, extension",
    [
        ("../../../etc/passwd", ""),
        ("..\\..\\windows\\evil.csv", ".csv"),
        ("<script>alert(1)</script>.csv", ".csv"),
        ("orgs.CSV", ".csv"),
        ("report.csv.exe", ".exe"),
        ("name with spaces and ünïcödé.jsonl", ".jsonl"),
        ("x" * 500 + ".csv", ".csv"),
        ("no-extension", ""),
        ("weird.ext$ension", ""),
        ("\x00nul\r\n.csv", ".csv"),
        ("latin1-\udcfc.csv", ".csv"),  # a non-UTF-8 file name on the command line
    ],
)
def test_stored_files_get_server_side_names(client_name, extension):
    run = create_run(CSV, filename=client_name)
    stored = os.path.basename(run.file.name)
    assert SERVER_NAME.fullmatch(stored), stored
    assert stored.endswith(extension)
    assert os.path.realpath(run.file.path).startswith(os.path.realpath(django_settings.MEDIA_ROOT))
    assert open(run.file.path, "rb").read() == CSV
    # The client's name is kept for display only: last path part, no control characters.
    assert (
        not re.search(r"[/\\\x00-\x1f]", run.original_filename)
        and len(run.original_filename) <= 255
    )


@pytest.mark.django_db
def test_an_upload_over_the_limit_stores_nothing_and_leaves_no_temporary_file(
    settings, own_tempdir
):
    settings.IMPORTER_MAX_UPLOAD_BYTES = 1000
    upload = TemporaryUploadedFile(
        "big.csv", "text/csv", 0, "utf-8"
    )  # as Django streams a big upload
    upload.write(CSV * 100)
    upload.seek(0)
    assert files_under(own_tempdir) != []
    run = services.run_create(
        target="organization", source="crm", file=upload, filename=upload.name
    )
    upload.close()  # what Django does at the end of the request
    assert run.status == ImportRun.Status.FAILED
    assert run.error_message == errors.TOO_LARGE.format(size=len(CSV) * 100, limit=1000)
    assert not run.file
    assert files_under(settings.MEDIA_ROOT) == []
    assert files_under(own_tempdir) == []


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_finished_run_leaves_no_temporary_file(own_tempdir, dry_run):
    run = import_bytes(CSV, dry_run=dry_run)
    assert run.status == ImportRun.Status.PARTIAL
    assert files_under(own_tempdir) == []


@pytest.mark.django_db
def test_a_file_level_failure_leaves_no_temporary_file(own_tempdir):
    run = import_bytes(b"PK\x03\x04zip", filename="a.csv")
    assert run.status == ImportRun.Status.FAILED
    assert files_under(own_tempdir) == []


@pytest.mark.django_db
def test_a_crashed_run_leaves_no_temporary_file(own_tempdir, monkeypatch):
    def explode(self, rows, write=True):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", explode)
    run = create_run(CSV)
    assert runner.run_execute(run_id=run.pk).status == ImportRun.Status.FAILED
    assert files_under(own_tempdir) == []
