"""Accessibility checks the journeys rely on: the label check itself can
fail, the editor works with the keyboard alone, and operators (a role
without remediation) see the editor read-only, with values hidden."""

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import UNLABELLED_JS, log_in
from tests.factories import UserFactory
from tests.importing import import_golden

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_label_check_finds_an_unlabelled_input(page):
    page.set_content(
        '<label for="a">A</label><input id="a"><input name="b" aria-label="B">'
        '<select name="c"></select><input type="hidden" name="d">'
    )
    unlabelled = page.evaluate(UNLABELLED_JS)
    assert len(unlabelled) == 1 and 'name="c"' in unlabelled[0]


@pytest.fixture
def bad_email_violation(transactional_db):
    import_golden("01_organizations_clean.csv")
    run = import_golden("02_organizations_rules.csv")
    return run.violations.get(row_number=4)


def test_a_steward_fixes_and_saves_a_row_with_the_keyboard_alone(watched_page, bad_email_violation):
    page = watched_page
    UserFactory(username="stella", steward=True)
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/dq/violation/{bad_email_violation.pk}/change/")

    # Focus starts in the field in error: type over it, no mouse.
    # The editor's script moves focus once the page has loaded: wait for it.
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'field__email'"
    )
    page.keyboard.press("Control+A")
    page.keyboard.type("keys@example.org")
    expect(page.locator("#dq-live")).to_contain_text("No errors")

    # Tab forward to the Save button and press Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "_save":
            break
    else:
        pytest.fail("Tab never reaches the Save button")
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist li.success")).to_contain_text("Saved")
    bad_email_violation.refresh_from_db()
    assert bad_email_violation.payload["email"] == "keys@example.org"
    # The status is a word, not only a colour.
    expect(page.locator(".dq-status")).to_have_text("open")


def test_an_operator_sees_the_editor_read_only_and_without_values(
    watched_page, bad_email_violation
):
    page = watched_page
    UserFactory(username="otto", operator=True)
    log_in(page, "otto")
    page.goto(f"{page.base_url}/admin/dq/violation/{bad_email_violation.pk}/change/")
    expect(page.get_by_role("heading", name="Payload (values hidden)")).to_be_visible()
    expect(page.get_by_role("button", name="Save and requeue")).to_have_count(0)
    expect(page.get_by_role("button", name="Ignore")).to_have_count(0)
    assert "not-an-email" not in page.content()
    # The message beside the field still says what is wrong.
    expect(page.locator(".errorlist").first).to_be_visible()
