"""The upload form's second step: a file whose header does not name the
target's required fields shows its columns beside the fields, with
suggestions and a sample; the chosen map makes the run (runs.staging)."""

import datetime as dt
import re

import pytest
import xlsxwriter
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from common.roles import OPERATORS
from core.models import Organization
from ingest import errors
from ingest.models import Source
from runs import staging
from runs.execution import runner
from runs.models import ImportRun
from tests.factories import UserFactory
from tests.importing import ORGS_CSV

ADD = reverse("admin:runs_importrun_add")
MATCH = reverse("admin:runs_importrun_match_columns")
CRM = b"Company Name,Country Code,Org ID,Notes\nAcme,DE,A-1,big\nBeta,FR,A-2,\nGamma,IT,A-3,x\n"
SUGGESTED = {"column_0": "name", "column_1": "country", "column_2": "external_id", "column_3": ""}
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_jobs(django_capture_on_commit_callbacks):
    """The run is made and enqueued; its job is not this file's business."""
    with django_capture_on_commit_callbacks(execute=False):
        yield


def upload(client, content=CRM, name="crm.csv", **fields):
    data = {
        "target": "organization",
        "source": "crm",
        "dry_run": "on",
        "file": SimpleUploadedFile(name, content),
        **fields,
    }
    return client.post(ADD, {key: value for key, value in data.items() if value is not None})


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def match(client, token, **choices):
    data = {"token": token, **SUGGESTED, **choices}
    return client.post(MATCH, {key: value for key, value in data.items() if value is not None})


def staged_files() -> list[str]:
    try:
        return default_storage.listdir(staging.STAGED_DIR)[1]
    except FileNotFoundError:
        return []


def test_a_mismatched_header_shows_columns_suggestions_and_a_sample(operator_client):
    response = upload(operator_client)
    assert response.status_code == 200 and not ImportRun.objects.exists()
    html = response.content.decode()
    assert "Match the file&#x27;s columns" in html or "Match the file's columns" in html
    for column in ("Company Name", "Country Code", "Org ID", "Notes"):
        assert f">{column}</label>" in html
    for value in ("Acme", "Beta", "Gamma", "A-3"):
        assert f">{value}</td>" in html
    form = response.context["form"]
    assert {name: form[name].value() for name in SUGGESTED} == SUGGESTED
    assert "Suggested: name, known synonym" in html
    assert len(staged_files()) == 1  # stored once, kept for the next step


def test_the_chosen_map_makes_the_run_and_the_staged_file_goes(operator_client, operator):
    token = token_of(upload(operator_client))
    response = match(operator_client, token)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:runs_importrun_change", args=[run.pk]
    )
    params = run.ingest_params_json
    assert params["column_map"] == {
        "Company Name": "name",
        "Country Code": "country",
        "Org ID": "external_id",
    }
    assert (run.dry_run, run.created_by, run.original_filename) == (True, operator, "crm.csv")
    assert run.file.read() == CRM
    assert staged_files() == []
    assert Source.objects.get(slug="crm").profile_column_map == {}  # not asked to remember
    # The token served once: a second POST (back button, double click) makes no second run.
    again = match(operator_client, token)
    assert again.status_code == 302 and again.url == ADD
    assert ImportRun.objects.count() == 1


def test_the_map_is_remembered_on_the_source_when_asked(operator_client):
    token = token_of(upload(operator_client))
    match(operator_client, token, remember="on")
    assert Source.objects.get(slug="crm").profile_column_map == {
        "Company Name": "name",
        "Country Code": "country",
        "Org ID": "external_id",
    }
    # The next export of that source goes straight through with it.
    response = upload(operator_client)
    assert response.status_code == 302 and ImportRun.objects.count() == 2


def test_a_utf8_header_shows_as_utf8_for_a_source_remembered_as_cp1252(operator_client):
    # The preview reads the file as the run will: UTF-8 beyond ASCII is UTF-8.
    Source.objects.create(slug="crm", profile_encoding="cp1252")
    content = "Société,Country Code,Org ID\nAcme,DE,A-1\n".encode()
    html = upload(operator_client, content=content).content.decode()
    assert ">Société</label>" in html


def test_a_remembered_map_is_suggested_before_synonyms(operator_client):
    Source.objects.create(slug="crm", profile_column_map={"Notes": "industry"})
    form = upload(operator_client).context["form"]
    assert form["column_3"].value() == "industry"


def test_a_matching_header_goes_straight_through(operator_client):
    response = upload(operator_client, content=ORGS_CSV)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/{run.pk}/change/")
    assert run.ingest_params_json["column_map"] == {}
    assert staged_files() == []


def test_a_file_the_reader_refuses_fails_its_run_as_before(operator_client):
    upload(operator_client, content=b'Company Name,"Country Code,Org ID\nAcme,DE,A-1\n')
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.QUEUED  # the worker fails it with the reader's message
    assert staged_files() == []


def test_a_column_without_a_name_is_left_out_and_the_run_imports(operator_client):
    # pandas' to_csv writes its index as a first column without a name.
    content = b",Company Name,Country Code,Org ID\n0,Acme,DE,A-1\n"
    response = upload(operator_client, content=content)
    form = response.context["form"]
    assert [form[f"column_{i}"].value() for i in range(4)] == ["", "name", "country", "external_id"]
    match(
        operator_client,
        token_of(response),
        column_0="",
        column_1="name",
        column_2="country",
        column_3="external_id",
    )
    run = ImportRun.objects.get()
    runner.run_execute(run_id=run.pk, in_process=True)
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.inserted) == (ImportRun.Status.SUCCEEDED, 1, 1)


COLLIDING = b"ID,Company Name,Country Code,Name\nCM1,Mapped Co,de,Other\n"


def imported(run: ImportRun) -> ImportRun:
    run = runner.run_execute(run_id=run.pk, in_process=True)
    assert (run.status, run.inserted) == (ImportRun.Status.SUCCEEDED, 1)
    return run


def test_a_given_map_wins_over_a_column_named_as_its_field(operator_client):
    given = "ID=external_id\nCompany Name=name\nCountry Code=country"
    response = upload(operator_client, content=COLLIDING, column_map=given, dry_run=None)
    assert response.status_code == 302 and staged_files() == []
    run = imported(ImportRun.objects.get())
    assert run.ingest_params_json["detected"]["unknown_columns"] == ["Name"]
    assert Organization.objects.get().name == "Mapped Co"


def test_a_column_named_as_a_field_is_left_out_when_another_is_chosen(operator_client):
    token = token_of(upload(operator_client, content=COLLIDING, dry_run=None))
    response = match(
        operator_client,
        token,
        column_0="external_id",
        column_1="name",
        column_2="country",
        column_3="",
    )
    assert response.status_code == 302
    run = imported(ImportRun.objects.get())
    assert run.ingest_params_json["column_map"] == {
        "ID": "external_id",
        "Company Name": "name",
        "Country Code": "country",
    }
    assert Organization.objects.get().name == "Mapped Co"


@pytest.mark.parametrize(
    ("choices", "field", "message"),
    [
        (
            {"column_3": "name"},
            "column_0",
            errors.MATCH_FIELD_TWICE.format(field="name", columns="'Company Name', 'Notes'"),
        ),
        ({"column_1": ""}, None, errors.MATCH_REQUIRED_UNMATCHED.format(fields="country")),
        ({"column_0": "planet"}, "column_0", "Select a valid choice"),
    ],
)
def test_bad_choices_show_the_page_again_with_errors(operator_client, choices, field, message):
    token = token_of(upload(operator_client))
    response = match(operator_client, token, **choices)
    assert response.status_code == 200 and not ImportRun.objects.exists()
    form = response.context["form"]
    assert any(message in error for error in form.errors[field or "__all__"])
    assert escape(message) in response.content.decode()
    assert token_of(response) == token and len(staged_files()) == 1


def test_a_column_named_as_a_field_cannot_be_left_out(operator_client):
    token = token_of(upload(operator_client, content=b"Org ID,name,Land\nA-1,Acme,DE\n"))
    response = match(
        operator_client, token, column_0="external_id", column_1="", column_2="country"
    )
    assert (
        errors.MATCH_NAMED_AS_FIELD.format(field="name")
        in response.context["form"].errors["column_1"][0]
    )


@pytest.mark.parametrize("token", ["", "forged", "x" * 300])
def test_a_bad_token_leads_back_to_the_upload_form(operator_client, token):
    response = operator_client.post(MATCH, {"token": token, **SUGGESTED}, follow=True)
    assert response.redirect_chain == [(ADD, 302)]
    assert escape(errors.STAGED_UPLOAD_GONE.format(minutes=60)) in response.content.decode()
    assert not ImportRun.objects.exists()


def test_another_user_cannot_use_the_token(operator_client, client):
    token = token_of(upload(operator_client))
    other = UserFactory(username="op2", role=OPERATORS)
    client.force_login(other)
    assert client.post(MATCH, {"token": token, **SUGGESTED}).url == ADD
    assert not ImportRun.objects.exists()


def test_an_expired_upload_is_gone_and_purged(operator_client, settings):
    token = token_of(upload(operator_client))
    settings.IMPORTER_STAGED_UPLOAD_SECONDS = 0
    assert match(operator_client, token).url == ADD
    assert staging.staged_uploads_purge(now=timezone.now() + dt.timedelta(seconds=1)) == 1
    assert staged_files() == [] and not ImportRun.objects.exists()


def test_a_get_of_the_match_url_leads_to_the_upload_form(operator_client):
    assert operator_client.get(MATCH).url == ADD


def test_stewards_cannot_match(client, steward):
    client.force_login(steward)
    assert client.post(MATCH, {"token": "x"}).status_code == 403


def test_json_lines_are_matched_by_their_keys(operator_client):
    content = b'{"Org ID": "A-1", "Company Name": "Acme", "Country Code": "de"}\n'
    response = upload(operator_client, content=content, name="crm.jsonl")
    form = response.context["form"]
    assert [form[f"column_{i}"].value() for i in range(3)] == ["external_id", "name", "country"]
    match(
        operator_client,
        token_of(response),
        column_0="external_id",
        column_1="name",
        column_2="country",
        column_3=None,
    )
    assert ImportRun.objects.get().ingest_params_json["column_map"] == {
        "Org ID": "external_id",
        "Company Name": "name",
        "Country Code": "country",
    }


def workbook_bytes(tmp_path, exports=("Export", "Archive")) -> bytes:
    """A notes sheet first, then export sheets: with two, neither is read
    in place of the notes (see ingest.readers.spreadsheets)."""
    path = tmp_path / "crm.xlsx"
    workbook = xlsxwriter.Workbook(path)
    notes = workbook.add_worksheet("Notes")
    notes.write_row(0, 0, ["Read me"])
    for name in exports:
        export = workbook.add_worksheet(name)
        export.write_row(0, 0, ["CRM export"])
        export.write_row(2, 0, ["Company Name", "Country Code", "Org ID"])
        export.write_row(3, 0, ["Acme", "DE", "A-1"])
    workbook.close()
    return path.read_bytes()


def test_the_form_opens_on_the_one_sheet_with_the_columns(operator_client, tmp_path):
    content = workbook_bytes(tmp_path, exports=("Export",))
    response = upload(operator_client, content=content, name="crm.xlsx")
    form = response.context["form"]
    assert form["sheet"].value() == "Export" and form["column_0"].label == "Company Name"
    match(operator_client, token_of(response), shown_sheet="Export", sheet="Export")
    # No sheet given: the run reads the one the form showed, as the form did.
    assert not ImportRun.objects.get().ingest_params_json["sheet"]
    run = runner.run_execute(run_id=ImportRun.objects.get().pk, in_process=True)
    assert (run.status, run.rows_total) == ("succeeded", 1)
    assert run.ingest_params_json["detected"]["sheet"] == "Export"


def test_a_workbook_s_sheet_is_chosen_in_the_form(operator_client, tmp_path):
    response = upload(operator_client, content=workbook_bytes(tmp_path), name="crm.xlsx")
    form = response.context["form"]
    assert form["sheet"].value() == "Notes" and form["column_0"].label == "Read me"
    token = token_of(response)
    # Another sheet chosen: its columns are shown first, nothing imported yet.
    response = operator_client.post(
        MATCH, {"token": token, "shown_sheet": "Notes", "sheet": "Export", "column_0": ""}
    )
    assert response.status_code == 200 and not ImportRun.objects.exists()
    form = response.context["form"]
    assert [form[f"column_{i}"].label for i in range(3)] == [
        "Company Name",
        "Country Code",
        "Org ID",
    ]
    assert ">Acme</td>" in response.content.decode()
    response = operator_client.post(
        MATCH, {"token": token, "shown_sheet": "Export", "sheet": "Export", **SUGGESTED}
    )
    run = ImportRun.objects.get()
    assert run.ingest_params_json["sheet"] == "Export"
    assert run.ingest_params_json["column_map"]["Org ID"] == "external_id"


def test_a_sheet_that_cannot_be_read_keeps_the_one_shown(operator_client, tmp_path):
    response = upload(operator_client, content=workbook_bytes(tmp_path), name="crm.xlsx")
    token = token_of(response)
    response = operator_client.post(
        MATCH, {"token": token, "shown_sheet": "Notes", "sheet": "Nowhere"}
    )
    assert response.status_code == 200 and response.context["form"]["sheet"].value() == "Notes"
    assert "The workbook has no sheet" in response.context["problem"]


def test_an_upload_imported_in_another_tab_leads_back_to_the_form(operator_client):
    token = token_of(upload(operator_client))
    default_storage.delete(f"{staging.STAGED_DIR}/{staged_files()[0]}")
    response = operator_client.post(MATCH, {"token": token, **SUGGESTED})
    assert response.status_code == 302 and response.url == ADD
