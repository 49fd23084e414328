"""The column map: a file's columns named otherwise than the target's fields,
given on the CLI (the API and the admin form have their own tests), kept on
the run and used again by a replay."""

import io
import json

import pytest
from django.core.management import call_command

from core.models import Organization
from ingest import errors, registry
from ingest import services as ingest_services
from ingest.errors import UsageError
from runs import services
from runs.execution import runner
from runs.models import ImportRun

ORGANIZATION = registry.get("organization")
CRM_EXPORT = (
    "ID,Company Name,Country Code,Web\nZ-1,Zed Co,de,https://zed.example\nZ-2,Why Ltd,GB,\n"
)


def test_entries_and_mappings_give_the_same_map():
    from_entries = ingest_services.column_map_clean(
        target=ORGANIZATION, entries=["ID=external_id", " Company Name = Name ", "a=b=country"]
    )
    assert from_entries == {"ID": "external_id", "Company Name": "name", "a=b": "country"}
    assert ingest_services.column_map_clean(target=ORGANIZATION, entries={"ID": "External ID"}) == {
        "ID": "external_id"
    }
    assert ingest_services.column_map_clean(target=ORGANIZATION, entries=None) == {}


@pytest.mark.parametrize(
    "entries, message",
    [
        (["ID"], errors.COLUMN_MAP_ENTRY.format(entry="ID")),
        (["=name"], errors.COLUMN_MAP_ENTRY.format(entry="=name")),
        (["ID="], errors.COLUMN_MAP_ENTRY.format(entry="ID=")),
        (
            ["ID=exid"],
            errors.COLUMN_MAP_FIELD.format(
                column="ID",
                field="exid",
                target="organization",
                fields=", ".join(ORGANIZATION.field_names),
            ),
        ),
        (["ID=name", "id=country"], errors.COLUMN_MAP_REPEATED.format(column="id")),
        ({"ID": 7}, errors.COLUMN_MAP_NOT_OBJECT),
        ({"I\x00D": "name"}, errors.COLUMN_MAP_NUL),
    ],
)
def test_a_bad_map_is_a_usage_error(entries, message):
    with pytest.raises(UsageError) as info:
        ingest_services.column_map_clean(target=ORGANIZATION, entries=entries)
    assert info.value.message == message


def import_file(path, *options):
    out, err = io.StringIO(), io.StringIO()
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
            stderr=err,
        )
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


MAP = [
    "--column",
    "ID=external_id",
    "--column",
    "Company Name=name",
    "--column",
    "Country Code=country",
    "--column",
    "Web=website",
]


@pytest.mark.django_db
def test_the_cli_imports_a_file_through_its_map_and_a_replay_uses_it_again(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    code, out = import_file(path, *MAP)
    summary = json.loads(out.strip().splitlines()[-1])
    assert (code, summary["status"], summary["inserted"]) == (0, "succeeded", 2)
    zed = Organization.objects.get(name="Zed Co")
    assert (zed.country, zed.website) == ("DE", "https://zed.example")
    run = ImportRun.objects.get(pk=summary["run_id"])
    assert run.ingest_params_json["column_map"] == {
        "ID": "external_id",
        "Company Name": "name",
        "Country Code": "country",
        "Web": "website",
    }
    replay = services.run_replay(run=run, enqueue=False)
    replay = runner.run_execute(run_id=replay.pk, in_process=True)
    assert (replay.status, replay.skipped) == ("succeeded", 2)  # the same rows, mapped the same way


@pytest.mark.django_db
def test_a_mapped_column_wins_over_one_named_as_its_field(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("ID,Company Name,Country Code,Name\nCM1,Mapped Co,de,Other\n")
    code, out = import_file(path, *MAP[:6])
    run = ImportRun.objects.get(pk=json.loads(out.strip().splitlines()[-1])["run_id"])
    assert (code, run.status, run.inserted) == (0, "succeeded", 1)
    assert Organization.objects.get().name == "Mapped Co"
    assert run.ingest_params_json["detected"]["unknown_columns"] == ["Name"]


@pytest.mark.django_db
def test_a_map_sending_two_columns_to_one_field_fails_saying_so(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text("ID,Company Name,Org Name,Country Code\nCM1,Mapped Co,Other,de\n")
    code, out = import_file(path, *MAP[:6], "--column", "Org Name=name")
    run = ImportRun.objects.get(pk=json.loads(out.strip().splitlines()[-1])["run_id"])
    assert (code, run.status) == (1, "failed")
    assert run.error_message == errors.COLUMN_MAP_FIELD_TWICE.format(
        field="name", columns="'Company Name', 'Org Name'"
    )


@pytest.mark.django_db
def test_without_the_map_the_file_fails_with_its_missing_columns(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    code, out = import_file(path)
    run = ImportRun.objects.get(pk=json.loads(out.strip().splitlines()[-1])["run_id"])
    assert (code, run.status) == (1, "failed")
    assert run.error_message == errors.MISSING_COLUMNS.format(columns="external_id, name, country")


@pytest.mark.django_db
def test_a_bad_map_on_the_cli_is_a_usage_error_and_creates_no_run(tmp_path):
    from django.core.management import CommandError

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
            "--column",
            "ID",
        )
    assert info.value.returncode == 2
    assert str(info.value) == errors.COLUMN_MAP_ENTRY.format(entry="ID")
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_the_missing_columns_error_suggests_column_flags(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM_EXPORT)
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "import_file",
            str(path),
            "--target",
            "organization",
            "--source",
            "crm",
            "--sync",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert (
        "Suggested columns: --column ID=external_id --column 'Company Name=name' "
        "--column 'Country Code=country' --column Web=website"
    ) in err.getvalue()
