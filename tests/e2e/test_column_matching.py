"""Journey: an operator uploads a CRM export whose header names none of
the target's fields ("Company Name, Country Code, Org ID"), checks the
suggested columns against the sample, accepts them, and the run imports
every row with that column map."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from common.roles import OPERATORS
from core.models import Organization
from ingest.models import Source
from runs.models import ImportRun
from tests.e2e.browser import assert_inputs_labelled, log_in, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CRM_EXPORT = settings.BASE_DIR / "fixtures" / "uploads" / "crm_export.csv"


def test_operator_matches_a_crm_export_s_columns_and_imports_it(watched_page, run_jobs):
    page = watched_page
    page.set_viewport_size({"width": 1280, "height": 800})
    UserFactory(username="olivia", role=OPERATORS)
    log_in(page, "olivia")

    page.goto(f"{page.base_url}/admin/runs/importrun/add/")
    page.get_by_label("File").set_input_files(str(CRM_EXPORT))
    page.get_by_label("Target").select_option("organization")
    page.get_by_role("combobox", name="Source").fill("crm")
    page.get_by_label("Dry run").uncheck()
    page.get_by_role("button", name="Upload").click()

    # The matching page: the file's columns, the suggested fields, the sample.
    expect(page.get_by_role("heading", name="Match the file's columns")).to_be_visible()
    assert not ImportRun.objects.exists()
    for column, field in [
        ("Company Name", "name"),
        ("Country Code", "country"),
        ("Org ID", "external_id"),
        ("Web", "website"),
        ("Phone Number", "phone"),
        ("Account Manager", ""),
    ]:
        expect(page.get_by_label(column, exact=True)).to_have_value(field)
    table = page.locator("table.column-matching__table")
    expect(table).to_contain_text("Northwind Logistics GmbH")
    expect(table).to_contain_text("CRM-1004")
    expect(page.locator("#id_column_0_reason")).to_have_text("Suggested: name, known synonym")
    assert_inputs_labelled(page)
    screenshot(page, "upload-column-matching")

    # Accept the suggestions and remember them for the source.
    page.get_by_label("Remember this column map for the source crm").check()
    page.get_by_role("button", name="Import with these columns").click()
    page.wait_for_url("**/admin/runs/importrun/*/change/")
    run = ImportRun.objects.get()
    expect(page.locator(".messagelist")).to_contain_text(f"Run {run.pk} of crm_export.csv from crm")
    run_jobs()
    page.reload()
    expect(page.locator(f'.run-badge[data-run-id="{run.pk}"]').first).to_have_text("Succeeded")
    run.refresh_from_db()
    assert (run.status, run.inserted, run.rows_total) == ("succeeded", 4, 4)
    assert run.ingest_params_json["column_map"] == {
        "Company Name": "name",
        "Country Code": "country",
        "Org ID": "external_id",
        "Web": "website",
        "Phone Number": "phone",
    }
    assert Organization.objects.get(name="Fjord Analytics AS").country == "NO"
    assert Source.objects.get(slug="crm").profile_column_map == run.ingest_params_json["column_map"]
