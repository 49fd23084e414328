"""Issue 19: a steward re-points an external id by searching the record's
name (the admin's autocomplete), and sees a record's external ids and
lineage; screenshots of both pages at 1280×800."""

import pytest
from playwright.sync_api import expect

from core.models import Organization
from ingest import identity
from ingest.models import ExternalIdMap
from tests.e2e.browser import log_in, screenshot
from tests.factories import UserFactory
from tests.identity.helpers import import_text

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "external_id,name,country,registration_number,phone\n"


def test_a_steward_repoints_by_searching_the_records_name(watched_page):
    import_text(HEADER + "A,Acme Holdings,DE,HRB 1,\nB,Beta Branch,DE,HRB 2,\n")
    UserFactory(username="root", admin=True)
    acme = Organization.objects.get(name="Acme Holdings")
    identity.record_save_by_hand(record=acme, fields=["industry"], actor="root")
    mapping = ExternalIdMap.objects.get(external_id="B")
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "root")

    page.goto(f"{page.base_url}/admin/ingest/externalidmap/{mapping.pk}/repoint/")
    page.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("acme")
    option = page.locator(".select2-results__option", has_text="Acme Holdings (DE)")
    expect(option).to_be_visible()
    option.click()
    page.get_by_label("Reason").fill("B is a branch of Acme")
    screenshot(page, "repoint_lookup")
    page.get_by_role("button", name="Re-point").click()
    expect(page.locator(".messagelist li.success")).to_contain_text("now points to organization")
    mapping.refresh_from_db()
    assert mapping.record_id == acme.pk

    page.goto(f"{page.base_url}/admin/core/organization/{acme.pk}/change/")
    expect(page.locator("table.external-ids tbody tr")).to_have_count(2)
    expect(page.get_by_role("button", name="Release manual override")).to_be_visible()
    screenshot(page, "record_page")
    page.get_by_role("button", name="Release manual override").click()
    expect(page.locator(".messagelist li.success")).to_contain_text("Released industry")
