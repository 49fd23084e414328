"""The editor's live validation in a real browser (Chromium through
Playwright) against a live server: the JS posts to the validate endpoint with
the session and CSRF token and shows the backend's messages beside fields."""

import pytest

from dq.models import Violation
from ingest import fields as rules
from tests.factories import PASSWORD, UserFactory
from tests.importing import import_golden, violation_at

pytestmark = pytest.mark.django_db(transaction=True)


def test_live_validation_shows_the_backends_messages_beside_the_field(live_server, page):
    UserFactory(username="steward", steward=True)
    import_golden("01_organizations_clean.csv")
    violation = violation_at(import_golden("02_organizations_rules.csv"), 4)  # bad e-mail

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "steward")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/dq/violation/{violation.pk}/change/")

    # Focus starts in the field in error, whose message is beside it.
    # The editor's script moves focus once the page has loaded: wait for it.
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'field__email'"
    )
    assert page.inner_text("#err-email").strip() == rules.MSG_EMAIL

    page.fill("input[name=field__email]", "info@example.org")
    page.wait_for_selector("#dq-live:has-text('No errors')", timeout=10_000)
    assert page.inner_text("#err-email").strip() == ""

    page.fill("input[name=field__country]", "XX")
    page.wait_for_selector(f"#err-country:has-text('{rules.MSG_COUNTRY[:20]}')", timeout=10_000)
    assert page.get_attribute("input[name=field__country]", "aria-invalid") == "true"

    page.fill("input[name=field__country]", "de")
    page.wait_for_selector("#dq-live:has-text('No errors')", timeout=10_000)
    page.click("input[name=_save]")
    page.wait_for_selector("text=Saved the payload", timeout=10_000)
    assert Violation.objects.get(pk=violation.pk).payload["email"] == "info@example.org"
