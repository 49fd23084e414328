"""The inbox in the admin: list, filters, search, editor, actions, stats."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from common.pagination import CappedPaginator
from dq import services
from dq.models import RemediationAudit, Violation
from dq.selectors import MASK
from ingest import fields as rules
from tests.importing import import_golden, violation_at

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/dq/violation/"


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def toasts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def change_url(violation) -> str:
    return reverse("admin:dq_violation_change", args=[violation.pk])


@pytest.fixture
def operator_client(operator):
    client = Client()
    client.force_login(operator)
    return client


def test_the_inbox_opens_on_open_violations(steward_client, rules_run):
    ignored = violation_at(rules_run, 3)
    Violation.objects.filter(pk=ignored.pk).update(status="ignored")
    response = steward_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(listed(response)) == 9 and ignored.pk not in listed(response)
    assert ignored.pk in listed(steward_client.get(CHANGELIST, {"status": "ignored"}))
    assert len(listed(steward_client.get(CHANGELIST, {"status": "all"}))) == 10
    body = response.content.decode()
    assert 'class="dq-badge dq-badge-out_of_range"' in body and "dq-cards" in body


def test_filters_by_rule_code_field_target_and_run(steward_client, rules_run):
    by_code = listed(steward_client.get(CHANGELIST, {"code": "invalid_choice"}))
    assert by_code == {violation_at(rules_run, 5).pk, violation_at(rules_run, 13).pk}
    by_field = listed(steward_client.get(CHANGELIST, {"field": "email"}))
    assert by_field == {violation_at(rules_run, 4).pk, violation_at(rules_run, 13).pk}
    assert (
        len(listed(steward_client.get(CHANGELIST, {"target": "organization", "run": rules_run.pk})))
        == 10
    )
    assert listed(steward_client.get(CHANGELIST, {"target": "contact"})) == set()
    for age in ("1d", "7d", "30d", "old"):
        assert steward_client.get(CHANGELIST, {"age": age}).status_code == 200


def test_bad_filter_values_are_not_a_server_error(steward_client, rules_run):
    for params in ({"run": "abc"}, {"status": "nonsense"}):
        response = steward_client.get(CHANGELIST, params)
        assert response.status_code in (200, 302), params


@pytest.mark.parametrize(
    "param",
    ["run", "first_seen_run", "last_seen_run", "remediation_run", "run__in", "run_id", "assignee"],
)
@pytest.mark.parametrize("value", ["9223372036854775808", "999999999999999999999999", "-1"])
def test_an_id_past_a_bigint_is_a_bad_link_like_a_word_not_a_500(
    steward_client, rules_run, param, value
):
    """SQLite's driver raised OverflowError on such an id; PostgreSQL
    compared it as a numeric. Both now redirect to ?e=1, as ``run=abc``."""
    response = steward_client.get(CHANGELIST, {param: value})
    if value == "-1" and param in ("run__in", "run_id", "assignee"):
        assert response.status_code == 200  # a plain lookup: no such row
    else:
        assert (response.status_code, response["Location"]) == (302, f"{CHANGELIST}?e=1")
    assert steward_client.get(CHANGELIST, {param: "abc"})["Location"] == f"{CHANGELIST}?e=1"


def test_a_dry_runs_violations_show_only_when_filtering_by_its_run(steward_client, db):
    import_golden("01_organizations_clean.csv")
    dry = import_golden("03_organizations_dry_run.csv", dry_run=True)
    violation = Violation.objects.get(run=dry)
    assert violation.pk not in listed(steward_client.get(CHANGELIST))
    assert listed(steward_client.get(CHANGELIST, {"run": dry.pk})) == {violation.pk}
    page = steward_client.get(change_url(violation)).content.decode()
    assert services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=dry.pk) in page
    assert 'name="_requeue"' not in page
    response = steward_client.post(change_url(violation), {"_ignore": "1", "reason": "x"})
    assert Violation.objects.get(pk=violation.pk).status == "open"
    assert services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=dry.pk) in toasts(response)


def test_assigned_to_me(steward_client, steward, rules_run):
    mine = violation_at(rules_run, 6)
    services.violations_assign(violations=Violation.objects.filter(pk=mine.pk), assignee=steward)
    assert listed(steward_client.get(CHANGELIST, {"assigned": "me"})) == {mine.pk}


def test_search_by_external_id_and_payload_text(steward_client, operator_client, rules_run):
    assert listed(steward_client.get(CHANGELIST, {"q": "ORG-104"})) == {
        violation_at(rules_run, 5).pk
    }
    assert listed(steward_client.get(CHANGELIST, {"q": "negative staff"})) == {
        violation_at(rules_run, 6).pk
    }
    # Without the payload permission, payload text is not searched (a hit would reveal a value).
    assert listed(operator_client.get(CHANGELIST, {"q": "negative staff"})) == set()
    # Values are searched, not field names: every payload has a registration_number.
    assert listed(steward_client.get(CHANGELIST, {"q": "registration_number"})) == set()
    bad_country = violation_at(rules_run, 13)
    assert bad_country.pk in listed(
        steward_client.get(CHANGELIST, {"q": bad_country.payload["country"]})
    )


def test_the_editor_shows_errors_beside_fields_and_focuses_the_first(steward_client, rules_run):
    violation = violation_at(rules_run, 13)
    page = steward_client.get(change_url(violation)).content.decode()
    assert 'id="err-country"' in page and rules.MSG_COUNTRY in page
    assert 'id="err-email"' in page and "Enter a valid email address." in page
    validate = reverse("target-validate", kwargs={"name": "organization"}) + "?source=crm"
    assert f'data-validate-url="{validate}"' in page
    assert page.count("autofocus") == 1
    assert page.index("autofocus") > page.index('name="field__country"') - 300
    assert 'name="_save"' in page and 'name="_requeue"' in page and 'name="_ignore"' in page
    assert "dq/editor.js" in page


def form_data(violation, **changes):
    data = {f"field__{name}": value for name, value in violation.payload.items()}
    data.update({f"field__{name}": value for name, value in changes.items()})
    return data


def test_save_refuses_a_payload_with_errors_and_shows_the_pipelines_words(
    steward_client, rules_run
):
    violation = violation_at(rules_run, 4)
    response = steward_client.post(
        change_url(violation), {**form_data(violation, email="still bad"), "_save": "1"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert Violation.objects.get(pk=violation.pk).payload["email"] == "not-an-email"


def test_save_and_requeue_resolves_the_row(steward_client, rules_run, on_commit):
    violation = violation_at(rules_run, 4)
    with on_commit():
        response = steward_client.post(
            change_url(violation), {**form_data(violation, email="ok@example.com"), "_requeue": "1"}
        )
    assert response.status_code == 302
    violation.refresh_from_db()
    assert violation.status == "resolved" and violation.payload["email"] == "ok@example.com"
    assert any(t.startswith("Requeued 1 violation(s)") for t in toasts(response))


def test_save_with_the_raw_json(steward_client, rules_run):
    violation = violation_at(rules_run, 4)
    raw = '{"external_id": "ORG-103", "name": "Bad Email Co", "country": "DE", "email": "a@b.example"}'
    response = steward_client.post(
        change_url(violation), {"use_raw_json": "on", "raw_json": raw, "_save": "1"}
    )
    assert response.status_code == 302
    assert Violation.objects.get(pk=violation.pk).payload["email"] == "a@b.example"
    broken = steward_client.post(
        change_url(violation), {"use_raw_json": "on", "raw_json": "{nope", "_save": "1"}
    )
    assert broken.status_code == 200 and "The raw JSON is not valid JSON" in broken.content.decode()
    deep = steward_client.post(
        change_url(violation),
        {"use_raw_json": "on", "raw_json": "[" * 100_000 + "]" * 100_000, "_save": "1"},
    )
    assert deep.status_code == 200 and "nested too deeply" in deep.content.decode()


def test_ignore_needs_a_reason_then_reopen(steward_client, rules_run):
    violation = violation_at(rules_run, 7)
    response = steward_client.post(change_url(violation), {"_ignore": "1", "reason": ""})
    assert response.status_code == 200 and Violation.objects.get(pk=violation.pk).status == "open"
    response = steward_client.post(
        change_url(violation), {"_ignore": "1", "reason": "test company"}
    )
    assert response.status_code == 302
    violation.refresh_from_db()
    assert (violation.status, violation.ignore_reason) == ("ignored", "test company")
    steward_client.post(change_url(violation), {"_reopen": "1"})
    assert Violation.objects.get(pk=violation.pk).status == "open"
    assert list(violation.audits.order_by("id").values_list("action", flat=True)) == [
        "ignore",
        "reopen",
    ]


def test_an_operator_sees_masked_values_and_cannot_change(operator_client, rules_run):
    violation = violation_at(rules_run, 6)
    page = operator_client.get(change_url(violation)).content.decode()
    assert MASK in page and "Negative Staff Co" not in page
    assert 'name="_save"' not in page
    response = operator_client.post(
        change_url(violation), {**form_data(violation, employees="5"), "_save": "1"}
    )
    assert response.status_code == 403
    assert operator_client.post(
        CHANGELIST, {"action": "requeue_selected", "_selected_action": [violation.pk]}
    ).status_code in (200, 302)
    assert Violation.objects.get(pk=violation.pk).status == "open"


def test_someone_without_a_role_reaches_nothing(client, nobody, rules_run):
    client.force_login(nobody)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(violation_at(rules_run, 3))).status_code == 403
    assert client.get(reverse("dq_remediation_stats")).status_code == 403


def test_the_requeue_action_with_select_across_takes_every_row_matching_the_filter(
    steward_client, rules_run, on_commit
):
    with on_commit():
        response = steward_client.post(
            CHANGELIST + "?code=invalid_format",
            {
                "action": "requeue_selected",
                "select_across": "1",
                "index": "0",
                "_selected_action": [violation_at(rules_run, 4).pk],
            },
        )
    assert response.status_code == 302
    expected = set(
        Violation.objects.filter(run=rules_run, codes__contains="invalid_format").values_list(
            "pk", flat=True
        )
    )
    assert len(expected) == 3
    requeued = set(
        RemediationAudit.objects.filter(action="requeue").values_list("violation_id", flat=True)
    )
    assert requeued == expected
    assert any(t.startswith("Requeued 3 violation(s)") for t in toasts(response))


def test_the_ignore_action_asks_for_a_reason(steward_client, rules_run):
    ids = [violation_at(rules_run, 3).pk, violation_at(rules_run, 5).pk]
    first = steward_client.post(
        CHANGELIST, {"action": "ignore_selected", "index": "0", "_selected_action": ids}
    )
    assert first.status_code == 200 and "Reason" in first.content.decode()
    done = steward_client.post(
        CHANGELIST,
        {
            "action": "ignore_selected",
            "select_across": "0",
            "_selected_action": ids,
            "reason": "duplicates",
        },
    )
    assert done.status_code == 302
    assert set(Violation.objects.filter(status="ignored").values_list("pk", flat=True)) == set(ids)
    assert "Ignored 2 violation(s); 0 were not open and stayed as they were." in toasts(done)


def test_set_field_value_previews_then_applies_and_requeues(steward_client, rules_run, on_commit):
    ids = [violation_at(rules_run, n).pk for n in (4, 13)]  # both have a bad e-mail
    base = {"action": "set_field_value", "select_across": "0", "_selected_action": ids}
    first = steward_client.post(CHANGELIST, {**base, "index": "0"})
    assert first.status_code == 200 and 'name="field_name"' in first.content.decode()
    preview = steward_client.post(CHANGELIST, {**base, "field_name": "email", "value": ""})
    assert preview.status_code == 200
    assert preview.context["preview"] == 2
    with on_commit():
        done = steward_client.post(
            CHANGELIST,
            {**base, "field_name": "email", "value": "", "confirm": "True", "requeue": "on"},
        )
    assert done.status_code == 302
    row4, row13 = (Violation.objects.get(pk=pk) for pk in ids)
    assert row4.payload["email"] == "" and row4.status == "resolved"
    assert (
        row13.status == "open" and "email" not in row13.error_fields
    )  # country and employees still bad
    assert RemediationAudit.objects.filter(action="bulk_edit").count() == 2
    assert any(t.startswith("Set email on 2 violation(s). Requeued 2") for t in toasts(done))
    # The remediation run is a link, as after "Replace value" and "Requeue", not escaped HTML.
    page = steward_client.get(done["Location"]).content.decode()
    run = row4.remediation_run_id
    assert f'remediation run(s) <a href="/admin/runs/importrun/{run}/change/">{run}</a>' in page
    assert "&lt;a href" not in page


def test_the_stats_endpoint(steward_client, client, rules_run, requeue, steward):
    violation = violation_at(rules_run, 4)
    services.violation_edit(
        violation=violation, payload={**violation.payload, "email": ""}, actor=steward
    )
    requeue(Violation.objects.filter(pk__in=[violation.pk, violation_at(rules_run, 5).pk]), steward)
    services.violations_ignore(
        violations=Violation.objects.filter(pk=violation_at(rules_run, 6).pk),
        reason="r",
        actor=steward,
    )
    url = reverse("dq_remediation_stats")
    assert url == "/admin/imports/remediation/stats/"
    stats = steward_client.get(url).json()
    assert (stats["requeued"], stats["resolved"], stats["failed_again"], stats["ignored"]) == (
        2,
        1,
        1,
        1,
    )
    assert stats["success_rate"] == 0.5 and stats["median_time_to_fix_s"] is not None
    assert stats["by_rule"]["invalid_format"]["resolved"] == 1
    assert stats["by_source"]["crm"]["requeued"] == 2
    assert steward_client.get(url, {"since": "2999-01-01"}).json()["requeued"] == 0
    assert steward_client.get(url, {"since": "garbage"}).status_code == 400
    client.logout()
    assert client.get(url).status_code == 302  # to the admin login


def test_the_count_is_capped(steward_client, rules_run, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    response = steward_client.get(CHANGELIST)
    assert response.context["cl"].paginator.capped
    assert "More than 3 violations (narrow the filters)" in response.content.decode()
    assert "Select all violations matching the filter (more than 3)" in response.content.decode()
    monkeypatch.setattr(CappedPaginator, "cap", 10)
    response = steward_client.get(CHANGELIST)
    assert not response.context["cl"].paginator.capped
    assert "10 violations" in response.content.decode()


def test_a_malformed_rows_page_shows_its_row_error(steward_client, rules_run):
    violation = violation_at(rules_run, 8)  # too few fields
    page = steward_client.get(change_url(violation)).content.decode()
    assert violation.errors[0]["field"] == "" and violation.errors[0]["message"] in page
    assert 'name="field__name"' in page  # and it can be fixed field by field
