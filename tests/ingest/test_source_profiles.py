"""Source profiles: how a source's files look (format, encoding, delimiter,
sheet, column map), saved with ``remember`` from the CLI, the API or the
upload form, used when a caller leaves a parameter out, and recorded on the
run so a replay keeps what the run used."""

import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from ingest import errors
from ingest.errors import UsageError
from ingest.models import Source
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.factories import token_client

pytestmark = pytest.mark.django_db

CRM_EXPORT = "ID;Company Name;country\nZ-1;Zed Co;de\nZ-2;Why Ltd;GB\n"
MAP = {"ID": "external_id", "Company Name": "name"}


def import_file(path, *options):
    out = io.StringIO()
    try:
        call_command(
            "import_file",
            str(path),
            "--target",
            "organization",
            "--source",
            "crm",
            "--sync",
            "--json",
            *options,
            stdout=out,
            stderr=io.StringIO(),
        )
    except SystemExit as exc:
        assert exc.code == 0, out.getvalue()
    return ImportRun.objects.get(pk=json.loads(out.getvalue().strip().splitlines()[-1])["run_id"])


def test_the_cli_remembers_the_column_map_and_a_later_import_uses_it(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    first = import_file(
        path,
        "--column",
        "ID=external_id",
        "--column",
        "Company Name=name",
        "--delimiter",
        ";",
        "--remember",
    )
    assert first.status == "succeeded" and first.ingest_params_json["profile_used"] == []
    source = Source.objects.get(slug="crm")
    assert (source.profile_column_map, source.profile_delimiter, source.profile_encoding) == (
        MAP,
        ";",
        "",
    )

    second = import_file(path)  # no --column, no --delimiter
    assert (second.status, second.skipped) == ("succeeded", 2)
    params = second.ingest_params_json
    assert (params["column_map"], params["delimiter"]) == (MAP, ";")
    assert params["profile_used"] == ["delimiter", "column_map"]


def test_without_remember_the_profile_is_left_alone(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    import_file(
        path, "--column", "ID=external_id", "--column", "Company Name=name", "--delimiter", ";"
    )
    source = Source.objects.get(slug="crm")
    assert (source.profile_column_map, source.profile_delimiter) == ({}, "")


def test_a_callers_value_wins_over_the_profile():
    Source.objects.create(
        slug="crm", profile_delimiter=";", profile_encoding="cp1252", profile_column_map=MAP
    )
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(b"x"),
        filename="a.csv",
        delimiter=",",
        column_map={"Key": "external_id"},
    )
    params = run.ingest_params_json
    assert (params["delimiter"], params["column_map"], params["encoding"]) == (
        ",",
        {"Key": "external_id"},
        "cp1252",
    )
    assert params["profile_used"] == ["encoding"]


def test_remember_saves_only_the_given_parameters():
    source = Source.objects.create(slug="crm", profile_delimiter=";", profile_column_map=MAP)
    services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(b"x"),
        filename="a.csv",
        encoding="latin-1",
        remember=True,
    )
    source.refresh_from_db()
    assert (source.profile_encoding, source.profile_delimiter, source.profile_column_map) == (
        "latin-1",
        ";",
        MAP,
    )


def test_a_replay_after_the_profile_changed_uses_the_original_parameters(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    import_file(
        path,
        "--column",
        "ID=external_id",
        "--column",
        "Company Name=name",
        "--delimiter",
        ";",
        "--remember",
    )
    run = import_file(path)
    Source.objects.filter(slug="crm").update(
        profile_delimiter="|", profile_column_map={"Other": "name"}
    )
    replay = runner.run_execute(
        run_id=services.run_replay(run=run, enqueue=False).pk, in_process=True
    )
    assert (replay.ingest_params_json["column_map"], replay.ingest_params_json["delimiter"]) == (
        MAP,
        ";",
    )
    assert (replay.status, replay.skipped) == ("succeeded", 2)


@pytest.mark.parametrize(
    "profile, message",
    [
        (
            {"profile_encoding": "no-such-codec"},
            errors.UNKNOWN_ENCODING.format(encoding="no-such-codec"),
        ),
        ({"profile_delimiter": "ab"}, errors.BAD_DELIMITER.format(delimiter="ab")),
        ({"profile_format": "pdf"}, errors.UNSUPPORTED_FORMAT.format(format="pdf")),
        ({"profile_column_map": ["not a mapping"]}, errors.COLUMN_MAP_NOT_OBJECT),
        ({"profile_column_map": 5}, errors.COLUMN_MAP_NOT_OBJECT),
        (
            {"profile_column_map": {"ID": "nope"}},
            errors.COLUMN_MAP_FIELD.format(
                column="ID",
                field="nope",
                target="organization",
                fields=", ".join(services.registry.get("organization").field_names),
            ),
        ),
    ],
)
def test_a_bad_stored_profile_is_a_usage_error_naming_the_source(profile, message):
    Source.objects.create(slug="crm", **profile)
    name = next(iter(profile)).removeprefix("profile_").replace("_", " ")
    with pytest.raises(UsageError) as info:
        services.run_create(
            target="organization", source="crm", file=ContentFile(b"x"), filename="a.csv"
        )
    assert info.value.message == errors.PROFILE_UNUSABLE.format(
        source="crm", name=name, error=message
    )
    assert not ImportRun.objects.exists()


def test_a_bad_stored_profile_on_the_cli_exits_with_a_usage_error(tmp_path):
    Source.objects.create(slug="crm", profile_delimiter="ab")
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    with pytest.raises(CommandError) as info:
        call_command(
            "import_file", str(path), "--target", "organization", "--source", "crm", "--sync"
        )
    assert info.value.returncode == 2 and "saved profile of source 'crm'" in str(info.value)


def test_the_api_remembers_and_a_later_upload_uses_the_profile():
    client = token_client("operator")

    def upload(**fields):
        form = {
            "file": SimpleUploadedFile("crm.csv", CRM_EXPORT.encode(), "text/csv"),
            "target": "organization",
            "source": "crm",
            **fields,
        }
        response = client.post("/api/v1/runs/", form, format="multipart")
        assert response.status_code == 202, response.json()
        return ImportRun.objects.get(pk=response.json()["id"])

    upload(column_map=json.dumps(MAP), delimiter=";", remember="true")
    assert Source.objects.get(slug="crm").profile_column_map == MAP
    run = upload()
    assert (run.ingest_params_json["column_map"], run.ingest_params_json["profile_used"]) == (
        MAP,
        ["delimiter", "column_map"],
    )


def test_the_api_refuses_a_remember_that_is_not_a_boolean():
    form = {
        "file": SimpleUploadedFile("crm.csv", b"x", "text/csv"),
        "target": "organization",
        "source": "crm",
        "remember": "perhaps",
    }
    response = token_client("operator").post("/api/v1/runs/", form, format="multipart")
    assert response.status_code == 400 and "remember" in response.json()


def test_the_upload_form_remembers_and_a_later_upload_uses_the_profile(
    admin_client, django_capture_on_commit_callbacks
):
    def upload(**fields):
        data = {
            "target": "organization",
            "source": "crm",
            "encoding": "",
            "delimiter": "",
            "format": "",
            "file": SimpleUploadedFile("crm.csv", CRM_EXPORT.encode(), content_type="text/csv"),
            **fields,
        }
        with django_capture_on_commit_callbacks(execute=False):
            response = admin_client.post(reverse("admin:runs_importrun_add"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        return ImportRun.objects.latest("pk")

    upload(column_map="ID=external_id\nCompany Name=name", delimiter=";", remember="on")
    source = Source.objects.get(slug="crm")
    assert (source.profile_column_map, source.profile_delimiter) == (MAP, ";")
    run = upload()
    assert (run.ingest_params_json["column_map"], run.ingest_params_json["delimiter"]) == (MAP, ";")


def source_form(**fields):
    return {
        "slug": "crm",
        "name": "CRM",
        "profile_format": "",
        "profile_encoding": "",
        "profile_delimiter": "",
        "profile_sheet": "",
        "profile_column_map": "",
        **fields,
    }


def test_the_source_page_shows_and_edits_the_profile(admin_client):
    source = Source.objects.create(slug="crm", name="CRM", profile_column_map=MAP)
    url = reverse("admin:ingest_source_change", args=[source.pk])
    html = admin_client.get(url).content.decode()
    assert "How its files look" in html and "ID=external_id\nCompany Name=name" in html
    response = admin_client.post(
        url, source_form(profile_column_map='{"Key": "External ID"}', profile_encoding="cp1252")
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.profile_column_map, source.profile_encoding) == (
        {"Key": "external_id"},
        "cp1252",
    )


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"profile_column_map": "ID"}, errors.COLUMN_MAP_ENTRY.format(entry="ID")),
        ({"profile_column_map": "[1]"}, errors.COLUMN_MAP_ENTRY.format(entry="[1]")),
        ({"profile_column_map": "{1"}, errors.COLUMN_MAP_NOT_OBJECT),
        ({"profile_column_map": "ID=nope"}, None),
        (
            {"profile_encoding": "no-such-codec"},
            errors.UNKNOWN_ENCODING.format(encoding="no-such-codec"),
        ),
    ],
)
def test_a_bad_profile_on_the_source_page_is_a_form_error(admin_client, fields, message):
    source = Source.objects.create(slug="crm", name="CRM")
    response = admin_client.post(
        reverse("admin:ingest_source_change", args=[source.pk]), source_form(**fields)
    )
    assert response.status_code == 200
    field = next(iter(fields))
    errors_of = response.context["adminform"].form.errors[field]
    if message is None:
        assert "is not a field of any target" in errors_of[0]
    else:
        assert errors_of == [message]
    source.refresh_from_db()
    assert (source.profile_column_map, source.profile_encoding) == ({}, "")


def test_a_bad_stored_profile_is_a_400_from_the_api_and_a_form_error_on_the_upload_form(
    admin_client,
):
    Source.objects.create(slug="crm", profile_encoding="no-such-codec")
    message = errors.PROFILE_UNUSABLE.format(
        source="crm",
        name="encoding",
        error=errors.UNKNOWN_ENCODING.format(encoding="no-such-codec"),
    )
    form = {
        "file": SimpleUploadedFile("crm.csv", b"x", "text/csv"),
        "target": "organization",
        "source": "crm",
    }
    response = token_client("operator").post("/api/v1/runs/", form, format="multipart")
    assert (response.status_code, response.json()) == (400, {"detail": message})
    data = {
        "target": "organization",
        "source": "crm",
        "encoding": "",
        "delimiter": "",
        "format": "",
        "file": SimpleUploadedFile("crm.csv", b"x", content_type="text/csv"),
    }
    response = admin_client.post(reverse("admin:runs_importrun_add"), data)
    assert response.status_code == 200 and response.context["form"].non_field_errors() == [message]
    assert not ImportRun.objects.exists()


def test_a_bad_delimiter_with_remember_is_a_usage_error_and_saves_nothing(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    with pytest.raises(CommandError) as info:
        call_command(
            "import_file",
            str(path),
            "--target",
            "organization",
            "--source",
            "crm",
            "--delimiter",
            "ab",
            "--encoding",
            "cp1252",
            "--remember",
        )
    assert (info.value.returncode, str(info.value)) == (
        2,
        errors.BAD_DELIMITER.format(delimiter="ab"),
    )
    assert not ImportRun.objects.exists()
    assert not Source.objects.filter(profile_encoding="cp1252").exists()


def test_an_upload_refused_for_a_bad_stored_profile_does_not_remember():
    Source.objects.create(slug="crm", profile_encoding="no-such-codec")
    with pytest.raises(UsageError):
        services.run_create(
            target="organization",
            source="crm",
            file=ContentFile(b"x"),
            filename="a.csv",
            delimiter=";",
            remember=True,
        )
    assert Source.objects.get(slug="crm").profile_delimiter == ""
