"""Issue 19: the remediation dashboard renders with data in a browser at
1280×800, its charts drawn (SVG, no script), reached from the inbox."""

import pytest
from playwright.sync_api import expect

from common.roles import STEWARDS
from dq import services
from dq.models import Violation
from tests.e2e.browser import log_in, screenshot
from tests.factories import UserFactory
from tests.importing import drain_imports, import_golden

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def remediated(transactional_db):
    import_golden("01_organizations_clean.csv")
    run = import_golden("02_organizations_rules.csv")
    fixed = run.violations.get(row_number=4)
    services.violation_edit(violation=fixed, payload={**fixed.payload, "email": ""}, actor=None)
    services.violations_requeue(
        violations=Violation.objects.filter(pk__in=[fixed.pk, run.violations.get(row_number=5).pk]),
        actor=None,
    )
    drain_imports()
    return run


def test_the_dashboard_renders_with_data(watched_page, remediated):
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    UserFactory(username="stella", role=STEWARDS)
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/dq/violation/")
    page.get_by_role("link", name="Remediation dashboard").first.click()
    page.wait_for_url("**/admin/imports/remediation/")
    expect(page.locator("figure.chart")).to_have_count(3)
    expect(page.locator("figure.chart polyline, figure.chart circle").first).to_be_visible()
    expect(page.locator(".dq-card").nth(4)).to_contain_text("50%")
    screenshot(page, "remediation_dashboard")
    no_sideways = page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert no_sideways
    page.get_by_role("link", name="invalid_format").click()
    page.wait_for_url("**/admin/dq/violation/?status=open&code=invalid_format")
