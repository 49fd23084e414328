"""Issue 18 in the inbox and the API: the occurrence fields, their filters,
the "Failed again" badge and filter, the requeue's message, and the
remediation run's page."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dq import services
from dq.models import Violation
from runs.models import ImportRun
from tests.dq.feeds import BAD, GOOD, HEADER
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/dq/violation/"


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


@pytest.fixture
def as_steward(steward):
    client = APIClient()
    client.force_authenticate(steward)
    return client


@pytest.fixture
def story(requeue):
    """A-1 seen twice; A-2 resolved, then broken again; A-3 and A-4
    requeued: A-3 fixed (resolved), A-4 not (failed again)."""
    first = import_bytes(
        HEADER + BAD.format(n=1) + BAD.format(n=2) + BAD.format(n=3) + BAD.format(n=4)
    )
    import_bytes(HEADER + BAD.format(n=1) + GOOD.format(n=2))
    last = import_bytes(HEADER + BAD.format(n=2))
    fixed = Violation.objects.get(external_id="A-3")
    services.violation_edit(violation=fixed, payload={**fixed.payload, "country": "FR"}, actor=None)
    result = requeue(Violation.objects.filter(external_id__in=["A-3", "A-4"]))
    return {"first": first, "last": last, "remediation": result.runs[0]}


def by_external_id(items) -> dict:
    return {item["external_id"]: item for item in items}


def test_the_api_shows_the_occurrence_fields(as_steward, story):
    items = by_external_id(
        as_steward.get("/api/v1/violations/", {"status": "open"}).json()["results"]
    )
    assert items["A-1"]["occurrences"] == 2 and items["A-1"]["first_seen_run"] == story["first"].pk
    assert items["A-2"]["regressions"] == 1 and items["A-2"]["last_seen_run"] == story["last"].pk
    assert items["A-4"]["requeue_outcome"] == "failed_again"
    assert {"resolution", "fingerprint"} <= set(items["A-1"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"requeue_outcome": "failed_again"}, {"A-4"}),
        ({"requeue_outcome": "resolved"}, {"A-3"}),
        ({"resolution": "steward"}, {"A-3"}),
        ({"regressed": "true"}, {"A-2"}),
        ({"min_occurrences": "2", "status": "open"}, {"A-1", "A-2"}),
        ({"first_seen_run": "FIRST", "status": "open"}, {"A-1", "A-2", "A-4"}),
        ({"last_seen_run": "LAST"}, {"A-2"}),
        ({"remediation_run": "REMEDIATION"}, {"A-3", "A-4"}),
    ],
)
def test_api_filters(as_steward, story, query, expected):
    ids = {
        "FIRST": story["first"].pk,
        "LAST": story["last"].pk,
        "REMEDIATION": story["remediation"].pk,
    }
    query = {key: str(ids.get(value, value)) for key, value in query.items()}
    response = as_steward.get("/api/v1/violations/", query)
    assert response.status_code == 200, response.json()
    assert set(by_external_id(response.json()["results"])) == expected


def test_a_bad_filter_value_is_a_400(as_steward, story):
    assert as_steward.get("/api/v1/violations/", {"requeue_outcome": "maybe"}).status_code == 400
    assert as_steward.get("/api/v1/violations/", {"regressed": "yes"}).status_code == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("requeue_outcome=failed_again", {"A-4"}),
        ("status=all&resolution=steward", {"A-3"}),
        ("seen=regressed", {"A-2"}),
        ("seen=again", {"A-1", "A-2"}),
    ],
)
def test_inbox_filters(steward_client, story, query, expected):
    response = steward_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert {v.external_id for v in response.context["cl"].result_list} == expected


def test_the_inbox_shows_the_failed_again_and_regressed_badges(steward_client, story):
    page = steward_client.get(CHANGELIST).content.decode()
    assert "dq-badge-failed-again" in page and "Failed again" in page
    assert "Regressed ×1" in page


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_requeue_says_how_many_resolved_and_failed_again(settings, steward_client):
    """Synchronous jobs (no Redis): the remediation run has finished when
    the action answers, so its message can say what came of it."""
    settings.IMPORTER_SYNC_JOBS = True
    import_bytes(HEADER + BAD.format(n=1) + BAD.format(n=2))
    fixed = Violation.objects.get(external_id="A-1")
    services.violation_edit(violation=fixed, payload={**fixed.payload, "country": "FR"}, actor=None)
    response = steward_client.post(
        CHANGELIST,
        {
            "action": "requeue_selected",
            "_selected_action": list(Violation.objects.values_list("pk", flat=True)),
        },
    )
    (text,) = [str(m) for m in get_messages(response.wsgi_request)]
    run = ImportRun.objects.get(kind="remediation")
    assert "1 resolved, 1 failed again" in text
    assert f"requeue_outcome=failed_again&amp;remediation_run={run.pk}" in text or (
        f"requeue_outcome=failed_again&remediation_run={run.pk}" in text
    )


def test_the_remediation_run_page_lists_each_requeued_violation_with_its_outcome(steward, story):
    client = Client()
    client.force_login(steward)
    run = ImportRun.objects.get(pk=story["remediation"].pk)
    assert run.status == "partial"
    page = client.get(reverse("admin:runs_importrun_change", args=[run.pk])).content.decode()
    assert "This run has no violations" not in page
    assert "Requeued violations and what came of each" in page
    assert "A-3" in page and "A-4" in page and "failed again" in page


def test_the_remediation_run_page_keeps_each_outcome_once_the_violation_reopens(steward, story):
    """A-3, resolved by the run, breaks again in a later import (a regression
    clears its requeue outcome): the run still imported it."""
    import_bytes(HEADER + "A-3,Org 3,YY,info3@example.org\n")
    assert Violation.objects.get(external_id="A-3").requeue_outcome is None
    client = Client()
    client.force_login(steward)
    page = client.get(
        reverse("admin:runs_importrun_change", args=[story["remediation"].pk])
    ).content.decode()
    rows = {
        external_id: row
        for row in page.split("<tr>")
        for external_id in ("A-3", "A-4")
        if f"<td>{external_id}</td>" in row
    }
    assert "<td>resolved</td>" in rows["A-3"] and "<td>open</td>" in rows["A-3"]
    assert "failed again" in rows["A-4"] and "country: " in rows["A-4"]
    assert "not reached" not in page


def test_an_earlier_run_whose_rows_moved_on_does_not_say_it_has_none(steward, story):
    client = Client()
    client.force_login(steward)
    middle = ImportRun.objects.filter(kind="upload").order_by("pk")[1]
    page = client.get(reverse("admin:runs_importrun_change", args=[middle.pk])).content.decode()
    assert middle.quarantined == 1
    assert "This run has no violations" not in page


def test_the_detail_shows_the_history_masked_like_the_payload(as_steward, operator, story):
    violation = Violation.objects.get(external_id="A-2")
    violation.history = [
        {
            "run": story["first"].pk,
            "at": "2026-01-01T00:00:00Z",
            "payload": {"country": "XX"},
            "errors": [],
        }
    ]
    violation.save(update_fields=["history"])
    entry = as_steward.get(f"/api/v1/violations/{violation.pk}/").json()["history"][0]
    assert (entry["run"], entry["payload"]) == (story["first"].pk, {"country": "XX"})
    client = APIClient()
    client.force_authenticate(operator)
    assert client.get(f"/api/v1/violations/{violation.pk}/").json()["history"][0]["payload"] == {
        "country": "•••"
    }
    assert "history" not in client.get("/api/v1/violations/").json()["results"][0]
