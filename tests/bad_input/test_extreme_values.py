"""Catalogue: values at the edges of the calendar, far-future timestamps,
control characters and lone surrogates. Each costs its row (quarantined),
never the run, its replay or its dry run; the validate endpoint and the
violation PATCH answer them with 200/400, never 500. These also run on
PostgreSQL (the CI run with DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from core.models import Organization
from dq import services
from dq.models import Violation
from ingest import fields as rules
from runs import services as run_services
from runs.execution import runner
from runs.models import ImportRun
from tests.factories import UserFactory
from tests.importing import import_checked, import_golden, violation_at

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,country,updated_at\n"
FILE = (
    HEADER
    + "E-1,Good,DE,2024-05-01T12:00:00Z\n"
    + "E-2,Too early,DE,0001-01-01T00:00:00+14:00\n"
    + "E-3,Too late,DE,9999-12-31T23:59:59-05:00\n"
    + "E-4,Far future,DE,9999-12-31T00:00:00Z\n"
    + "E-5,Esc\x1b[2Jape,DE,2024-05-01T12:00:00Z\n"
    + "E-6,Bell\x07,DE,\n"
)
FUTURE = rules.MSG_FUTURE_DATETIME.format(skew="1 day")
EXPECTED = [
    (3, rules.error("updated_at", rules.OUT_OF_RANGE, rules.MSG_DATETIME_RANGE)),
    (4, rules.error("updated_at", rules.OUT_OF_RANGE, rules.MSG_DATETIME_RANGE)),
    (5, rules.error("updated_at", rules.OUT_OF_RANGE, FUTURE)),
    (6, rules.error("name", rules.INVALID_FORMAT, rules.MSG_CONTROL)),
    (7, rules.error("name", rules.INVALID_FORMAT, rules.MSG_CONTROL)),
]


def quarantined(run: ImportRun) -> list[tuple[int, dict[str, str]]]:
    return [
        (v.row_number, e)
        for v in Violation.objects.filter(run=run).order_by("row_number")
        for e in v.errors
    ]


@pytest.mark.parametrize("dry_run", [False, True])
def test_extreme_timestamps_and_control_characters_quarantine_their_rows(dry_run):
    ended = import_checked(FILE.encode(), dry_run=dry_run)
    assert ended.status == ImportRun.Status.PARTIAL, ended.run.error_message
    assert ended.counts == (6, 1, 5)
    assert quarantined(ended.run) == EXPECTED
    assert list(Organization.objects.values_list("name", flat=True)) == (
        [] if dry_run else ["Good"]
    )


def test_a_replay_of_such_a_file_completes_the_same_way():
    first = import_checked(FILE.encode()).run
    replay = run_services.run_replay(run=first, enqueue=False)
    runner.run_execute(run_id=replay.pk)
    replay.refresh_from_db()
    assert replay.status == ImportRun.Status.PARTIAL, replay.error_message
    assert (replay.rows_total, replay.quarantined) == (6, 5)


def test_a_far_future_updated_at_does_not_win_survivorship_forever():
    rows = [
        "E-1,Original,DE,2024-01-01T00:00:00Z\n",
        "E-1,From the future,DE,9999-12-31T00:00:00Z\n",
        "E-1,Corrected,DE,2025-01-01T00:00:00Z\n",
    ]
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), tick=False):
        outcomes = []
        for row in rows:
            run = import_checked((HEADER + row).encode()).run
            outcomes.append((run.status, run.inserted, run.updated, run.unchanged, run.quarantined))
    assert outcomes == [
        ("succeeded", 1, 0, 0, 0),
        ("partial", 0, 0, 0, 1),
        ("succeeded", 0, 1, 0, 0),
    ]
    assert Organization.objects.get().name == "Corrected"


@pytest.fixture
def as_steward(db):
    client = APIClient()
    client.force_authenticate(UserFactory(steward=True))
    return client


@pytest.fixture
def open_violation(db):
    import_golden("01_organizations_clean.csv")
    return violation_at(import_golden("02_organizations_rules.csv"), 4)


VALIDATE = "/api/v1/targets/organization/validate/"


@pytest.mark.parametrize(
    "value, message",
    [
        ("0001-01-01T00:00:00+14:00", rules.MSG_DATETIME_RANGE),
        ("9999-12-31T23:59:59-05:00", rules.MSG_DATETIME_RANGE),
        ("9999-12-31T00:00:00Z", FUTURE),
    ],
)
def test_validate_and_patch_answer_extreme_timestamps_with_their_errors(
    as_steward, open_violation, value, message
):
    payload = {
        "external_id": "E-1",
        "name": "Acme",
        "country": "DE",
        "email": "",
        "updated_at": value,
    }
    response = as_steward.post(VALIDATE, payload, format="json")
    assert (response.status_code, response.json()) == (
        200,
        {"valid": False, "errors": {"updated_at": [message]}},
    )
    response = as_steward.patch(
        f"/api/v1/violations/{open_violation.pk}/", {"payload": payload}, format="json"
    )
    assert (response.status_code, response.json()) == (400, {"updated_at": [message]})


def test_validate_and_patch_both_refuse_a_lone_surrogate(as_steward, open_violation):
    body = '{"external_id": "E-1", "name": "X\\ud800Y", "country": "DE", "email": ""}'
    response = as_steward.generic("POST", VALIDATE, body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        200,
        {"valid": False, "errors": {"name": [rules.MSG_SURROGATE]}},
    )
    response = as_steward.generic(
        "PATCH",
        f"/api/v1/violations/{open_violation.pk}/",
        f'{{"payload": {body}}}',
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (400, {"name": [rules.MSG_SURROGATE]})
    before = open_violation.payload
    open_violation.refresh_from_db()
    assert open_violation.payload == before


def test_patch_names_an_unknown_field_with_a_lone_surrogate_without_failing(
    as_steward, open_violation
):
    response = as_steward.generic(
        "PATCH",
        f"/api/v1/violations/{open_violation.pk}/",
        '{"payload": {"X\\ud800": "a"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"X\\ud800": [services.UNKNOWN_FIELD.format(target="organization")]}
