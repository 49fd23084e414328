"""The dashboard's scripts in a real browser (Playwright + Debian's
chromium): the summary cards arrive, and a running row turns into a finished
one without a page reload."""

import pytest
from django.utils import timezone

from runs.models import ImportRun
from tests.factories import PASSWORD, ImportRunFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_cards_load_and_a_running_row_updates_in_place(page, live_server):
    UserFactory(username="boss", admin=True)
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING, rows_processed=2000, started_at=timezone.now()
    )
    ImportRunFactory(
        status=ImportRun.Status.FAILED, started_at=timezone.now(), finished_at=timezone.now()
    )
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda response: response.status >= 500 and problems.append(response.url))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/runs/importrun/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.wait_for_selector(".run-cards")
    assert "runs by status" in page.inner_text("#run-summary").lower()
    badge = page.locator(f'.run-badge[data-run-id="{run.pk}"]')
    assert badge.inner_text() == "Running"
    row = badge.locator("xpath=ancestor::tr")
    assert "2,000 rows" in row.locator(".field-progress").inner_text()

    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.SUCCEEDED,
        rows_processed=2500,
        rows_total=2500,
        inserted=2500,
        finished_at=timezone.now(),
    )
    page.wait_for_function(
        f'document.querySelector(\'.run-badge[data-run-id="{run.pk}"]\').textContent === "Succeeded"',
        timeout=15000,
    )
    bar = row.locator(".field-progress .run-outcome")
    assert "2,500 rows" in bar.inner_text()
    assert bar.get_attribute("title") == "2,500 inserted"
    assert problems == []
