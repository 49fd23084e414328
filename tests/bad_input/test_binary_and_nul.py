"""Catalogue: binary files and NUL bytes, through the real pipeline. NUL is
the one byte PostgreSQL refuses in text and JSON, so these also run there
(the CI run with DATABASE_URL) and once more under the postgres marker."""

import gzip
import io
import zipfile

import pytest

from core.models import Organization
from ingest import errors
from ingest import fields as rules
from ingest.readers.headers import NUL_MARK
from runs.models import ImportRun
from tests.importing import HEADER, import_checked


def zip_bytes() -> bytes:
    """A ZIP of CSV files: not a workbook (those are read, see
    tests/ingest/test_spreadsheets.py)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orgs.csv", HEADER)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, kind",
    [
        (zip_bytes(), errors.KIND_ZIP),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), errors.KIND_OLE2),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (gzip.compress(gzip.compress(HEADER.encode())), "doubly gzip-compressed"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (b"GIF89a" + bytes(50), "GIF image"),
        (b"\xff\xd8\xff\xe0" + bytes(50), "JPEG image"),
    ],
)
def test_binary_files_are_named_and_the_run_fails(run_bytes, content, kind):
    ended = run_bytes(content, filename="upload.csv")
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.BINARY_FILE.format(kind=kind)
    assert "export it as CSV" in ended.run.error_message


def test_unnamed_binary_is_refused(run_bytes):
    content = bytes(range(256)) * 20
    ended = run_bytes(content)
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.BINARY_FILE.format(kind="binary")


def nul_rows():
    text = (
        "external_id,name,country,Note\x00s\n"
        "1,Acme\x00Corp,DE,x\n"
        "2\x00,Beta,FR,y\n"
        "3,Gamma,FR,z\x00\n"
    )
    ended = import_checked(text.encode())
    assert (ended.status, ended.counts) == ("partial", (3, 1, 2))
    assert ended.codes() == [(2, rules.INVALID_FORMAT), (3, rules.INVALID_FORMAT)]
    assert ended.messages() == [rules.MSG_NUL, rules.MSG_NUL]
    # Stored with the NUL made visible: PostgreSQL would reject the raw byte.
    assert ended.violations[0].payload["name"] == f"Acme{NUL_MARK}Corp"
    assert ended.violations[1].external_id == f"2{NUL_MARK}"
    assert ended.run.ingest_params_json["detected"]["unknown_columns"] == [f"Note{NUL_MARK}s"]
    # A NUL in a column the target does not know is dropped with that column.
    assert list(Organization.objects.values_list("name", flat=True)) == ["Gamma"]


@pytest.mark.django_db
def test_nul_bytes_quarantine_their_row():
    nul_rows()


@pytest.mark.postgres
@pytest.mark.django_db
def test_nul_bytes_quarantine_their_row_on_postgresql():
    nul_rows()
