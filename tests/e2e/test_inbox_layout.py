"""Issue 19: the DQ inbox fits a 1280×800 screen with the navigation sidebar
open: the results table does not scroll sideways and its rows stay a few
lines tall, with realistic rows (the golden rule-codes file, plus a row with
a long external id and a long message)."""

import pytest

from common.pagination import CappedPaginator
from common.roles import STEWARDS
from dq.models import Violation
from tests.e2e.browser import log_in, screenshot
from tests.factories import UserFactory
from tests.importing import import_golden

pytestmark = pytest.mark.django_db(transaction=True)

OVERFLOW_JS = """() => {
  const box = document.querySelector('.results');
  return {scroll: box.scrollWidth, client: box.clientWidth};
}"""

LINE_HEIGHT_JS = """() => {
  const probe = document.createElement('span');
  probe.className = 'dq-message';
  probe.textContent = 'x';
  document.querySelector('#result_list td.field-first_error').appendChild(probe);
  const height = probe.getBoundingClientRect().height;
  probe.remove();
  return height;
}"""

ROW_HEIGHTS_JS = """() => Array.from(document.querySelectorAll('#result_list tbody tr'))
  .map((row) => row.getBoundingClientRect().height)"""


@pytest.fixture
def realistic_inbox(transactional_db):
    import_golden("01_organizations_clean.csv")
    run = import_golden("02_organizations_rules.csv")
    # A real export's ids and messages are long: the longest of both.
    violation = run.violations.order_by("pk").first()
    Violation.objects.filter(pk=violation.pk).update(
        external_id="SALESFORCE-ACCOUNT-0015g00000XyZAbCDE-2026-11-30",
        codes="out_of_range," + violation.codes,
        errors=[
            {
                "field": "updated_at",
                "code": "out_of_range",
                "message": "The date and time is outside the years 1 to 9999 once converted to UTC.",
            },
            *violation.errors,
        ],
    )
    return run


def test_the_inbox_does_not_scroll_sideways_at_1280_px(watched_page, realistic_inbox):
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    UserFactory(username="stella", role=STEWARDS)
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/dq/violation/?status=all")
    assert page.locator("#nav-sidebar").is_visible(), "the navigation sidebar is open"
    assert page.locator("#result_list tbody tr").count() == 10
    sizes = page.evaluate(OVERFLOW_JS)
    screenshot(page, "inbox_1280")
    assert sizes["scroll"] <= sizes["client"], sizes
    # No column squeezed to a sliver (it was 80 px, and rows 8 lines tall).
    assert page.locator("#result_list td.field-first_error").first.bounding_box()["width"] >= 200
    line = page.evaluate(LINE_HEIGHT_JS)
    assert max(page.evaluate(ROW_HEIGHTS_JS)) <= 6 * line + 16


def test_select_all_past_the_cap_says_the_exact_number(watched_page, realistic_inbox, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    page = watched_page
    UserFactory(username="stella", role=STEWARDS)
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/dq/violation/?status=all")
    page.locator("#action-toggle").check()
    question = page.locator(".actions .question a")
    assert "more than 3" in question.inner_text()
    question.click()
    note = page.locator("#dq-select-all-note")
    note.wait_for(state="visible")
    page.wait_for_function("document.getElementById('dq-select-all-note').dataset.count === '10'")
    assert note.inner_text() == "All 10 violations matching the filter are selected"
