"""Issue 19: the violation editor in people's words: hints, a refused save
said at the top, what came of a requeue (with its links), the inbox's
filters kept, "Next violation", and the history's changed fields only."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from common.roles import OPERATORS
from core.models import Organization
from dq import editor
from dq.admin import NO_NEXT
from dq.editor import NOTHING_REQUEUED
from dq.models import Violation
from dq.selectors import MASK, Change, audit_changes
from ingest import fields as rules
from tests.dq.test_admin_inbox import form_data
from tests.factories import UserFactory
from tests.importing import import_bytes, violation_at

pytestmark = pytest.mark.django_db

FILTERS = "status=open&code=invalid_format"


def editor_url(violation, filters: str = FILTERS) -> str:
    url = reverse("admin:dq_violation_change", args=[violation.pk])
    return f"{url}?_changelist_filters={filters.replace('&', '%26').replace('=', '%3D')}"


def test_hints_say_what_each_field_wants(steward_client, rules_run):
    page = steward_client.get(editor_url(violation_at(rules_run, 4))).content.decode()
    assert "A whole number, 0 or more" in page
    assert "A date as YYYY-MM-DD, not in the future" in page
    assert "Required: text, up to 200 characters" in page
    for code_words in ("allow_future", "max_value", "2147483647", "max_length"):
        assert code_words not in page


def test_a_country_name_is_refused_with_its_code_and_a_banner(steward_client, rules_run):
    violation = violation_at(rules_run, 5)  # country XX
    response = steward_client.post(
        editor_url(violation), {**form_data(violation, country="Germany"), "_save": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    named = rules.MSG_COUNTRY_NAMED.format(code="DE", name="Germany")
    assert named in page
    assert editor.NOT_SAVED.format(count=1) in page
    assert page.index("dq-refused") < page.index('id="dq-payload-form"')
    assert Violation.objects.get(pk=violation.pk).payload["country"] == "XX"


def test_after_save_and_requeue_the_page_says_resolved_with_its_links(
    steward_client, rules_run, on_commit
):
    violation = violation_at(rules_run, 4)  # bad email
    with on_commit():
        response = steward_client.post(
            editor_url(violation), {**form_data(violation, email="ok@example.com"), "_requeue": "1"}
        )
    assert response.status_code == 302
    # Back on the editor with the inbox's filters kept.
    assert parse_qs(urlsplit(response.url).query)["_changelist_filters"] == [FILTERS]
    violation.refresh_from_db()
    assert violation.status == "resolved"
    page = steward_client.get(response.url).content.decode()
    assert "dq-outcome-success" in page and "Resolved after a steward&#x27;s fix." in page
    assert rules.MSG_EMAIL not in page  # no stale error beside the corrected value
    assert "errornote" not in page
    run_url = reverse("admin:runs_importrun_change", args=[violation.resolved_by_run_id])
    record = Organization.objects.get(name="Bad Email Co")
    record_url = reverse("admin:core_organization_change", args=[record.pk])
    assert f'href="{run_url}"' in page and f'href="{record_url}"' in page
    # The breadcrumb and "Back to the inbox" keep the filters.
    assert f'href="/admin/dq/violation/?{FILTERS.replace("&", "&amp;")}"' in page


def test_next_violation_follows_the_inbox_filter(steward_client, rules_run):
    matching = list(
        Violation.objects.filter(codes__contains="invalid_format", status="open").order_by("-pk")
    )
    assert len(matching) >= 2
    first = matching[0]
    next_url = reverse("admin:dq_violation_next", args=[first.pk])
    response = steward_client.get(next_url, {"_changelist_filters": FILTERS})
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:dq_violation_change", args=[matching[1].pk]))
    assert "_changelist_filters" in response.url
    # Every one in turn, then round to the first again.
    seen = [first.pk]
    current = first
    for _ in matching[1:]:
        response = steward_client.get(
            reverse("admin:dq_violation_next", args=[current.pk]),
            {"_changelist_filters": FILTERS},
        )
        current = Violation.objects.get(pk=int(urlsplit(response.url).path.split("/")[-3]))
        seen.append(current.pk)
    assert sorted(seen) == sorted(v.pk for v in matching)
    assert all("invalid_format" in Violation.objects.get(pk=pk).codes for pk in seen)


def test_next_with_nothing_left_goes_back_to_the_inbox(steward_client, rules_run):
    only = violation_at(rules_run, 5)
    response = steward_client.get(
        reverse("admin:dq_violation_next", args=[only.pk]),
        {"_changelist_filters": f"status=open&q={only.external_id}"},
    )
    assert response.status_code == 302 and response.url.startswith("/admin/dq/violation/?")
    assert NO_NEXT in [str(m) for m in get_messages(response.wsgi_request)]
    bad = steward_client.get(
        reverse("admin:dq_violation_next", args=[only.pk]),
        {"_changelist_filters": "status=nope"},
    )
    assert bad.status_code == 302


def test_requeueing_nothing_says_so_plainly(steward_client, rules_run):
    violation = violation_at(rules_run, 4)
    Violation.objects.filter(pk=violation.pk).update(status="ignored")
    response = steward_client.post(
        "/admin/dq/violation/?status=all",
        {"action": "requeue_selected", "_selected_action": [violation.pk]},
    )
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert NOTHING_REQUEUED.format(count=1) in texts
    assert not any("none" in text for text in texts)


def test_history_shows_only_the_changed_fields(steward_client, rules_run):
    violation = violation_at(rules_run, 4)
    steward_client.post(
        editor_url(violation), {**form_data(violation, email="ok@example.com"), "_save": "1"}
    )
    page = steward_client.get(editor_url(violation)).content.decode()
    history = page[page.index("<h2>History</h2>") :]
    assert (
        "<strong>email</strong>: <code>not-an-email</code> → <code>ok@example.com</code>" in history
    )
    assert "Bad Email Co" not in history  # unchanged fields are left out
    assert "{&#x27;" not in history  # no Python dict


def test_audit_changes():
    assert audit_changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == [
        Change("b", 2, 3),
        Change("c", None, 4),
    ]
    assert audit_changes(None, None) == []
    assert audit_changes({"a": 1}, None) == []  # a requeue's snapshot
    assert audit_changes("x", "y") == [Change("", "x", "y")]


def test_a_broken_row_is_shown_as_read_to_fix_it_from(steward_client, client):
    run = import_bytes(b"external_id,name,country\n1,Acme,DE\n2,Beta,FR,Berlin\n")
    violation = violation_at(run, 3)
    page = steward_client.get(editor_url(violation)).content.decode()
    assert "The row as read from the file" in page and "<pre>2,Beta,FR,Berlin</pre>" in page
    viewer = UserFactory(viewer=True, role=OPERATORS)
    client.force_login(viewer)
    hidden = client.get(editor_url(violation)).content.decode()
    assert f"<pre>{MASK}</pre>" in hidden
    assert "Berlin" not in hidden  # a payload value: only for those who may see payloads
