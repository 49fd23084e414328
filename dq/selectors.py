"""Reads for the DQ inbox: masking of payload values and remediation stats."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, TextField
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from dq.models import RemediationAudit, Violation
from ingest.models import ExternalIdMap
from runs.models import ImportRun

MASK = "•••"
PAYLOAD_PERMISSION = "dq.view_payload"
DEFAULT_STATS_DAYS = 30
BAD_SINCE = (
    "Give since as an ISO date or date-time (for example 2026-01-31), or a number of days like 7d."
)


def can_view_payload(user: User | AnonymousUser) -> bool:
    return user.has_perm(PAYLOAD_PERMISSION)


def mask_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Field names stay (a steward's colleague can see what is wrong where),
    values do not: payloads can hold personal data."""
    return {
        key: (MASK if value not in (None, "") else value) for key, value in (payload or {}).items()
    }


def payload_for(user: User | AnonymousUser, payload: dict[str, Any] | None) -> dict[str, Any]:
    return dict(payload or {}) if can_view_payload(user) else mask_payload(payload)


def violations_inbox(*, run_id: int | None = None) -> QuerySet[Violation]:
    """The inbox's rows: standard runs' violations; a dry run's only when
    asking for that run (the dashboard links there)."""
    # Not the run: a remediation run's parameters hold thousands of ids.
    queryset = Violation.objects.select_related("source", "assignee")
    if run_id is None:
        return queryset.filter(dry_run=False)
    return queryset.filter(run_id=run_id)


@dataclass
class RequeueOutcome:
    finished: bool
    resolved: int = 0
    failed_again: int = 0
    not_reached: int = 0


def requeue_outcome(*, run_ids: list[int]) -> RequeueOutcome:
    """What came of the requeue in these remediation runs, once they all
    finished (with synchronous jobs, right after the requeue)."""
    from_runs = ImportRun.objects.filter(pk__in=run_ids)
    if not run_ids or from_runs.exclude(status__in=ImportRun.FINISHED).exists():
        return RequeueOutcome(finished=False)
    counts = dict(
        Violation.objects.filter(remediation_run_id__in=run_ids)
        .values_list("requeue_outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    return RequeueOutcome(
        finished=True,
        resolved=counts.get(Violation.RequeueOutcome.RESOLVED, 0),
        failed_again=counts.get(Violation.RequeueOutcome.FAILED_AGAIN, 0),
        not_reached=counts.get(None, 0),
    )


def violation_record_id(violation: Violation) -> int | None:
    """The core record a violation's row was imported into (through the
    external id map), once it is resolved; None without one."""
    if not violation.external_id or violation.dry_run:
        return None
    return (
        ExternalIdMap.objects.filter(
            source_id=violation.source_id,
            target=violation.target,
            external_id=violation.external_id,
        )
        .values_list("record_id", flat=True)
        .first()
    )


def violation_next(queryset: QuerySet[Violation], *, after: Violation) -> Violation | None:
    """The violation after ``after`` in the inbox's order (newest first)
    among ``queryset`` (the inbox's filter), wrapping round to the newest;
    None when nothing else matches."""
    others = queryset.exclude(pk=after.pk).order_by("-pk")
    return others.filter(pk__lt=after.pk).first() or others.first()


@dataclass
class Change:
    field: str
    before: Any
    after: Any


def audit_changes(before: Any, after: Any) -> list[Change]:
    """Only what an audit row changed, field by field: before/after hold
    whole payloads for an edit, one field for a bulk edit, the errors for a
    result. A row with one side only (a requeue keeps the payload it sent)
    is a snapshot, not a change: nothing to show. Non-objects compare as
    one value."""
    if before is None or after is None:
        return []
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [] if before == after else [Change("", before, after)]
    return [
        Change(name, before.get(name), after.get(name))
        for name in list(before) + [key for key in after if key not in before]
        if before.get(name) != after.get(name)
    ]


REMEDIATION_LIST_LIMIT = 500


def remediation_run_violations(
    *, run_id: int, limit: int = REMEDIATION_LIST_LIMIT
) -> list[Violation]:
    """The violations a remediation run took, with what came of each, in its row order."""
    return list(
        Violation.objects.filter(remediation_run_id=run_id)
        .only("pk", "external_id", "status", "requeue_outcome", "errors", "run_id", "row_number")
        .order_by("pk")[:limit]
    )


def code_filter(code: str) -> Q:
    """Match one rule code in the comma-separated ``codes`` column."""
    return (
        Q(codes=code)
        | Q(codes__startswith=f"{code},")
        | Q(codes__endswith=f",{code}")
        | Q(codes__contains=f",{code},")
    )


def field_filter(field_name: str) -> Q:
    return Q(error_fields__contains=f",{field_name},")


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


def violations_search(
    queryset: QuerySet[Violation], *, term: str, in_payload: bool
) -> QuerySet[Violation]:
    """External id (exact or prefix, on its index) and, when allowed, text
    anywhere in the payload, case-insensitive. On PostgreSQL that is
    ``UPPER(payload::text) LIKE``, which a trigram index on the same
    expression (migration 0005) serves at a million rows."""
    term = term.strip()[:200]
    if not term:
        return queryset
    match = Q(external_id=term) | Q(external_id__startswith=term)
    if in_payload:
        queryset = queryset.annotate(payload_text=Cast("payload", TextField()))
        match |= Q(payload_text__icontains=term)
    return queryset.filter(match)


GROUP_EXAMPLES = 5
GROUPS_LIMIT = 500


def violation_groups(
    *,
    status: str | None = Violation.Status.OPEN,
    target: str | None = None,
    source: str | None = None,
    can_view_payload: bool = True,
) -> list[dict[str, Any]]:
    """Violations counted by (target, source, field, rule code), most first,
    each with a few of the field's distinct offending values (masked without
    payload permission): what "fix once for all alike" starts from. The
    database unnests each violation's errors and groups (jsonb on
    PostgreSQL, json_each on SQLite); dry runs' violations are left out."""
    where = ["NOT v.dry_run"]
    params: list[Any] = []
    if status:
        where.append("v.status = %s")
        params.append(status)
    if target:
        where.append("v.target = %s")
        params.append(target)
    if source:
        where.append("s.slug = %s")
        params.append(source)
    if connection.vendor == "postgresql":
        code, field = "e.value ->> 'code'", "e.value ->> 'field'"
        unnest = "jsonb_array_elements(v.errors) AS e(value)"
        examples = f"(array_agg(DISTINCT v.payload ->> ({field})) FILTER (WHERE v.payload ->> ({field}) IS NOT NULL))[1:{GROUP_EXAMPLES}]"
    else:
        code, field = "json_extract(e.value, '$.code')", "json_extract(e.value, '$.field')"
        unnest = "json_each(v.errors) AS e"
        examples = f"json_group_array(DISTINCT json_extract(v.payload, '$.\"' || {field} || '\"'))"
    sql = f"""
        SELECT v.target, s.slug, {field} AS field, {code} AS code, COUNT(DISTINCT v.id) AS n, {examples}
        FROM dq_violation v JOIN ingest_source s ON s.id = v.source_id, {unnest}
        WHERE {" AND ".join(where)}
        GROUP BY v.target, s.slug, {field}, {code}
        ORDER BY n DESC, v.target, s.slug, field, code
        LIMIT {GROUPS_LIMIT}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    groups = []
    for target_name, source_slug, field_name, code_name, count, values in rows:
        if isinstance(values, str):
            values = json.loads(values)
        values = sorted({value for value in values or () if value is not None}, key=str)[
            :GROUP_EXAMPLES
        ]
        groups.append(
            {
                "target": target_name,
                "source": source_slug,
                "field": field_name or "",
                "code": code_name or "",
                "count": count,
                "examples": values if can_view_payload else [MASK for _ in values],
            }
        )
    return groups


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
