"""Journey 1: an operator uploads a file as a dry run, watches it finish on
the dashboard, opens its page, downloads the dry run's results and runs it
for real. Without REDIS_URL the job runs at upload time; with it, the run
waits on the real queue until the test drains it, and the dashboard turns
the row from Queued to Partial in place."""

import csv
import io

import pytest
from playwright.sync_api import expect

from core.models import Organization
from demo import golden
from runs.models import ImportRun
from tests.e2e.browser import assert_inputs_labelled, log_in, screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DRY_RUN_FILE = golden.GOLDEN_DIR / "03_organizations_dry_run.csv"


def card(page, title: str) -> str:
    """The whole text of one summary card, as a person reads it."""
    return page.locator(".run-card", has=page.get_by_role("heading", name=title)).inner_text()


def figure(page, title: str) -> str:
    """The big figure of one summary card."""
    box = page.locator(".run-card", has=page.get_by_role("heading", name=title))
    return box.locator(".run-card__figure").first.inner_text().strip()


def test_operator_uploads_a_dry_run_watches_it_finish_downloads_results_and_runs_it_for_real(
    watched_page, run_jobs, settings
):
    page = watched_page
    UserFactory(username="olivia", operator=True)
    log_in(page, "olivia")

    # An empty dashboard: the cards arrive and count nothing yet.
    page.goto(f"{page.base_url}/admin/runs/importrun/")
    page.wait_for_selector(".run-cards")
    assert "0 runs in all" in card(page, "Runs by status")
    assert figure(page, "Dry runs") == "0"
    assert_inputs_labelled(page)

    # Upload with "dry run" checked (it is the default: make sure it stays so).
    page.get_by_role("link", name="Upload a file").click()
    page.get_by_label("File").set_input_files(str(DRY_RUN_FILE))
    page.get_by_label("Target").select_option("organization")
    page.get_by_role("combobox", name="Source").fill("crm")
    page.get_by_label("Dry run").check()
    assert_inputs_labelled(page)
    page.get_by_role("button", name="Upload").click()

    # The run's page, with its DRY RUN badge and a toast saying so.
    page.wait_for_url("**/admin/runs/importrun/*/change/")
    run = ImportRun.objects.get()
    assert run.dry_run
    assert page.url.endswith(f"/admin/runs/importrun/{run.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Dry run {run.pk} of {DRY_RUN_FILE.name} from crm: it "
    )
    assert page.locator(".run-badge--dry", has_text="DRY RUN").first.is_visible()

    # The dashboard lists it; the row's badge reaches its finished state
    # in place (with Redis: Queued first, then the worker runs it).
    page.goto(f"{page.base_url}/admin/runs/importrun/")
    badge = page.locator(f'.run-badge[data-run-id="{run.pk}"]')
    row = badge.locator("xpath=ancestor::tr")
    assert row.locator(".run-badge--dry").inner_text() == "DRY RUN"
    if not settings.IMPORTER_SYNC_JOBS:
        assert badge.inner_text() == "Queued"
        run_jobs()
    page.wait_for_function(
        f'document.querySelector(\'.run-badge[data-run-id="{run.pk}"]\').dataset.finished === "1"'
    )
    assert badge.inner_text() == "Partial"
    assert "4 rows" in row.locator(".field-progress .run-outcome").inner_text()
    assert row.locator(".field-quarantined").inner_text() == "1"

    # The summary cards now count it.
    page.reload()
    page.wait_for_selector(".run-cards")
    assert "1 run in all" in card(page, "Runs by status")
    assert "Partial 1" in card(page, "Runs by status")
    assert figure(page, "Dry runs") == "1"
    assert figure(page, "Rows quarantined") == "1"
    assert figure(page, "Rows imported") == "0"  # a dry run imports nothing
    screenshot(page, "dashboard")

    # The drill-down: counts, the violations by rule, the results download.
    page.locator("#result_list").get_by_role("link", name=str(run.pk), exact=True).click()
    assert page.locator(".run-header .run-badge").first.inner_text() == "Partial"
    breakdown = page.locator("table.run-breakdown")
    assert breakdown.locator("td", has_text="required").is_visible()
    assert breakdown.locator("td", has_text="name").is_visible()
    screenshot(page, "run_detail")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the dry run's results (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"run-{run.pk}-results.csv"
    results = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert len(results) == 4
    assert Organization.objects.count() == 0  # the dry run wrote nothing

    # Run for real, once confirmed: a new run, not a dry one, that imports the rows.
    page.get_by_role("link", name="Run for real…").click()
    page.get_by_role("button", name="Yes, import it for real").click()
    page.wait_for_url(lambda url: not url.endswith("/run-for-real/"))
    real = ImportRun.objects.exclude(pk=run.pk).get()
    assert not real.dry_run and real.parent_run_id == run.pk
    assert page.url.endswith(f"/admin/runs/importrun/{real.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Dry run {run.pk} is now being imported for real as run {real.pk}"
    )
    run_jobs()
    page.reload()
    assert page.locator(".run-header .run-badge").first.inner_text() == "Partial"
    expect(page.locator("#content-main .run-badge--dry")).to_have_count(0)
    assert Organization.objects.count() == 3
