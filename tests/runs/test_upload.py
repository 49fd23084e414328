"""The admin add form is the upload form: same services as the CLI and API."""

import django_rq
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from ingest import errors
from runs.models import ImportRun
from tests.importing import ORGS_CSV

ADD = reverse("admin:runs_importrun_add")
pytestmark = pytest.mark.django_db


def upload(client, **fields):
    data = {
        "target": "organization",
        "source": "crm",
        "dry_run": "on",
        "encoding": "",
        "delimiter": "",
        "format": "",
        "file": SimpleUploadedFile("orgs.csv", ORGS_CSV, content_type="text/csv"),
        **fields,
    }
    return client.post(
        ADD, {key: value for key, value in data.items() if value is not None}, follow=True
    )


def test_the_form_has_labels_for_every_input(operator_client):
    html = operator_client.get(ADD).content.decode()
    for name in (
        "file",
        "target",
        "source",
        "dry_run",
        "encoding",
        "delimiter",
        "format",
        "sheet",
        "column_map",
    ):
        assert f'<label for="id_{name}"' in html, name
    assert '<option value="organization">' in html and '<option value="contact">' in html


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_upload_runs_and_links_to_the_run(operator_client, operator):
    # A real commit, as in production: the job runs in-process (no REDIS_URL)
    # or is enqueued for a worker (REDIS_URL) once the run is committed.
    response = upload(operator_client)
    run = ImportRun.objects.get()
    run_page = reverse("admin:runs_importrun_change", args=[run.pk])
    assert response.redirect_chain == [(run_page, 302)]
    assert (
        f'<a href="{run_page}">Dry run {run.pk}</a> of orgs.csv from crm: it '
        in response.content.decode()
    )
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_worker("imports").work(burst=True)
    run.refresh_from_db()
    assert (run.dry_run, run.created_by, run.original_filename) == (True, operator, "orgs.csv")
    assert run.status == ImportRun.Status.PARTIAL and (run.inserted, run.quarantined) == (1, 2)
    assert "Run for real" in operator_client.get(run_page).content.decode()


def test_options_reach_the_run(operator_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        upload(
            operator_client,
            dry_run=None,
            encoding="cp1252",
            delimiter=";",
            format="csv",
            file=SimpleUploadedFile("orgs.csv", ORGS_CSV.replace(b",", b";")),
        )
    run = ImportRun.objects.get()
    assert run.dry_run is False
    params = run.ingest_params_json
    assert (params["encoding"], params["delimiter"], params["format"]) == ("cp1252", ";", "csv")


@pytest.mark.django_db(transaction=True)
def test_a_spreadsheet_upload_with_a_sheet_imports_that_sheet(operator_client):
    workbook = (settings.BASE_DIR / "fixtures" / "spreadsheets" / "orgs.ods").read_bytes()
    upload(
        operator_client,
        dry_run=None,
        sheet="1",
        file=SimpleUploadedFile(
            "orgs.ods", workbook, content_type="application/vnd.oasis.opendocument.spreadsheet"
        ),
    )
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_worker("imports").work(burst=True)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error_message
    assert (run.ingest_params_json["sheet"], run.ingest_params_json["detected"]["sheet"]) == (
        "1",
        "More",
    )
    assert (run.rows_total, run.inserted) == (1, 1)


def test_a_sheet_name_with_nul_is_a_form_error(operator_client):
    response = upload(operator_client, sheet="a\x00b")
    assert response.status_code == 200 and not ImportRun.objects.exists()
    assert "Null characters are not allowed." in response.content.decode()


def test_the_column_map_lines_reach_the_run(operator_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        upload(
            operator_client,
            file=SimpleUploadedFile("crm.csv", b"ID,Company Name,country\nA-1,Acme,DE\n"),
            column_map="ID=external_id\r\n\r\n Company Name = name \r\n",
        )
    assert ImportRun.objects.get().ingest_params_json["column_map"] == {
        "ID": "external_id",
        "Company Name": "name",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"encoding": "klingon-8"}, errors.UNKNOWN_ENCODING.format(encoding="klingon-8")),
        (
            {"encoding": "rot13"},
            errors.UNKNOWN_ENCODING.format(encoding="rot13"),
        ),  # a codec, not text
        ({"source": "not a slug!"}, "Enter a valid"),
        ({"target": "planet"}, "Select a valid choice"),
        ({"file": None}, "This field is required"),
        ({"column_map": "ID"}, errors.COLUMN_MAP_ENTRY.format(entry="ID")),
    ],
)
def test_bad_input_is_a_form_error(operator_client, fields, message):
    response = upload(operator_client, **fields)
    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not ImportRun.objects.exists()


def test_an_empty_file_is_refused_by_the_form(operator_client):
    response = upload(operator_client, file=SimpleUploadedFile("empty.csv", b""))
    assert "The submitted file is empty." in response.content.decode()
    assert not ImportRun.objects.exists()


def test_stewards_cannot_upload(client, steward):
    client.force_login(steward)
    assert client.get(ADD).status_code == 403
    assert upload(client).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_utf16_given_for_a_file_without_a_bom_fails_the_run_with_the_offset(operator_client):
    content = ORGS_CSV.decode().encode("utf-16-le")
    upload(
        operator_client,
        dry_run=None,
        encoding="utf-16",
        file=SimpleUploadedFile("orgs.csv", content),
    )
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_worker("imports").work(burst=True)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert run.error_message == errors.UNDECODABLE.format(
        byte=content[0], offset=0, encoding="utf-16"
    ) + errors.NO_BYTE_ORDER_MARK.format(encoding="utf-16") + errors.GIVEN_ENCODING.format(
        encoding="utf-16"
    )
