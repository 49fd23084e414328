"""Journeys 2 and 3: a steward fixes quarantined rows in the DQ inbox, one
in the editor (with the backend's live validation), several with the bulk
"Set field value…" action, and requeues them. With REDIS_URL the remediation
runs wait on the real queue until the test drains it."""

import pytest
from playwright.sync_api import expect

from core.models import Organization
from dq.models import Violation
from ingest import fields as rules
from tests.e2e.browser import assert_inputs_labelled, log_in, screenshot
from tests.factories import UserFactory
from tests.importing import import_golden

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rules_run(transactional_db):
    """The rule-codes file after the clean one: ten open violations."""
    import_golden("01_organizations_clean.csv")
    return import_golden("02_organizations_rules.csv")


def inbox_row(page, external_id: str):
    return page.locator("#result_list tbody tr", has=page.get_by_text(external_id, exact=True))


def test_steward_fixes_a_row_in_the_editor_and_requeues_it(watched_page, run_jobs, rules_run):
    page = watched_page
    UserFactory(username="stella", steward=True)
    log_in(page, "stella")

    # From the run's page, its violations link leads into the inbox.
    page.goto(f"{page.base_url}/admin/runs/importrun/{rules_run.pk}/change/")
    page.get_by_role("link", name="Violations last seen in this run").click()
    page.wait_for_url(f"**/admin/dq/violation/?run={rules_run.pk}&status=all")
    expect(page.locator("#result_list tbody tr")).to_have_count(10)
    assert_inputs_labelled(page)
    row = inbox_row(page, "ORG-103")
    assert "email" in row.locator(".field-first_error").inner_text()
    row.locator(".field-id a").click()

    # The editor: focus on the field in error, the backend's message beside it.
    # The editor's script moves focus once the page has loaded: wait for it.
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'field__email'"
    )
    assert page.locator("#err-email").inner_text().strip() == rules.MSG_EMAIL
    screenshot(page, "inbox_editor")
    assert_inputs_labelled(page)

    # Another bad value: the live validation says so inline.
    email = page.get_by_label("email", exact=True)
    email.fill("still wrong")
    page.wait_for_selector(f"#err-email:has-text('{rules.MSG_EMAIL[:20]}')")
    assert email.get_attribute("aria-invalid") == "true"

    # Fixed: no errors left; save and requeue.
    email.fill("hello@bademail.example")
    page.wait_for_selector("#dq-live:has-text('No errors')")
    assert page.locator("#err-email").inner_text().strip() == ""
    page.get_by_role("button", name="Save and requeue").click()
    expect(page.locator(".messagelist li.success")).to_contain_text(
        "Requeued 1 violation(s) in remediation run(s)"
    )

    # The remediation run resolves it; the editor says so after a reload.
    run_jobs()
    page.reload()
    assert page.locator(".dq-status").inner_text().strip().lower() == "resolved"
    violation = Violation.objects.get(run=rules_run, row_number=4)
    assert violation.status == Violation.Status.RESOLVED

    # And the record is in the core admin.
    page.goto(f"{page.base_url}/admin/core/organization/?q=Bad+Email+Co")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert page.get_by_text("Bad Email Co").first.is_visible()
    organization = Organization.objects.get(name="Bad Email Co")
    assert organization.email == "hello@bademail.example"


def test_steward_bulk_sets_a_field_on_several_rows_and_requeues_them(
    watched_page, run_jobs, rules_run
):
    page = watched_page
    UserFactory(username="stella", steward=True)
    log_in(page, "stella")

    # The two rows with an unknown country (XX and ZZ).
    page.goto(f"{page.base_url}/admin/dq/violation/?run={rules_run.pk}&code=invalid_choice")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    for index in range(2):
        rows.nth(index).locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Set field value…")
    page.get_by_role("button", name="Go").click()

    # Choose the field and value; preview; confirm with a requeue.
    assert_inputs_labelled(page)
    page.get_by_label("Field").select_option("country")
    page.get_by_label("Value").fill("DE")
    page.get_by_label("Requeue the changed rows afterwards").check()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".dq-preview")).to_contain_text("2 rows will change")
    page.get_by_role("button", name="Confirm").click()
    toast = page.locator(".messagelist li.success")
    expect(toast).to_contain_text("Set country on 2 violation(s).")
    expect(toast).to_contain_text("Requeued 2 violation(s)")

    # After the remediation run: the row whose only error was the country is
    # resolved and imported; the other still has its other errors to fix.
    run_jobs()
    page.goto(f"{page.base_url}/admin/dq/violation/?run={rules_run.pk}&status=all&q=ORG-104")
    assert (
        "resolved"
        in inbox_row(page, "ORG-104").locator(".field-status_badges").inner_text().lower()
    )
    assert Organization.objects.get(name="Bad Country Co").country == "DE"
    multi = Violation.objects.get(run=rules_run, row_number=13)
    assert multi.payload["country"] == "DE"
    assert "invalid_choice" not in multi.codes and multi.status == Violation.Status.OPEN


def test_steward_fixes_requeues_and_goes_to_the_next_of_the_same_filter(
    watched_page, run_jobs, rules_run
):
    """Issue 19: from a filtered inbox, a refused save says so at the top;
    the fix resolves in a success box with links to the run and the record,
    and "Next violation" opens the next row of the same filter."""
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    UserFactory(username="stella", steward=True)
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/dq/violation/?code=invalid_choice")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    first_id = rows.nth(0).locator(".field-id a").inner_text()
    rows.nth(0).locator(".field-id a").click()
    # The editor's live validation is a deferred script: typing before it
    # runs fires no check (a loaded CI machine once got there first).
    page.wait_for_load_state()

    # A country written as a name: refused, with its code suggested.
    country = page.get_by_label("country", exact=True)
    country.fill("Germany")
    named = rules.MSG_COUNTRY_NAMED.format(code="DE", name="Germany")
    page.wait_for_selector(f"#err-country:has-text('{named[:30]}')")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".dq-refused")).to_be_visible()
    expect(page.locator("#err-country")).to_contain_text(named)
    screenshot(page, "editor_refused")

    page.get_by_label("country", exact=True).fill("DE")
    for name in ("email", "employees"):  # the multi-error row has more to fix
        field = page.get_by_label(name, exact=True)
        if page.locator(f"#err-{name} li").count():
            field.fill({"email": "fixed@example.org", "employees": "12"}[name])
    page.get_by_role("button", name="Save and requeue").click()
    expect(page.locator(".messagelist li.success")).to_contain_text("Requeued 1 violation(s)")
    run_jobs()
    page.reload()
    outcome = page.locator(".dq-outcome-success")
    expect(outcome).to_contain_text("Resolved")
    expect(outcome.get_by_role("link", name="Resolving run")).to_be_visible()
    expect(outcome.get_by_role("link", name="record")).to_be_visible()
    assert page.locator(".errornote").count() == 0
    screenshot(page, "editor_resolved")

    # Next: the other invalid_choice row, the filter kept.
    outcome.get_by_role("link", name="Next violation").click()
    page.wait_for_url("**/admin/dq/violation/*/change/?_changelist_filters=*")
    assert f"/violation/{first_id}/" not in page.url
    assert Violation.objects.get(pk=int(page.url.split("/")[-3])).codes.count("invalid_choice")
    page.get_by_role("link", name="Back to the inbox").click()
    page.wait_for_url("**/admin/dq/violation/?code=invalid_choice")
