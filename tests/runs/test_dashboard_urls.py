"""Every URL the dashboard's templates and scripts use is rendered by the
server and answers without a 500 (for POST-only URLs: a GET confirms)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from runs.models import ImportRun
from tests.factories import ImportRunFactory, UserFactory
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db
URL_ATTRIBUTES = {"href", "src", "action", "data-progress-url", "data-summary-url"}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value and value.startswith("/"):
                self.urls.add(value)


def urls_in(html: str) -> set[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def dashboard(admin_user):
    dry = import_bytes(dry_run=True, created_by=admin_user)  # with violations and results
    ImportRunFactory(
        status=ImportRun.Status.RUNNING, parent_run=dry, kind=ImportRun.Kind.REPLAY, dry_run=True
    )
    ImportRunFactory(status=ImportRun.Status.FAILED, error_message="The file is empty.")
    return dry


def dashboard_pages(dry):
    return [
        reverse("admin:runs_importrun_changelist"),
        reverse("admin:runs_importrun_changelist") + "?status__exact=partial&created=7d",
        reverse("admin:runs_importrun_change", args=[dry.pk]),
        reverse("admin:runs_importrun_change", args=[ImportRun.objects.get(status="failed").pk]),
        reverse("admin:runs_importrun_add"),
        reverse("admin:runs_importrun_summary"),
        reverse("admin:runs_importrun_summary") + "?status__exact=partial",
    ]


def test_every_url_in_the_dashboard_answers_without_a_500(admin_client, dashboard):
    seen: set[str] = set()
    for page in dashboard_pages(dashboard):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        seen |= urls_in(response.content.decode())
    ours = {url for url in seen if url.startswith("/admin/runs/") or url.startswith("/admin/dq/")}
    assert reverse("admin:runs_importrun_progress") in seen
    assert any(url.startswith(reverse("admin:runs_importrun_summary")) for url in seen)
    assert any(
        url.startswith("/admin/dq/violation/?run=") and "code=" in url and "field=" in url
        for url in seen
    )
    assert any(url.endswith("/file/") for url in ours) and any(
        url.endswith("/results/") for url in ours
    )
    assert any(url.endswith("/run-for-real/") for url in ours)
    for url in sorted(seen):
        if url.startswith(settings.STATIC_URL) or url.startswith("/" + settings.STATIC_URL):
            path = url.split("/static/", 1)[1].split("?")[0]
            assert finders.find(path), url
            continue
        if url.startswith("/admin/logout/"):
            continue
        response = admin_client.get(url)
        assert response.status_code < 500, (url, response.status_code)


def test_the_progress_url_the_page_gives_the_script_answers_json(admin_client, dashboard):
    html = admin_client.get(reverse("admin:runs_importrun_changelist")).content.decode()
    progress_url = re.search(r'data-progress-url="([^"]+)"', html).group(1)
    ids = re.findall(r'data-run-id="(\d+)" data-finished="0"', html)
    assert ids, "the running run is watched"
    response = admin_client.get(progress_url, {"ids": ",".join(ids)})
    assert response.status_code == 200
    assert [row["status"] for row in response.json()["runs"]] == ["running"]
    assert admin_client.get(progress_url, {"ids": "1,x"}).status_code == 400
    assert admin_client.get(progress_url).json() == {"runs": []}


def test_the_summary_url_carries_the_lists_filters(admin_client, dashboard):
    html = admin_client.get(
        reverse("admin:runs_importrun_changelist"), {"status__exact": "failed"}
    ).content.decode()
    summary_url = re.search(r'data-summary-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert summary_url.endswith("?status__exact=failed")
    response = admin_client.get(summary_url)
    assert response.status_code == 200
    assert response.context["summary"]["total"] == 1
    assert (
        admin_client.get(reverse("admin:runs_importrun_summary"), {"created": "bogus"}).status_code
        == 400
    )


def test_scripts_hold_no_urls_of_their_own():
    for script in Path(settings.BASE_DIR, "runs", "static", "runs").glob("*.js"):
        text = script.read_text()
        assert "/admin" not in text and "http" not in text, script.name


def test_json_and_summary_need_the_view_permission(client, dashboard):
    client.force_login(UserFactory(viewer=True))
    assert client.get(reverse("admin:runs_importrun_progress")).status_code == 403
    assert client.get(reverse("admin:runs_importrun_summary")).status_code == 403
    assert client.get(reverse("admin:runs_importrun_changelist")).status_code == 403


def test_open_violations_link_into_the_inbox_only_when_the_counts_match(admin_client, dashboard):
    summary = reverse("admin:runs_importrun_summary")
    inbox = reverse("admin:dq_violation_changelist")
    assert f'href="{inbox}"' in admin_client.get(summary).content.decode()
    assert (
        f'href="{inbox}"'
        not in admin_client.get(summary, {"status__exact": "partial"}).content.decode()
    )
    assert f'href="{inbox}"' not in admin_client.get(summary, {"q": "orgs"}).content.decode()


def test_open_violations_of_one_target_and_source_link_to_that_inbox(admin_client, dashboard):
    """The card's count and the inbox it links to agree: the list filtered
    by target and source, the inbox filtered the same way."""
    # A real import (its quarantined rows are open violations), from a source
    # of its own: the fixture holds a running run of crm, which would go first.
    run = import_bytes(source="erp")
    params = {"target": run.target, "source__id__exact": str(run.source_id)}
    html = admin_client.get(reverse("admin:runs_importrun_summary"), params).content.decode()
    href = re.search(r'<a href="([^"]+)">([\d,]+)</a>', html)
    assert href is not None, html
    inbox = admin_client.get(href.group(1).replace("&amp;", "&"))
    assert inbox.status_code == 200
    shown = inbox.context["cl"].result_count
    assert shown == int(href.group(2).replace(",", "")) > 0
