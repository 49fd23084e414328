"""Journeys through the runs side of the admin at 1280×800 with the sidebar
open: the list fits the screen, an operator follows a run live on its page,
and confirms a dry run for real from its preview."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from common.roles import OPERATORS, STEWARDS
from core.models import Organization
from ingest.models import Source
from runs import progress as live_progress
from runs import services
from runs.execution import runner as run_runner
from runs.models import ImportRun
from tests.e2e.browser import log_in, screenshot
from tests.factories import ImportRunFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAMES = [
    "Customer Relationship Management – EMEA region (Salesforce nightly export, v2 layout)",
    "Enterprise Resource Planning: SAP S/4HANA business partners, all company codes",
    "Marketing automation platform contact sync including unsubscribed and bounced",
    "Partner portal self-registrations awaiting review by the channel team",
]
WIDE_SCREEN = {"width": 1280, "height": 800}
OVERFLOW_JS = """() => {
  const box = document.querySelector('#changelist .results');
  return {scroll: box.scrollWidth, client: box.clientWidth,
          sidebar: !!document.querySelector('#nav-sidebar') &&
                   getComputedStyle(document.querySelector('#nav-sidebar')).display !== 'none'};
}"""


def seed_many_runs() -> None:
    """Sixty runs in every state, from sources with long names, some with big counts."""
    sources = [
        Source.objects.create(slug=f"src-{index}", name=name)
        for index, name in enumerate(LONG_NAMES)
    ]
    statuses = list(ImportRun.Status)
    now = timezone.now()
    for index in range(60):
        status = statuses[index % len(statuses)]
        counts = {}
        if status in ImportRun.FINISHED:
            counts = {
                "inserted": 1_234_567 - index,
                "updated": 45_678,
                "unchanged": 900_000,
                "skipped": 12,
                "quarantined": 3_456 if index % 3 else 0,
            }
            counts["rows_total"] = sum(counts.values())
        ImportRunFactory(
            source=sources[index % len(sources)],
            target="contact" if index % 2 else "organization",
            status=status,
            dry_run=index % 4 == 0,
            original_filename=f"export-{index:03d}-with-a-rather-long-file-name-2026-12-03.csv",
            rows_processed=250_000 if status == ImportRun.Status.RUNNING else 0,
            started_at=now - datetime.timedelta(minutes=index + 1),
            created_at=now - datetime.timedelta(hours=index * 7),
            error_message="The file is missing required column(s): name."
            if status == ImportRun.Status.FAILED
            else "",
            **counts,
        )


def test_the_runs_list_does_not_scroll_sideways_at_1280_px(watched_page):
    page = watched_page
    page.set_viewport_size(WIDE_SCREEN)
    seed_many_runs()
    UserFactory(username="olivia", role=OPERATORS)
    log_in(page, "olivia")
    page.goto(f"{page.base_url}/admin/runs/importrun/")
    page.wait_for_selector(".run-cards")
    screenshot(page, "runs_list")
    sizes = page.evaluate(OVERFLOW_JS)
    assert sizes["sidebar"], "the sidebar is open, as people leave it"
    assert sizes["scroll"] <= sizes["client"], sizes
    # The columns people triage by are there; the rest is on the run's page.
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers if h.strip()] == [
        "id",
        "source → target",
        "status",  # and the DRY RUN badge under it
        "progress or outcome",
        "quarantined",
        "age",
    ]
    title = page.locator("#result_list .run-title").first
    assert title.get_attribute("title") in LONG_NAMES  # the whole name on hover


def test_operator_follows_a_run_live_and_sees_its_outcome(watched_page):
    page = watched_page
    page.set_viewport_size(WIDE_SCREEN)
    source = Source.objects.create(slug="crm", name="CRM (Salesforce)")
    run = ImportRunFactory(
        source=source,
        status=ImportRun.Status.RUNNING,
        original_filename="contacts-2026-12.csv",
        rows_processed=1_000,
        started_at=timezone.now() - datetime.timedelta(seconds=100),
        ingest_params_json={"detected": {"rows_estimate": 10_000}},
    )
    UserFactory(username="olivia", role=OPERATORS)
    log_in(page, "olivia")
    page.goto(f"{page.base_url}/admin/runs/importrun/{run.pk}/change/")
    expect(page.locator("h1")).to_have_text(f"Run {run.pk}: CRM (Salesforce) → organization")
    live = page.locator(".run-live")
    expect(live.locator("[data-progress=rows]")).to_have_text("1,000 of about 10,000 rows")
    # 1,000 rows in the 100 s (and the few the page took) since it started.
    expect(live.locator("[data-progress=rate]")).to_have_text(re.compile(r"^(9|10) rows/s$"))
    screenshot(page, "run_live")

    # The worker goes on: the bar moves without a reload.
    ImportRun.objects.filter(pk=run.pk).update(rows_processed=5_000)
    expect(live.locator("[data-progress=rows]")).to_have_text("5,000 of about 10,000 rows")
    expect(live.locator("[data-progress=left]")).to_contain_text("left")
    assert int(live.locator("progress").get_attribute("value")) >= 50

    # It finishes: the page shows its outcome and the violations' way into the inbox.
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.PARTIAL,
        rows_processed=10_000,
        rows_total=10_000,
        inserted=9_000,
        updated=900,
        quarantined=100,
        finished_at=timezone.now(),
    )
    expect(page.locator(".run-header .run-badge").first).to_have_text("Partial")
    expect(page.locator(".run-legend")).to_contain_text("9,000 inserted")
    expect(page.locator(".run-live")).to_have_count(0)


def test_a_running_dry_run_shows_its_progress_too(watched_page):
    page = watched_page
    page.set_viewport_size(WIDE_SCREEN)
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        dry_run=True,
        started_at=timezone.now() - datetime.timedelta(seconds=10),
    )
    UserFactory(username="olivia", role=OPERATORS)
    log_in(page, "olivia")
    page.goto(f"{page.base_url}/admin/runs/importrun/{run.pk}/change/")
    live = page.locator(".run-live")
    expect(live.locator("h2")).to_have_text("Progress of the dry run")
    # Its counters commit only at its end; the runner notes the count in the cache.
    live_progress.dry_run_progress_note(run_id=run.pk, rows=2_000)
    try:
        expect(live.locator("[data-progress=rows]")).to_have_text("2,000 rows")
    finally:
        cache.clear()


ORGS_BEFORE = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,FR\n"
ORGS_DRY = b"external_id,name,country\nA-1,Acme GmbH,DE\nA-2,Beta,FR\nA-3,Gamma,IT\nA-4,,IT\n"


def run_file(content: bytes, *, dry_run: bool, user=None) -> ImportRun:
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(content),
        filename="organizations.csv",
        dry_run=dry_run,
        created_by=user,
    )
    run_runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_operator_previews_a_dry_run_and_confirms_it_for_real(watched_page, run_jobs):
    page = watched_page
    page.set_viewport_size(WIDE_SCREEN)
    Source.objects.create(slug="crm", name="CRM (Salesforce)")
    run_file(ORGS_BEFORE, dry_run=False)
    olivia = UserFactory(username="olivia", role=OPERATORS)
    dry = run_file(ORGS_DRY, dry_run=True, user=olivia)
    # A-2 is as the last import saw it: skipped.
    assert (dry.inserted, dry.updated, dry.skipped, dry.quarantined) == (1, 1, 1, 1)
    log_in(page, "olivia")

    page.goto(f"{page.base_url}/admin/runs/importrun/{dry.pk}/change/")
    screenshot(page, "run_page_dry_run")
    page.get_by_role("link", name="Preview what it would do").click()
    expect(page.locator("h1")).to_contain_text(f"Preview of dry run {dry.pk}")
    expect(page.locator("#preview_list tbody tr")).to_have_count(4)
    screenshot(page, "run_preview")

    # Only the updates: the changed field, old → new (masked: operators may not see values).
    page.get_by_role("link", name="update (1)").click()
    rows = page.locator("#preview_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("A-1")
    expect(rows.first.locator(".run-old")).to_have_text("•••")
    expect(rows.first).to_contain_text("name")
    page.get_by_role("link", name="quarantine (1)").click()
    expect(page.locator("#preview_list tbody tr").first).to_contain_text("required")

    # Run for real: a confirmation says what will happen, then the POST does it.
    page.get_by_role("link", name="Run for real…").click()
    expect(page.locator("h1")).to_have_text("Import organizations.csv for real?")
    expect(page.locator(".run-consequences")).to_contain_text("It is not a dry run")
    screenshot(page, "run_confirm_for_real")
    assert Organization.objects.count() == 2  # nothing happened on the GET
    page.get_by_role("button", name="Yes, import it for real").click()
    page.wait_for_url(lambda url: not url.endswith("/run-for-real/"))
    real = ImportRun.objects.get(parent_run=dry)
    assert not real.dry_run
    expect(page.locator(".messagelist")).to_contain_text(
        f"Dry run {dry.pk} is now being imported for real as run {real.pk}"
    )
    run_jobs()
    assert set(Organization.objects.values_list("name", flat=True)) == {
        "Acme GmbH",
        "Beta",
        "Gamma",
    }

    # The dry run now links to that run instead of offering the button again.
    page.goto(f"{page.base_url}/admin/runs/importrun/{dry.pk}/change/")
    expect(page.locator(".run-real")).to_contain_text(f"run {real.pk}")
    expect(page.get_by_role("link", name="Run for real…")).to_have_count(0)
    page.goto(f"{page.base_url}/admin/runs/importrun/{dry.pk}/run-for-real/")
    expect(page.locator(".errornote")).to_contain_text(f"was already run for real as run {real.pk}")
    expect(page.get_by_role("button", name="Yes, import it for real")).to_have_count(0)

    # A steward, who may see values, reads the same preview in clear.
    UserFactory(username="stella", role=STEWARDS)
    page.context.clear_cookies()
    log_in(page, "stella")
    page.goto(f"{page.base_url}/admin/runs/importrun/{dry.pk}/preview/")
    expect(page.locator(".run-old").first).to_have_text("Acme")
    expect(page.locator(".run-new").first).to_have_text("Acme GmbH")
    expect(page.get_by_role("link", name="Run for real…")).to_have_count(0)
    screenshot(page, "run_preview_steward")


def test_a_failed_run_says_why_and_what_to_do_first(watched_page):
    page = watched_page
    page.set_viewport_size(WIDE_SCREEN)
    source = Source.objects.create(slug="erp", name="SAP S/4HANA business partners")
    run = ImportRunFactory(
        source=source,
        status=ImportRun.Status.FAILED,
        original_filename="partners.csv",
        file_sha256="ab" * 32,
        file="imports/partners.csv",
        error_message="The file is missing required column(s): name.",
        started_at=timezone.now() - datetime.timedelta(seconds=3),
        finished_at=timezone.now(),
    )
    UserFactory(username="olivia", role=OPERATORS)
    log_in(page, "olivia")
    page.goto(f"{page.base_url}/admin/runs/importrun/{run.pk}/change/")
    failure = page.locator(".run-failure")
    expect(failure).to_contain_text("The file is missing required column(s): name.")
    expect(failure).to_contain_text("What to do: The file cannot be imported as it is.")
    screenshot(page, "run_failed")
