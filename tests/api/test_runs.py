"""runs/: upload, list with filters, detail, cancel, replay, results."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from common.api_filters import EMPTY_FILTER
from core.models import Organization
from dq.selectors import MASK
from ingest import errors, registry
from runs import services
from runs.api import BAD_RESULT_KIND
from runs.models import ImportRun
from runs.serializers import COLUMN_MAP_TOO_LONG, EMPTY_DELIMITER, EMPTY_FIELD
from tests.api.helpers import CSV, work_queued_jobs
from tests.importing import create_run, import_bytes

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/runs/"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, content: bytes = CSV, **fields):
    form = {
        "file": SimpleUploadedFile("orgs.csv", content, "text/csv"),
        "target": "organization",
        "source": "crm",
    }
    form.update(fields)
    return client.post(RUNS, form, format="multipart")


# Committed for real: the job is enqueued when the upload's transaction commits.
committed = pytest.mark.django_db(transaction=True)


@committed
def test_an_operator_uploads_a_dry_run_and_gets_202_with_the_finished_run(api):
    client = api("operator")
    response = upload(client, dry_run="true")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] in ("queued", "partial")  # partial: ran in-process (no Redis)
    work_queued_jobs()
    body = client.get(response["Location"]).json()
    assert response["Location"] == "http://testserver" + reverse(
        "run-detail", kwargs={"pk": body["id"]}
    )
    assert body["status"] == "partial" and body["dry_run"] is True
    assert (body["rows_total"], body["inserted"], body["quarantined"]) == (3, 1, 2)
    assert body["percent"] == 100.0 and body["has_results"] is True
    assert body["created_by"] == client.user.username and body["source"] == "crm"
    assert Organization.objects.count() == 0


def test_an_upload_passes_format_encoding_and_delimiter_to_the_run(api):
    response = upload(
        api("operator"),
        content=CSV.replace(b",", b";"),
        format="csv",
        encoding="cp1252",
        delimiter=";",
    )
    assert response.status_code == 202, response.json()
    params = ImportRun.objects.get(pk=response.json()["id"]).ingest_params_json
    assert (params["format"], params["encoding"], params["delimiter"]) == ("csv", "cp1252", ";")


def test_an_encoding_sent_empty_is_detected(api):
    response = upload(api("operator"), content=CSV, encoding="")
    assert response.status_code == 202, response.json()
    assert ImportRun.objects.get(pk=response.json()["id"]).ingest_params_json["encoding"] == ""


def test_an_upload_takes_an_encoding_by_any_of_its_names(api):
    response = upload(api("operator"), content=CSV, encoding="windows-1252")
    assert response.status_code == 202, response.json()
    assert ImportRun.objects.get(pk=response.json()["id"]).ingest_params_json["encoding"] == (
        "windows-1252"
    )


@committed
def test_a_spreadsheet_upload_reads_the_sheet_given(api, settings):
    client = api("operator")
    workbook = (settings.BASE_DIR / "fixtures" / "spreadsheets" / "orgs.xlsx").read_bytes()
    form = {
        "file": SimpleUploadedFile("orgs.xlsx", workbook, XLSX_TYPE),
        "target": "organization",
        "source": "crm",
        "sheet": "More",
        "format": "xlsx",
    }
    response = client.post(RUNS, form, format="multipart")
    assert response.status_code == 202, response.json()
    work_queued_jobs()
    body = client.get(response["Location"]).json()
    assert (body["status"], body["rows_total"], body["inserted"]) == ("succeeded", 1, 1)
    params = ImportRun.objects.get(pk=body["id"]).ingest_params_json
    assert (params["sheet"], params["detected"]["sheet"], params["detected"]["format"]) == (
        "More",
        "More",
        "xlsx",
    )
    assert Organization.objects.get().name == "Second Sheet BV"


def test_a_sheet_sent_empty_is_the_default_sheet(api):
    """The schema allows it blank (no minLength), unlike the other optional fields."""
    response = upload(api("operator"), sheet=" ")
    assert response.status_code == 202, response.json()
    assert ImportRun.objects.get().ingest_params_json["sheet"] == ""


def test_a_sheet_over_100_characters_or_with_nul_is_400(api):
    for sheet in ("x" * 101, "a\x00b"):
        response = upload(api("operator"), sheet=sheet)
        assert response.status_code == 400 and list(response.json()) == ["sheet"], response.json()
    assert not ImportRun.objects.exists()


@committed
def test_utf16_given_for_a_file_without_a_bom_fails_the_run_with_the_offset(api):
    client = api("operator")
    content = CSV.decode().encode("utf-16-le")
    response = upload(client, content=content, encoding="utf-16")
    assert response.status_code == 202, response.json()
    work_queued_jobs()
    body = client.get(response["Location"]).json()
    assert body["status"] == "failed"
    assert body["error_message"] == errors.UNDECODABLE.format(
        byte=content[0], offset=0, encoding="utf-16"
    ) + errors.NO_BYTE_ORDER_MARK.format(encoding="utf-16") + errors.GIVEN_ENCODING.format(
        encoding="utf-16"
    )


@committed
def test_an_upload_with_a_column_map_reads_columns_named_otherwise(api):
    content = b"ID,Company Name,Country Code\nZ-1,Zed Co,DE\n"
    response = upload(
        api("operator"),
        content=content,
        column_map='{"ID": "external_id", "Company Name": "name", "Country Code": "country"}',
    )
    assert response.status_code == 202, response.json()
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert run.ingest_params_json["column_map"] == {
        "ID": "external_id",
        "Company Name": "name",
        "Country Code": "country",
    }
    work_queued_jobs()
    run.refresh_from_db()
    assert (run.status, run.inserted) == ("succeeded", 1)
    assert Organization.objects.get().name == "Zed Co"


@pytest.mark.parametrize(
    "column_map, message",
    [
        (
            '{"ID": "exid"}',
            errors.COLUMN_MAP_FIELD.format(
                column="ID",
                field="exid",
                target="organization",
                fields=", ".join(registry.get("organization").field_names),
            ),
        ),
        ('["ID=external_id"]', errors.COLUMN_MAP_NOT_OBJECT),
        ('{"ID": ["external_id"]}', errors.COLUMN_MAP_NOT_OBJECT),
        ("{not json", errors.COLUMN_MAP_NOT_OBJECT),
        ("null", errors.COLUMN_MAP_NOT_OBJECT),
        ("x" * 10_001, COLUMN_MAP_TOO_LONG.format(max_length=10_000)),
        ("[" * 5000 + "]" * 5000, errors.COLUMN_MAP_NOT_OBJECT),
    ],
)
def test_a_bad_column_map_is_400_on_its_field(api, column_map, message):
    response = upload(api("operator"), column_map=column_map)
    assert response.status_code == 400
    assert response.json() == {"column_map": [message]}
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    "fields, field, message",
    [
        (
            {"target": "planet"},
            "target",
            registry.UNKNOWN_TARGET.format(name="planet", choices=", ".join(registry.names())),
        ),
        ({"encoding": "klingon"}, "encoding", errors.UNKNOWN_ENCODING.format(encoding="klingon")),
        ({"delimiter": ";;"}, "delimiter", '";;" is not a valid choice.'),
        ({"source": "not a slug!"}, "source", "A source is a slug: letters, digits, - and _."),
    ],
)
def test_bad_upload_fields_are_400_in_the_pipelines_words(api, fields, field, message):
    response = upload(api("operator"), **fields)
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not ImportRun.objects.exists()


def test_an_upload_without_a_file_is_400(api):
    response = api("operator").post(
        RUNS, {"target": "organization", "source": "crm"}, format="multipart"
    )
    assert response.status_code == 400 and "file" in response.json()


def test_a_json_upload_is_415(api):
    response = api("operator").post(RUNS, {"target": "organization"}, format="json")
    assert response.status_code == 415 and "detail" in response.json()


def test_a_file_over_the_limit_is_413_json_and_stores_nothing(api, settings, tmp_path):
    settings.IMPORTER_MAX_UPLOAD_BYTES = 10
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # stream to a temporary file, as a big upload would
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    response = upload(api("operator"))
    assert response.status_code == 413
    assert response.json() == {"detail": errors.TOO_LARGE.format(size=len(CSV), limit=10)}
    assert not ImportRun.objects.exists()
    assert list((tmp_path / "uploads").iterdir()) == []


def test_a_body_over_the_limit_is_refused_by_content_length_before_it_is_read(
    api, settings, monkeypatch
):
    settings.IMPORTER_MAX_UPLOAD_BYTES = 10

    def must_not_parse(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", must_not_parse)
    response = upload(api("operator"), content=b"x" * 100_000)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is ")


def test_a_json_body_over_the_data_upload_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    run = import_bytes(CSV, dry_run=True)
    response = api("operator").post(
        f"{RUNS}{run.pk}/replay/", {"dry_run": True, "pad": "x" * 200}, format="json"
    )
    assert response.status_code == 413 and "detail" in response.json()


def test_uploads_are_throttled_per_user(api, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "uploads", "2/minute")
    client = api("operator")
    assert [upload(client).status_code for _ in range(3)] == [202, 202, 429]
    assert "detail" in upload(client).json()
    # Other users and other endpoints are not affected.
    assert upload(api("operator")).status_code == 202
    assert client.get(RUNS).status_code == 200


def test_the_list_filters_by_every_documented_filter(api):
    partial = import_bytes(CSV, dry_run=True)
    clean = import_bytes(b"external_id,name,country\nB-1,Beta,FR\n")
    queued = create_run(CSV)
    client = api("operator")

    def ids(query: str) -> set[int]:
        response = client.get(f"{RUNS}?{query}")
        assert response.status_code == 200, response.json()
        return {run["id"] for run in response.json()["results"]}

    assert ids("status=partial") == {partial.pk}
    assert ids("status=partial&status=queued") == {partial.pk, queued.pk}
    assert ids("dry_run=false") == {clean.pk, queued.pk}
    assert ids("has_quarantined=true") == {partial.pk}
    assert ids("has_quarantined=false") == {clean.pk, queued.pk}
    assert ids("source=crm&target=organization&kind=upload") == {partial.pk, clean.pk, queued.pk}
    assert ids("source=erp") == set()
    created = quote(ImportRun.objects.get(pk=clean.pk).created_at.isoformat())
    assert ids(f"created_after={created}") >= {clean.pk, queued.pk}
    assert partial.pk in ids(f"created_before={created}")
    assert client.get(f"{RUNS}?status=nope").status_code == 400
    assert client.get(f"{RUNS}?created_after=yesterday").status_code == 400
    # ISO 8601 allows offsets PostgreSQL does not (beyond ±15:59): compared in UTC.
    assert ids(f"created_after={quote('1962-01-27T20:03:49-18:07')}") == {
        partial.pk,
        clean.pk,
        queued.pk,
    }
    assert (
        client.get(f"{RUNS}?created_after={quote('0001-01-01T00:00:00+01:00')}").status_code == 400
    )
    assert client.get(f"{RUNS}?target=a%00b").status_code == 400


def test_the_list_is_ordered_and_paged_by_cursor_without_a_count(
    api, django_assert_max_num_queries
):
    runs = [import_bytes(CSV, dry_run=True) for _ in range(3)]
    client = api("operator")
    first = client.get(f"{RUNS}?page_size=2").json()
    assert "count" not in first
    assert [run["id"] for run in first["results"]] == [runs[2].pk, runs[1].pk]
    second = client.get(first["next"]).json()
    assert [run["id"] for run in second["results"]] == [runs[0].pk]
    ordered = client.get(f"{RUNS}?ordering=id").json()
    assert [run["id"] for run in ordered["results"]] == [run.pk for run in runs]
    assert client.get(f"{RUNS}?cursor=garbage").status_code == 404
    by_size = client.get(f"{RUNS}?ordering=-rows_total,id").json()
    assert [run["id"] for run in by_size["results"]] == [run.pk for run in runs]
    bad = client.get(f"{RUNS}?ordering=password")
    assert bad.status_code == 400 and "-created_at" in bad.json()["ordering"][0]


def test_the_detail_shows_counters_and_progress(api):
    run = create_run(CSV)
    client = api("steward")
    body = client.get(f"{RUNS}{run.pk}/").json()
    assert (body["status"], body["rows_processed"], body["percent"]) == ("queued", 0, 0.0)
    ImportRun.objects.filter(pk=run.pk).update(status="running", rows_processed=2)
    body = client.get(f"{RUNS}{run.pk}/").json()
    assert (body["rows_processed"], body["percent"]) == (2, None)
    assert client.get(f"{RUNS}999999/").status_code == 404


def test_cancel_a_queued_run_then_cancel_again_is_409(api):
    """A well-formed request the run's state refuses is a conflict, not a
    bad request (schemathesis: a schema-valid request answered 400)."""
    run = create_run(CSV)
    client = api("operator")
    response = client.post(f"{RUNS}{run.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = client.post(f"{RUNS}{run.pk}/cancel/")
    assert again.status_code == 409
    assert again.json() == {
        "detail": services.CANNOT_CANCEL.format(run_id=run.pk, status="cancelled")
    }


@pytest.mark.parametrize("body", ["[]", '"x"', "1", "null", '[{"dry_run": true}]'])
def test_replay_of_a_body_that_is_not_an_object_is_400(api, body):
    """It was a replay as if no body had been sent."""
    run = import_bytes(CSV, dry_run=True)
    response = api("operator").post(
        f"{RUNS}{run.pk}/replay/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not ImportRun.objects.filter(parent_run=run).exists()


@committed
def test_replay_makes_a_new_run_and_may_turn_a_dry_run_real(api):
    run = import_bytes(CSV, dry_run=True)
    client = api("operator")
    response = client.post(f"{RUNS}{run.pk}/replay/", {"dry_run": False}, format="json")
    assert response.status_code == 202, response.json()
    work_queued_jobs()
    body = client.get(response["Location"]).json()
    assert body["parent_run"] == run.pk and body["kind"] == "replay" and body["dry_run"] is False
    assert body["status"] == "partial" and Organization.objects.count() == 1
    default = client.post(f"{RUNS}{run.pk}/replay/")
    assert default.status_code == 202 and default.json()["dry_run"] is True
    assert (
        client.post(f"{RUNS}{run.pk}/replay/", {"dry_run": "maybe"}, format="json").status_code
        == 400
    )


@pytest.mark.parametrize("role, name", [("steward", "Acme"), ("operator", MASK)])
def test_results_give_the_dry_run_would_be_upserts_as_an_attachment(api, role, name):
    """Values masked for who may not view payloads (tests/runs/test_exports.py)."""
    run = import_bytes(CSV, dry_run=True)
    response = api(role).get(f"{RUNS}{run.pk}/results/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}-results.csv"'
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    inserted = [line for line in lines if line["outcome"] == "inserted"]
    assert [line["external_id"] for line in inserted] == ["A-1"]
    assert json.loads(inserted[0]["values"])["name"] == name


def test_results_of_a_run_without_results_are_404_json(api):
    run = create_run(CSV)
    response = api("operator").get(f"{RUNS}{run.pk}/results/")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Run {run.pk} has no results file (yet)."}
    nope = api("operator").get(f"{RUNS}{run.pk}/results/?kind=nope")
    assert (nope.status_code, nope.json()) == (400, {"kind": [BAD_RESULT_KIND]})
    asked_for_csv = api("operator").get(f"{RUNS}{run.pk}/results/", HTTP_ACCEPT="text/csv")
    assert asked_for_csv.status_code == 404 and asked_for_csv["Content-Type"] == "application/json"
    done = import_bytes(CSV, dry_run=True)
    assert (
        api("operator").get(f"{RUNS}{done.pk}/results/", HTTP_ACCEPT="text/csv").status_code == 200
    )


def test_results_with_an_empty_kind_is_400_as_every_empty_filter(api):
    """``kind=`` answered the upserts as if no kind were given."""
    run = import_bytes(CSV, dry_run=True)
    response = api("operator").get(f"{RUNS}{run.pk}/results/?kind=")
    assert (response.status_code, response.json()) == (400, {"kind": [EMPTY_FILTER]})


def violations_csv(client, run) -> list[dict[str, str]]:
    response = client.get(f"{RUNS}{run.pk}/results/?kind=violations")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}-violations.csv"'
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_violations_csv_is_formula_safe_and_shows_payloads_only_to_stewards(api):
    run = import_bytes(CSV, dry_run=True)
    steward_rows = violations_csv(api("steward"), run)
    assert [row["row_number"] for row in steward_rows] == ["3", "4"]
    assert steward_rows[0]["error_codes"] == "invalid_format required"
    payload_cell = steward_rows[0]["payload"]
    assert json.loads(payload_cell)["email"] == "=cmd|' /C calc'!A0"  # inside JSON: not a formula
    operator_rows = violations_csv(api("operator"), run)
    assert "payload" not in operator_rows[0]
    assert operator_rows[0]["errors"].startswith("name: ")


def test_every_violation_cell_that_looks_like_a_formula_is_quoted(api):
    run = import_bytes(b"external_id,name,country\n=1+1,,DE\n", dry_run=True)
    rows = violations_csv(api("superuser"), run)
    assert rows[0]["external_id"] == "'=1+1"


def test_strict_query_and_form_values_are_400(api):
    client = api("operator")
    for query in (
        "created_before=",
        "status=",
        "dry_run=1",
        "has_quarantined=null",
        "page_size=0",
        "page_size=501",
    ):
        response = client.get(f"{RUNS}?{query}")
        assert response.status_code == 400, query
    assert client.get(f"{RUNS}?source=&page_size=500").status_code == 200
    assert upload(client, dry_run="1").status_code == 400
    response = upload(client, dryrun="true")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unknown field(s): 'dryrun'."]}
    response = upload(client, source=["crm", "erp"])
    assert response.status_code == 400
    assert response.json() == {"source": ["Send this field once."]}


@pytest.mark.parametrize("name", ["dry_run", "format", "delimiter", "column_map"])
def test_an_optional_form_field_sent_empty_is_400(api, name):
    """DRF read it as left out: ``dry_run=`` was a real run, ``column_map=``
    no map, where the schema allows no empty value."""
    response = upload(api("operator"), **{name: ""})
    message = EMPTY_DELIMITER if name == "delimiter" else EMPTY_FIELD
    assert (response.status_code, response.json()) == (400, {name: [message]})
    assert not ImportRun.objects.exists()


def test_a_delimiter_curl_sent_empty_says_how_to_send_it(api):
    """``curl -F 'delimiter=;;'`` (or ``;``) sends the field empty: curl
    reads ";" as the start of the part's attributes. The server cannot
    tell it from ``delimiter=``, so the message says how to send it; a
    value that arrives (``;;``, ``ab``) is refused as not a valid choice."""
    response = upload(api("operator"), delimiter="")
    assert "--form-string 'delimiter=;'" in response.json()["delimiter"][0]
    for value in (";;", "ab"):
        response = upload(api("operator"), delimiter=value)
        assert response.json() == {"delimiter": [f'"{value}" is not a valid choice.']}


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("dry_run=false&dry_run=true", "application/x-www-form-urlencoded"),  # the last one won
        ("dry_run=", "application/x-www-form-urlencoded"),  # read as null: the same mode as the run
        ('{"dry_run": "true"}', "application/json"),  # JSON text, not a JSON boolean
        ('{"dry_run": ""}', "application/json"),
    ],
)
def test_a_replay_takes_dry_run_once_as_a_boolean_or_null(api, body, content_type):
    run = import_bytes(CSV, dry_run=True)
    response = api("operator").post(f"{RUNS}{run.pk}/replay/", body, content_type=content_type)
    assert response.status_code == 400, response.json()
    assert not ImportRun.objects.filter(parent_run=run).exists()


def test_an_empty_file_is_400(api):
    response = upload(api("operator"), content=b"")
    assert response.status_code == 400 and response.json()["file"] == [
        "The submitted file is empty."
    ]


def test_a_form_field_over_the_data_upload_limit_is_413_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = upload(api("operator"), source="s" * 200)
    assert response.status_code == 413 and "detail" in response.json()


@pytest.mark.redis
def test_upload_throttle_counts_are_kept_in_redis_for_every_web_process(api, settings, monkeypatch):
    import redis

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "uploads", "1/minute")
    client = api("operator")
    assert [upload(client).status_code for _ in range(2)] == [202, 429]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = redis.Redis.from_url(settings.REDIS_URL).keys(
        f"{prefix}:*throttle_uploads_{client.user.pk}"
    )
    assert len(keys) == 1


@pytest.mark.parametrize("content_type", ["json", "multipart"])
def test_replay_refuses_a_misspelt_field(api, content_type):
    """It was a replay with the dry-run setting of the replayed run."""
    run = import_bytes(CSV, dry_run=True)
    response = api("operator").post(
        f"{RUNS}{run.pk}/replay/", {"dryrun": "true"}, format=content_type
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unknown field(s): 'dryrun'."]}
    assert not ImportRun.objects.filter(parent_run=run).exists()
