"""Admin views outside a ModelAdmin, mounted at /admin/imports/: the
remediation dashboard (HTML) and its numbers as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from dq import charts, stats
from dq.models import Violation
from ingest.models import Source

STATS_PERMISSION = "dq.view_violation"
PERIODS = {"7d": "7 days", "30d": "30 days", "90d": "90 days"}


@require_GET
def remediation_stats_view(request: HttpRequest) -> JsonResponse:
    """Remediation stats as JSON (``?since=2026-01-01`` or ``?since=7d``;
    default: the last 30 days). Staff with view permission on violations."""
    if not request.user.has_perm(STATS_PERMISSION):
        raise PermissionDenied
    try:
        since = stats.parse_since(request.GET.get("since"))
    except ValueError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse(stats.remediation_stats(since=since))


@require_GET
def remediation_dashboard_view(request: HttpRequest) -> HttpResponse:
    """How remediation goes: success rate and median time to fix per day and
    by target, source and rule; how runs go: duration p50/p95 per day and
    the failure rate per source. Charts are SVG drawn here (dq.charts)."""
    if not request.user.has_perm(STATS_PERMISSION):
        raise PermissionDenied
    period = request.GET.get("since") or "30d"
    error = None
    try:
        since = stats.parse_since(period)
    except ValueError as exc:
        error, period = str(exc), "30d"
        since = stats.parse_since(period)
    figures = stats.remediation_stats(since=since)
    daily = stats.remediation_daily(since=since)
    health = stats.run_health(since=since)
    labels = [day["day"].strftime("%b %-d") for day in daily]
    inbox = reverse("admin:dq_violation_changelist")
    sources = {source.slug: source for source in Source.objects.only("pk", "slug", "name")}

    def source_query(slug: str) -> dict[str, Any]:
        return {"source__id__exact": sources[slug].pk if slug in sources else ""}

    def source_name(slug: str) -> str:
        return sources[slug].display_name if slug in sources else slug

    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Remediation dashboard",
        "error": error,
        "period": period,
        "periods": [
            {"key": key, "label": label, "current": key == period} for key, label in PERIODS.items()
        ],
        "stats": figures,
        "median_text": charts.duration_text(figures["median_time_to_fix_s"]),
        "success_text": charts.percent_text(figures["success_rate"]),
        "json_url": reverse("dq_remediation_stats") + "?" + urlencode({"since": period}),
        "success_chart": charts.line_chart(
            title="Requeue success rate per day",
            labels=labels,
            series=[charts.Series("resolved / results", [d["success_rate"] for d in daily])],
            fmt=lambda value: f"{value:.0%}",
            y_max=1.0,
        ),
        "fix_chart": charts.line_chart(
            title="Median time to fix per day",
            labels=labels,
            series=[charts.Series("found → resolved", [d["median_time_to_fix_s"] for d in daily])],
            fmt=charts.duration_text,
        ),
        "duration_chart": charts.line_chart(
            title="Run duration per day",
            labels=labels,
            series=[
                charts.Series("p50", [d["p50_s"] for d in health["by_day"]]),
                charts.Series("p95", [d["p95_s"] for d in health["by_day"]]),
            ],
            fmt=charts.duration_text,
        ),
        "breakdowns": [
            _breakdown("Target", figures["by_target"], lambda key: {"target": key}, inbox),
            _breakdown("Source", figures["by_source"], source_query, inbox, label=source_name),
            _breakdown("Rule", figures["by_rule"], lambda key: {"code": key}, inbox),
        ],
        "failures": [
            {
                **row,
                "label": source_name(row["source"]),
                "rate_text": charts.percent_text(row["failure_rate"]),
                "bar": charts.bar(row["failure_rate"]),
                "runs_url": reverse("admin:runs_importrun_changelist")
                + "?"
                + urlencode(source_query(row["source"])),
            }
            for row in health["by_source"]
        ],
    }
    return TemplateResponse(request, "admin/dq/remediation.html", context)


def _breakdown(
    name: str,
    rows: dict[str, Any],
    query: Callable[[str], dict[str, Any]],
    inbox: str,
    *,
    label: Callable[[str], str] = str,
) -> dict[str, Any]:
    """One table of the dashboard: a row per key (shown as ``label`` gives
    it) with its counts, success rate (with a bar) and a link to its open
    violations in the inbox."""
    return {
        "name": name,
        "rows": [
            {
                "key": key,
                "label": label(key),
                **summary,
                "rate_text": charts.percent_text(summary["success_rate"]),
                "bar": charts.bar(summary["success_rate"]),
                "median_text": charts.duration_text(summary["median_time_to_fix_s"]),
                "inbox_url": f"{inbox}?{urlencode({'status': Violation.Status.OPEN, **query(key)})}",
            }
            for key, summary in rows.items()
        ],
    }
