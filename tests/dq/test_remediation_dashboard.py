"""Issue 19: the remediation dashboard at /admin/imports/remediation/ (HTML,
server-drawn SVG charts) beside its JSON, and the figures it reads (dq.stats)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dq import charts, services, stats
from dq.models import RemediationAudit, Violation
from ingest.models import Source
from runs.models import ImportRun
from tests.importing import violation_at

pytestmark = pytest.mark.django_db

URL = "/admin/imports/remediation/"


@pytest.fixture
def remediated(rules_run, requeue, steward):
    """One row fixed and resolved, one requeued unfixed (fails again)."""
    fixed = violation_at(rules_run, 4)
    services.violation_edit(violation=fixed, payload={**fixed.payload, "email": ""}, actor=steward)
    requeue(Violation.objects.filter(pk__in=[fixed.pk, violation_at(rules_run, 5).pk]), steward)
    return rules_run


def test_the_dashboard_renders_charts_and_tables(steward_client, remediated):
    assert reverse("dq_remediation_dashboard") == URL
    response = steward_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 3 + 2  # three charts, and rate bars
    for title in (
        "Requeue success rate per day",
        "Median time to fix per day",
        "Run duration per day",
        "By target",
        "By source",
        "By rule",
        "failure rate per source",
    ):
        assert title in page, title
    assert "50%" in page  # one resolved of two results
    cards = page.split('class="dq-cards"')[1].split("</section>")[0]
    for count, outcome in ((2, "requeued"), (1, "resolved"), (1, "failed again"), (0, "ignored")):
        assert f'<span class="dq-card-n">{count}</span> {outcome}' in cards, outcome
    assert page.count("median time to fix</th>") == 3  # per target, source and rule
    inbox = reverse("admin:dq_violation_changelist")
    assert f'href="{inbox}?status=open&amp;code=invalid_format"' in page
    assert f'href="{inbox}?status=open&amp;target=organization"' in page
    assert "<script" not in page.split('id="content-main"')[1]  # no chart library
    assert 'href="/admin/imports/remediation/stats/?since=30d"' in page


def test_the_period_is_chosen_and_a_bad_one_is_said(steward_client, remediated):
    week = steward_client.get(URL, {"since": "7d"}).content.decode()
    assert '<strong aria-current="true">last 7 days</strong>' in week
    bad = steward_client.get(URL, {"since": "whenever"})
    assert bad.status_code == 200 and stats.BAD_SINCE in bad.content.decode()


def test_only_staff_who_see_violations_reach_it(client, nobody, remediated):
    assert client.get(URL).status_code == 302  # to the login
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_the_inbox_cards_link_to_the_dashboard(steward_client, remediated):
    page = steward_client.get("/admin/dq/violation/").content.decode()
    assert f'href="{URL}"' in page and "median time to fix" in page


def test_the_breakdowns_have_their_own_median_time_to_fix(remediated):
    figures = stats.remediation_stats(since=timezone.now() - dt.timedelta(days=1))
    assert figures["by_rule"]["invalid_format"]["median_time_to_fix_s"] is not None
    assert figures["by_rule"]["invalid_choice"]["median_time_to_fix_s"] is None  # failed again
    assert figures["by_target"]["organization"]["median_time_to_fix_s"] is not None


def test_remediation_daily_counts_each_day(remediated):
    now = timezone.now()
    days = stats.remediation_daily(since=now - dt.timedelta(days=2), now=now)
    assert len(days) == 3 and days[0]["success_rate"] is None
    today = days[-1]
    assert (today["resolved"], today["failed_again"], today["success_rate"]) == (1, 1, 0.5)
    assert today["median_time_to_fix_s"] is not None


def test_run_health_percentiles_and_failure_rate(remediated):
    now = timezone.now()
    ImportRun.objects.update(started_at=now - dt.timedelta(seconds=10), finished_at=now)
    slowest = ImportRun.objects.order_by("pk").first()
    ImportRun.objects.filter(pk=slowest.pk).update(
        started_at=now - dt.timedelta(seconds=100), status=ImportRun.Status.FAILED
    )
    health = stats.run_health(since=now - dt.timedelta(days=1), now=now)
    today = health["by_day"][-1]
    runs = ImportRun.objects.count()
    assert today["runs"] == runs and today["p50_s"] == 10 and today["p95_s"] == 100
    (crm,) = [row for row in health["by_source"] if row["source"] == "crm"]
    assert crm["failed"] == 1 and crm["failure_rate"] == pytest.approx(1 / crm["runs"])


def test_percentile_is_nearest_rank():
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert stats.percentile([float(n) for n in range(1, 101)], 0.95) == 95.0


def test_a_line_chart_leaves_gaps_and_escapes_its_words():
    svg = charts.line_chart(
        title="<b>rate</b>",
        labels=["a", "b", "c", "d"],
        series=[charts.Series("s", [0.5, None, 0.2, 0.4])],
    )
    assert "&lt;b&gt;rate&lt;/b&gt;" in svg and "<b>" not in svg
    assert svg.count("<circle") == 1 and svg.count("<polyline") == 1
    empty = charts.line_chart(title="t", labels=[], series=[charts.Series("s", [])])
    assert "No data in this period" in empty


def test_durations_and_rates_read_as_words():
    assert [charts.duration_text(s) for s in (None, 0, 0.25, 1.25, 5, 600, 7200, 3 * 86400)] == [
        "—",
        "0 s",
        "250 ms",
        "1.2 s",
        "5 s",
        "10 min",
        "2.0 h",
        "3.0 days",
    ]
    assert charts.percent_text(0.456) == "46%" and charts.percent_text(None) == "—"


def test_audit_rows_outside_the_period_are_left_out(remediated):
    RemediationAudit.objects.update(created_at=timezone.now() - dt.timedelta(days=40))
    days = stats.remediation_daily(since=timezone.now() - dt.timedelta(days=30))
    assert sum(day["resolved"] + day["failed_again"] for day in days) == 0


def test_sources_are_shown_by_name_and_link_by_id(steward_client, remediated):
    source = Source.objects.get(slug="crm")
    Source.objects.filter(pk=source.pk).update(name="CRM export")
    page = steward_client.get(URL).content.decode()
    inbox = reverse("admin:dq_violation_changelist")
    assert f'href="{inbox}?status=open&amp;source__id__exact={source.pk}">CRM export</a>' in page
    runs = reverse("admin:runs_importrun_changelist")
    assert f'href="{runs}?source__id__exact={source.pk}">CRM export</a>' in page
    assert ">crm</a>" not in page
