"""Retention of violation payloads (dq.services.violations_purge_payloads):
resolved, ignored and dry-run violations past the retention keep what the
inbox shows (row, errors, field names) and lose their values."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from dq import services
from dq.editor import PAYLOAD_PURGED
from dq.models import Violation
from dq.selectors import MASK
from ingest.errors import UsageError
from tests.dq.feeds import HEADER
from tests.importing import import_bytes, import_golden, violation_at

pytestmark = pytest.mark.django_db
DAYS = 90


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def snapshot(violation: Violation) -> tuple:
    return (
        violation.row_number,
        violation.external_id,
        violation.errors,
        violation.codes,
        violation.status,
    )


@pytest.fixture
def aged(rules_run, steward):
    """Rows of the rules file in every state, dated around the retention."""
    rows = {
        name: violation_at(rules_run, number)
        for name, number in [
            ("resolved", 3),
            ("ignored", 4),
            ("recent", 5),
            ("open", 6),
            ("resolved_recently", 7),
        ]
    }
    services.violations_ignore(
        violations=Violation.objects.filter(pk__in=[rows["ignored"].pk, rows["recent"].pk]),
        reason="dup",
        actor=steward,
    )
    Violation.objects.filter(pk=rows["ignored"].pk).update(updated_at=ago(DAYS + 1))
    Violation.objects.filter(pk=rows["recent"].pk).update(updated_at=ago(DAYS - 1))
    Violation.objects.filter(pk=rows["resolved"].pk).update(
        status="resolved", resolved_at=ago(DAYS + 1)
    )
    Violation.objects.filter(pk=rows["resolved_recently"].pk).update(
        status="resolved", resolved_at=ago(DAYS - 1), updated_at=ago(DAYS + 5)
    )
    Violation.objects.filter(pk=rows["open"].pk).update(created_at=ago(400), updated_at=ago(400))
    dry = import_golden("03_organizations_dry_run.csv", dry_run=True)
    rows["dry_run"] = Violation.objects.filter(run=dry).first()
    Violation.objects.filter(run=dry).update(created_at=ago(DAYS + 1))
    return {name: Violation.objects.get(pk=v.pk) for name, v in rows.items()}


def test_resolved_ignored_and_dry_run_payloads_are_masked_after_the_retention(aged):
    before = {name: (v.payload, snapshot(v)) for name, v in aged.items()}
    assert services.violations_purge_payloads(older_than_days=DAYS, dry_run=True) == 3
    assert all(
        Violation.objects.get(pk=v.pk).payload == before[name][0] for name, v in aged.items()
    )

    assert services.violations_purge_payloads(older_than_days=DAYS) == 3
    for name in ("resolved", "ignored", "dry_run"):
        violation = Violation.objects.get(pk=aged[name].pk)
        payload, kept = before[name]
        assert violation.payload_purged_at is not None
        assert snapshot(violation) == kept  # what the inbox shows stays
        assert violation.payload.keys() == payload.keys()
        assert violation.payload == {
            key: MASK if value not in (None, "") else value for key, value in payload.items()
        }
        assert any(value == MASK for value in violation.payload.values())
    for name in ("recent", "open", "resolved_recently"):
        violation = Violation.objects.get(pk=aged[name].pk)
        assert (violation.payload, violation.payload_purged_at) == (before[name][0], None)

    assert services.violations_purge_payloads(older_than_days=DAYS) == 0  # idempotent


def test_a_purged_violation_is_read_only_and_says_why(aged, steward):
    services.violations_purge_payloads(older_than_days=DAYS)
    ignored = Violation.objects.get(pk=aged["ignored"].pk)
    date = ignored.payload_purged_at.date().isoformat()
    with pytest.raises(UsageError) as error:
        services.violation_reopen(violation=ignored, actor=steward)
    assert error.value.message == services.PAYLOAD_PURGED.format(pk=ignored.pk, date=date)
    assert Violation.objects.get(pk=ignored.pk).status == "ignored"

    api = APIClient()
    api.force_authenticate(steward)
    body = api.get(f"/api/v1/violations/{ignored.pk}/").json()
    assert (
        body["payload_purged_at"] and body["row_number"] == 4 and body["errors"] == ignored.errors
    )

    client = Client()
    client.force_login(steward)
    page = client.get(reverse("admin:dq_violation_change", args=[ignored.pk]))
    assert page.status_code == 200
    assert escape(PAYLOAD_PURGED.format(date=date)) in page.content.decode()
    assert not page.context["can_reopen"]


def test_a_negative_retention_is_a_usage_error(db):
    with pytest.raises(UsageError):
        services.violations_purge_payloads(older_than_days=-1)


def test_the_purge_masks_the_history_and_the_row_sent_again_reopens_in_clear():
    """History keeps earlier payloads: they are personal data too. A purged
    violation whose row comes back broken reopens with the new payload in
    clear and forgets the purge."""
    import_bytes(HEADER + "P-1,Purged Org,XX,first@example.org\n")
    import_bytes(
        HEADER + "P-1,Purged Org,YY,second@example.org\n"
    )  # the first payload goes to the history
    violation = Violation.objects.get(external_id="P-1")
    assert violation.history and violation.history[0]["payload"]["email"] == "first@example.org"
    Violation.objects.filter(pk=violation.pk).update(status="resolved", resolved_at=ago(DAYS + 1))

    assert services.violations_purge_payloads(older_than_days=DAYS) == 1
    violation.refresh_from_db()
    assert violation.payload["email"] == MASK
    assert [entry["payload"]["email"] for entry in violation.history] == [MASK]

    import_bytes(HEADER + "P-1,Purged Org,ZZ,third@example.org\n")
    violation.refresh_from_db()
    assert (violation.status, violation.regressions, violation.payload_purged_at) == (
        "open",
        1,
        None,
    )
    assert violation.payload["email"] == "third@example.org"
