"""Issue 19, no dead ends in the DQ admin: "select all" past the capped
count says the real number, the remediation audit list has filters and
search, and its page shows only what changed."""

import pytest
from django.urls import reverse

from common.pagination import CappedPaginator
from dq import services
from dq.models import RemediationAudit, Violation
from tests.factories import UserFactory
from tests.importing import violation_at

pytestmark = pytest.mark.django_db

AUDITS = "/admin/dq/remediationaudit/"


def test_select_all_past_the_cap_gets_the_exact_count(steward_client, rules_run, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    page = steward_client.get("/admin/dq/violation/", {"status": "all"}).content.decode()
    count_url = reverse("admin:dq_violation_count")
    assert f'data-count-url="{count_url}?status=all"' in page and "dq/inbox.js" in page
    assert steward_client.get(count_url, {"status": "all"}).json() == {"count": 10}
    assert steward_client.get(count_url, {"code": "invalid_choice"}).json() == {"count": 2}
    assert steward_client.get(count_url, {"status": "nope"}).status_code == 400


def test_an_action_on_all_past_the_cap_takes_every_matching_row(
    steward_client, rules_run, monkeypatch
):
    """The list counts 4 (cap 3 + 1); "select all" and its action mean all 10."""
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    page = steward_client.post(
        "/admin/dq/violation/?status=all",
        {
            "action": "ignore_selected",
            "select_across": "1",
            "index": "0",
            "_selected_action": [violation_at(rules_run, 3).pk],
        },
    )
    assert "10 violations selected (all matching the filter)" in page.content.decode()


def test_the_count_needs_view_permission(client, rules_run):
    client.force_login(UserFactory(viewer=True))
    assert client.get(reverse("admin:dq_violation_count")).status_code == 403


@pytest.fixture
def audited(rules_run, steward, requeue):
    violation = violation_at(rules_run, 4)
    services.violation_edit(
        violation=violation, payload={**violation.payload, "email": "a@b.example"}, actor=steward
    )
    requeue(Violation.objects.filter(pk=violation.pk), steward)
    services.violations_ignore(
        violations=Violation.objects.filter(pk=violation_at(rules_run, 5).pk),
        reason="supplier closed",
        actor=steward,
    )
    return rules_run


def test_the_audit_list_filters_and_searches(steward_client, audited):
    page = steward_client.get(AUDITS)
    assert page.status_code == 200
    body = page.content.decode()
    # (Source shows once there are two: Django hides a filter with one choice.)
    for title in ("By action", "By outcome", "By target", "By created at"):
        assert title in body, title
    assert 'name="q"' in body
    ignored = steward_client.get(AUDITS, {"action": "ignore"}).context["cl"].result_list
    assert [audit.action for audit in ignored] == ["ignore"]
    by_reason = steward_client.get(AUDITS, {"q": "supplier"}).context["cl"].result_list
    assert [audit.reason for audit in by_reason] == ["supplier closed"]
    by_id = steward_client.get(AUDITS, {"q": "ORG-103"}).context["cl"].result_list
    assert {audit.violation.external_id for audit in by_id} == {"ORG-103"}
    assert steward_client.get(AUDITS, {"target": "organization"}).status_code == 200
    source_id = audited.source_id
    by_source = steward_client.get(AUDITS, {"violation__source__id__exact": source_id})
    assert len(by_source.context["cl"].result_list) == RemediationAudit.objects.count()


def test_an_audit_page_shows_only_the_changed_fields(steward_client, audited):
    edit = RemediationAudit.objects.get(action="edit")
    page = steward_client.get(
        reverse("admin:dq_remediationaudit_change", args=[edit.pk])
    ).content.decode()
    assert "<strong>email</strong>: <code>not-an-email</code> → <code>a@b.example</code>" in page
    assert "Bad Email Co" not in page
