"""A run's report of its quarantined rows (``runs/{id}/results/?kind=violations``
and the run page's breakdown) is that run's, whatever later runs did: a
repeat moves the violation on to the later run, and the first night's
report listed only the rows the later runs did not send again."""

import csv
import io
import json

import pytest
from django.urls import reverse

from dq.models import Violation
from runs.selectors import run_violation_breakdown
from tests.factories import token_client as api
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/runs/"
# Row 2 good; rows 3-7 quarantined: an unknown country, a missing name, a
# formula-looking id with a bad country, a row without an id, a malformed row.
NIGHT = (
    "external_id,name,country\n"
    "A-1,Acme,DE\n"
    "A-2,Beta,XX\n"
    "A-3,,FR\n"
    "=1+1,Gamma,YY\n"
    ",Nameless,DE\n"
    "A-6,too,many,fields\n"
)


def report(client, run) -> list[dict[str, str]]:
    response = client.get(f"{RUNS}{run.pk}/results/?kind=violations")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_runs_report_keeps_its_rows_after_later_runs_send_them_again():
    first = import_bytes(NIGHT)
    second = import_bytes(NIGHT)
    assert first.quarantined == second.quarantined == 5
    assert not Violation.objects.filter(run=first).exists()  # all moved on to the second run
    steward = api("steward")
    for run in (first, second):
        rows = report(steward, run)
        assert [(r["row_number"], r["external_id"], r["error_codes"]) for r in rows] == [
            ("3", "A-2", "invalid_choice"),
            ("4", "A-3", "required"),
            ("5", "'=1+1", "invalid_choice"),
            ("6", "", "required"),
            ("7", "A-6", "malformed_row"),
        ]
        violations = {v.row_number: v for v in Violation.objects.filter(dry_run=False)}
        assert [int(r["violation_id"]) for r in rows] == [violations[n].pk for n in range(3, 8)]
        assert {r["status"] for r in rows} == {"open"}
        assert rows[1]["errors"].startswith("name: ")
        assert json.loads(rows[2]["payload"])["external_id"] == "=1+1"
    assert "payload" not in report(api("operator"), first)[0]


def test_a_runs_report_shows_the_values_that_run_found():
    first = import_bytes("external_id,name,country\nA-2,Beta,XX\n")
    import_bytes("external_id,name,country\nA-2,Beta v2,DE,extra\n")  # malformed now
    import_bytes("external_id,name,country\nA-2,Beta v3,YY\n")
    (row,) = report(api("steward"), first)
    assert (row["error_codes"], json.loads(row["payload"])["name"]) == ("invalid_choice", "Beta")
    assert row["errors"].startswith("country: ")


def test_a_row_without_its_violation_keeps_the_ledgers_codes():
    run = import_bytes("external_id,name,country\nA-2,Beta,XX\n")
    Violation.objects.all().delete()
    (row,) = report(api("steward"), run)
    assert (row["violation_id"], row["status"], row["errors"]) == (
        "",
        "",
        "country: invalid_choice",
    )


def test_the_run_page_counts_the_runs_own_rows(admin_client):
    first = import_bytes(NIGHT)
    import_bytes(NIGHT)
    breakdown = {
        (r["code"], r["field"]): (r["count"], r["open"]) for r in run_violation_breakdown(run=first)
    }
    assert breakdown == {
        ("invalid_choice", "country"): (2, 0),  # open ones are last seen in the second run
        ("required", "name"): (1, 0),
        ("required", "external_id"): (1, 0),
        ("malformed_row", ""): (1, 0),
    }
    html = admin_client.get(reverse("admin:runs_importrun_change", args=[first.pk])).content
    html = html.decode()
    assert "Violations by rule and field" in html
    assert f"{RUNS}{first.pk}/results/?kind=violations" in html
