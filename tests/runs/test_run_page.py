"""A run's page: header, live progress, outcome, the failure and what to do,
violations linked into the inbox, the actions a role may take, the details."""

import datetime
import re
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from dq.models import Violation
from ingest.models import Source
from runs import views
from runs.models import ImportRun
from tests.factories import ImportRunFactory
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db


def page(client, run) -> str:
    response = client.get(reverse("admin:runs_importrun_change", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_title_names_the_source_not_its_id(operator_client):
    source = Source.objects.create(slug="crm-emea", name="CRM EMEA")
    run = ImportRunFactory(
        source=source, status=ImportRun.Status.SUCCEEDED, inserted=3, rows_total=3
    )
    html = page(operator_client, run)
    assert f"<h1>Run {run.pk}: CRM EMEA → organization</h1>" in html
    assert f"&rsaquo; Run {run.pk}: CRM EMEA → organization\n</div>" in html  # the breadcrumbs too


def test_a_running_run_shows_its_live_progress(operator_client):
    run = ImportRunFactory(
        status=ImportRun.Status.RUNNING,
        rows_processed=2_500,
        # 7,500 rows left at 62.5 rows/s: 120 s, far from the 150 s where
        # "about 2 min" turns into "about 3 min" (a slow page once crossed it).
        started_at=timezone.now() - datetime.timedelta(seconds=40),
        ingest_params_json={"detected": {"rows_estimate": 10_000}},
    )
    html = page(operator_client, run)
    assert f'class="run-panel run-live" data-run-id="{run.pk}"' in html
    assert "2,500 of about 10,000 rows" in html
    assert 'max="100" value="25"' in html
    assert "about 2 min left" in html
    assert reverse("admin:runs_importrun_progress") in html and "runs/progress.js" in html


def test_a_finished_run_shows_its_outcome_and_no_live_panel(operator_client):
    run = import_bytes()
    html = page(operator_client, run)
    assert "run-live" not in html and "runs/progress.js" not in html
    assert "1 inserted" in html and "2 quarantined" in html and "0 updated" in html
    assert 'title="1 inserted, 2 quarantined"' in html


def test_a_failed_run_says_why_and_what_to_do_under_its_header(operator_client):
    run = ImportRunFactory(status=ImportRun.Status.FAILED, error_message="The file is empty.")
    html = page(operator_client, run)
    assert html.index("Why it failed") < html.index("Actions")
    assert "The file is empty." in html
    assert "Correct the file, or the upload&#x27;s options" in html


def test_a_crash_and_a_cancel_get_their_own_advice(operator_client):
    crashed = ImportRunFactory(
        status=ImportRun.Status.FAILED,
        error_message="The import stopped on an unexpected error (OperationalError); see the log.",
        inserted=10,
    )
    assert "not in the file. The 10 row(s) written before it stopped stay" in page(
        operator_client, crashed
    )
    cancelled = ImportRunFactory(status=ImportRun.Status.CANCELLED)
    assert "Replay the run to import the whole file again" in page(operator_client, cancelled)


def test_violations_link_into_the_inbox_by_run_code_and_field(operator_client):
    run = import_bytes()
    html = page(operator_client, run)
    links = [
        parse_qs(urlparse(unescape(href)).query)
        for href in re.findall(r'href="(/admin/dq/violation/\?[^"]+)"', html)
    ]
    assert {"run": [str(run.pk)], "code": ["required"], "field": ["name"]} in links
    assert {"run": [str(run.pk)], "status": ["all"]} in links
    assert Violation.objects.filter(run=run).count() == 2


def test_operators_get_the_actions_as_links_to_their_confirmations(operator_client):
    dry = import_bytes(dry_run=True)
    html = page(operator_client, dry)
    for name in ("run_for_real", "replay", "preview"):
        assert f'href="{reverse(f"admin:runs_importrun_{name}", args=[dry.pk])}"' in html
    assert "<form" not in html.split('id="content-main"')[1]  # no one-click mutation


def test_stewards_see_the_run_but_no_actions(client, steward):
    client.force_login(steward)
    dry = import_bytes(dry_run=True)
    html = page(client, dry)
    assert "Run for real" not in html and "Replay…" not in html
    assert reverse("admin:runs_importrun_preview", args=[dry.pk]) in html


def test_a_dry_run_already_run_for_real_links_to_that_run(operator_client):
    dry = import_bytes(dry_run=True)
    failed = ImportRunFactory(parent_run=dry, status=ImportRun.Status.FAILED)
    assert "Run for real…" in page(operator_client, dry)  # a failed try does not count
    real = ImportRunFactory(parent_run=dry, status=ImportRun.Status.SUCCEEDED)
    html = page(operator_client, dry)
    assert "Run for real…" not in html
    assert "already run for real as" in html
    assert f'href="{reverse("admin:runs_importrun_change", args=[real.pk])}"' in html
    assert failed.pk != real.pk


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"status": "queued"}, "it waits for a worker"),
        ({"status": "running"}, "it is running"),
        ({"status": "succeeded"}, "it finished, every row imported"),
        ({"status": "succeeded", "dry_run": True}, "it finished, every row would be imported"),
        ({"status": "partial", "quarantined": 1200}, "it finished; 1,200 row(s) quarantined"),
        (
            {"status": "failed", "error_message": "The file is empty."},
            "it failed: The file is empty",
        ),
        ({"status": "cancelled"}, "it was cancelled"),
    ],
)
def test_the_upload_message_reads_well_in_every_state(fields, words):
    run = ImportRunFactory(original_filename="orgs.csv", **fields)
    message = views.run_started_message(run)
    kind = "Dry run" if run.dry_run else "Run"
    assert message == (
        f'<a href="{views.run_url(run)}">{kind} {run.pk}</a> of orgs.csv from crm: {words}.'
    )
