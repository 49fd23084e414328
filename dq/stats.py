"""Remediation figures: outcomes of requeues and ignores, success rate and
time to fix (overall and by target, source and rule), per day for the
remediation dashboard, and run health (duration percentiles, failure rate
per source). Read by the inbox's cards, the dashboard, its JSON endpoint
and the API's stats endpoint."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from dq.models import RemediationAudit
from runs.models import ImportRun

DEFAULT_STATS_DAYS = 30
BAD_SINCE = (
    "Give since as an ISO date or date-time (for example 2026-01-31), or a number of days like 7d."
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_since(value: str | None, *, now: dt.datetime | None = None) -> dt.datetime:
    """``?since=`` as an ISO date/date-time or ``Nd`` (days back); default 30 days."""
    now = now or timezone.now()
    if value is None:
        return now - dt.timedelta(days=DEFAULT_STATS_DAYS)
    value = value.strip()
    if value.endswith("d") and value[:-1].isdigit():
        return now - dt.timedelta(days=min(int(value[:-1]), 36500))
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(BAD_SINCE) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    try:
        parsed = parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(BAD_SINCE) from None
    # Nothing happened before the epoch; a far-past date means "everything"
    # (and odd ancient offsets never reach the database).
    return max(parsed, EPOCH)


def _outcome(action: str, outcome: str) -> str | None:
    if action == "requeue":
        return "requeued"
    if action == "ignore":
        return "ignored"
    if action == RemediationAudit.Action.RESULT:
        results: dict[str, str] = {
            RemediationAudit.Outcome.RESOLVED: "resolved",
            RemediationAudit.Outcome.FAILED: "failed_again",
        }
        return results.get(outcome)
    return None


OUTCOMES = ("requeued", "resolved", "failed_again", "ignored")


def _summary(counts: Counter) -> dict[str, Any]:
    done = counts["resolved"] + counts["failed_again"]
    return {
        **{name: counts[name] for name in OUTCOMES},
        "success_rate": round(counts["resolved"] / done, 4) if done else None,
    }


def remediation_stats(*, since: dt.datetime, breakdown: bool = True) -> dict[str, Any]:
    """Counts by outcome (requeued, resolved, failed again, ignored), success
    rate (resolved / results), median time to fix (violation found →
    resolved), for audit rows since ``since``; with ``breakdown``, also by
    target, source and rule, each with its own median time to fix (a join
    over the period's audit rows: the JSON endpoints and the dashboard ask
    for it, the inbox's cards do not)."""
    audits = RemediationAudit.objects.filter(
        created_at__gte=since,
        action__in=[
            RemediationAudit.Action.REQUEUE,
            RemediationAudit.Action.IGNORE,
            RemediationAudit.Action.RESULT,
        ],
    )
    total: Counter = Counter()
    for row in audits.values("action", "outcome").annotate(n=Count("id")).order_by():
        outcome = _outcome(row["action"], row["outcome"])
        if outcome is not None:
            total[outcome] += row["n"]
    ages = [
        age
        for age in audits.filter(
            action=RemediationAudit.Action.RESULT,
            outcome=RemediationAudit.Outcome.RESOLVED,
            time_to_fix_s__isnull=False,
        )
        .values_list("time_to_fix_s", flat=True)
        .iterator()
        if age is not None  # as filtered: the column is nullable
    ]
    stats = {
        "since": since.isoformat(),
        **_summary(total),
        "median_time_to_fix_s": round(statistics.median(ages), 1) if ages else None,
    }
    if breakdown:
        stats.update(_breakdown(audits))
    return stats


def _breakdown(audits: QuerySet[RemediationAudit]) -> dict[str, Any]:
    grouped = (
        audits.values(
            "action",
            "outcome",
            target=F("violation__target"),
            source=F("violation__source__slug"),
            codes=F("violation__codes"),
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    by: dict[str, dict[str, Counter]] = {
        "target": defaultdict(Counter),
        "source": defaultdict(Counter),
        "rule": defaultdict(Counter),
    }
    for row in grouped:
        outcome = _outcome(row["action"], row["outcome"])
        if outcome is None:
            continue
        by["target"][row["target"]][outcome] += row["n"]
        by["source"][row["source"]][outcome] += row["n"]
        for code in filter(None, (row["codes"] or "").split(",")):
            by["rule"][code][outcome] += row["n"]
    fixes: dict[str, dict[str, list[float]]] = {
        "target": defaultdict(list),
        "source": defaultdict(list),
        "rule": defaultdict(list),
    }
    for target, source, codes, seconds in (
        audits.filter(
            action=RemediationAudit.Action.RESULT,
            outcome=RemediationAudit.Outcome.RESOLVED,
            time_to_fix_s__isnull=False,
        )
        .values_list(
            "violation__target", "violation__source__slug", "violation__codes", "time_to_fix_s"
        )
        .iterator()
    ):
        if seconds is None:  # filtered out above; the type does not know
            continue
        fixes["target"][target].append(seconds)
        fixes["source"][source].append(seconds)
        for code in filter(None, (codes or "").split(",")):
            fixes["rule"][code].append(seconds)

    def summaries(kind: str) -> dict[str, Any]:
        return {
            key: {
                **_summary(value),
                "median_time_to_fix_s": round(statistics.median(fixes[kind][key]), 1)
                if fixes[kind].get(key)
                else None,
            }
            for key, value in sorted(by[kind].items())
        }

    return {
        "by_target": summaries("target"),
        "by_source": summaries("source"),
        "by_rule": summaries("rule"),
    }


# The remediation dashboard (/admin/imports/remediation/): series per day
# over the period. Counts are grouped in the database (TruncDate, COUNT …
# FILTER); percentiles are read from one column per day and computed here,
# since SQLite has no percentile function. Both work on SQLite and PostgreSQL.


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def _days(since: dt.datetime, now: dt.datetime) -> list[dt.date]:
    first, last = timezone.localtime(since).date(), timezone.localtime(now).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def remediation_daily(
    *, since: dt.datetime, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Per day since ``since``: requeue results (resolved, failed again), the
    success rate, and the median time to fix of the rows resolved that day."""
    now = now or timezone.now()
    results = RemediationAudit.objects.filter(
        created_at__gte=since, action=RemediationAudit.Action.RESULT
    ).annotate(day=TruncDate("created_at"))
    counts: dict[dt.date, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in results.values("day")
        .annotate(
            resolved=Count("id", filter=Q(outcome=RemediationAudit.Outcome.RESOLVED)),
            failed_again=Count("id", filter=Q(outcome=RemediationAudit.Outcome.FAILED)),
        )
        .order_by()
    }
    fixes: dict[dt.date, list[float]] = defaultdict(list)
    for day, seconds in (
        results.filter(outcome=RemediationAudit.Outcome.RESOLVED, time_to_fix_s__isnull=False)
        .values_list("day", "time_to_fix_s")
        .order_by("time_to_fix_s")
        .iterator()
    ):
        if seconds is not None:  # filtered out above; the type does not know
            fixes[day].append(seconds)
    series = []
    for day in _days(since, now):
        row = counts.get(day, {})
        resolved, failed = row.get("resolved", 0), row.get("failed_again", 0)
        series.append(
            {
                "day": day,
                "resolved": resolved,
                "failed_again": failed,
                "success_rate": resolved / (resolved + failed) if resolved + failed else None,
                "median_time_to_fix_s": statistics.median(fixes[day]) if fixes[day] else None,
            }
        )
    return series


def run_health(*, since: dt.datetime, now: dt.datetime | None = None) -> dict[str, Any]:
    """Finished runs since ``since`` (dry runs too: they are runs an operator
    waits for): duration p50/p95 per day, and the failure rate per source."""
    now = now or timezone.now()
    finished = ImportRun.objects.filter(
        finished_at__gte=since, status__in=ImportRun.FINISHED
    ).annotate(day=TruncDate("finished_at"))
    durations: dict[dt.date, list[float]] = defaultdict(list)
    for day, duration in (
        finished.filter(started_at__isnull=False)
        .annotate(duration=ExpressionWrapper(F("finished_at") - F("started_at"), DurationField()))
        .values_list("day", "duration")
        .order_by("duration")
        .iterator()
    ):
        if duration is not None:
            durations[day].append(duration.total_seconds())
    by_day = [
        {
            "day": day,
            "runs": len(durations[day]),
            "p50_s": percentile(durations[day], 0.5),
            "p95_s": percentile(durations[day], 0.95),
        }
        for day in _days(since, now)
    ]
    by_source = [
        {
            "source": row["source__slug"],
            "runs": row["runs"],
            "failed": row["failed"],
            "failure_rate": row["failed"] / row["runs"] if row["runs"] else None,
        }
        for row in finished.values("source__slug")
        .annotate(runs=Count("id"), failed=Count("id", filter=Q(status=ImportRun.Status.FAILED)))
        .order_by("source__slug")
    ]
    return {"by_day": by_day, "by_source": by_source}
