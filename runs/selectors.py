"""Reads for the runs dashboard: summary cards, the violations breakdown of a
run, live progress. Aggregates run in the database, never in Python loops,
so they cost the same whether a filter matches ten runs or a hundred thousand.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.utils import timezone

from dq.models import Violation
from runs import progress as live_progress
from runs import quarantine
from runs.models import ImportRun

PERCENTILES = (0.5, 0.95)
PROGRESS_MAX_IDS = 200


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``percentile_cont(f) WITHIN GROUP
    (ORDER BY expr)``: the interpolated percentile, computed by the database."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())


def run_duration_percentiles(*, queryset: QuerySet[ImportRun]) -> dict[float, timedelta | None]:
    """p50/p95 of finished runs' durations (started → finished), interpolated
    like ``percentile_cont``: PostgreSQL computes them itself, other
    databases through a sort with OFFSET."""
    timed = queryset.filter(started_at__isnull=False, finished_at__isnull=False).order_by()
    if connection.vendor == "postgresql":
        return percentiles_postgresql(timed)
    return percentiles_portable(timed)


def percentiles_postgresql(timed: QuerySet[ImportRun]) -> dict[float, timedelta | None]:
    """One aggregate query with percentile_cont per percentile."""
    aggregates = {
        f"p{index}": PercentileCont(_duration(), p, output_field=DurationField())
        for index, p in enumerate(PERCENTILES)
    }
    row = timed.aggregate(**aggregates)
    return {p: row[f"p{index}"] for index, p in enumerate(PERCENTILES)}


def percentiles_portable(timed: QuerySet[ImportRun]) -> dict[float, timedelta | None]:
    """A count, then per percentile the two neighbouring durations with
    ORDER BY duration LIMIT 2 OFFSET k; Python only interpolates between them."""
    total = timed.count()
    durations = (
        timed.annotate(duration=_duration()).order_by("duration").values_list("duration", flat=True)
    )
    result: dict[float, timedelta | None] = {}
    for p in PERCENTILES:
        if not total:
            result[p] = None
            continue
        position = (total - 1) * p
        low = math.floor(position)
        values = list(durations[low : low + 2])
        if len(values) == 1 or position == low:
            result[p] = values[0]
        else:
            result[p] = values[0] + (values[1] - values[0]) * (position - low)
    return result


def run_summary(*, queryset: QuerySet[ImportRun]) -> dict[str, Any]:
    """The summary cards for a (filtered) run queryset: runs by status, dry
    runs, rows imported and quarantined in one aggregate query; the duration
    percentiles; open violations of those runs."""
    counts = {
        f"status_{status}": Count("pk", filter=Q(status=status))
        for status in ImportRun.Status.values
    }
    row = queryset.order_by().aggregate(
        total=Count("pk"),
        dry_runs=Count("pk", filter=Q(dry_run=True)),
        rows_imported=Coalesce(Sum(F("inserted") + F("updated"), filter=Q(dry_run=False)), 0),
        rows_quarantined=Coalesce(Sum("quarantined"), 0),
        **counts,
    )
    percentiles = run_duration_percentiles(queryset=queryset)
    if queryset.query.where:
        violations = Violation.objects.filter(run__in=queryset.order_by().values("pk"))
    else:
        violations = Violation.objects.all()
    return {
        "total": row["total"],
        "by_status": [
            {"status": status, "label": label, "count": row[f"status_{status}"]}
            for status, label in ImportRun.Status.choices
        ],
        "dry_runs": row["dry_runs"],
        "rows_imported": row["rows_imported"],
        "rows_quarantined": row["rows_quarantined"],
        "duration_p50": percentiles[0.5],
        "duration_p95": percentiles[0.95],
        # As the inbox counts them: a dry run's rows are not waiting for anyone.
        "open_violations": violations.filter(status=Violation.Status.OPEN, dry_run=False).count(),
    }


def run_violation_breakdown(*, run: ImportRun) -> list[dict[str, Any]]:
    """The run's quarantined rows counted by (rule code, field), most
    frequent first: ``count`` from the run's own results file (its rows,
    whatever later runs did: ``runs.quarantine``), ``open`` the open
    violations the run was the last to see (what the inbox's ``run=``
    filter lists). A dry run, or a run without its results file, counts the
    violations it last saw."""
    own = quarantine.run_quarantine_breakdown(run=run)
    last_seen = _last_seen_breakdown(run=run)
    if own is None:
        return last_seen
    open_counts = {(row["code"], row["field"]): row["open"] for row in last_seen}
    return [
        {"code": code, "field": name, "count": n, "open": open_counts.get((code, name), 0)}
        for code, name, n in own
    ]


def _last_seen_breakdown(*, run: ImportRun) -> list[dict[str, Any]]:
    """Violations whose latest run is this one counted by (rule code, field), all and open,
    most frequent first. Each violation's ``errors`` is a JSON list; the database unnests it
    (jsonb_array_elements on PostgreSQL, json_each on SQLite) and groups."""
    if connection.vendor == "postgresql":
        sql = """
            SELECT e.value ->> 'code' AS code, e.value ->> 'field' AS field, COUNT(*) AS n,
                   SUM(CASE WHEN v.status = %s THEN 1 ELSE 0 END) AS n_open
            FROM dq_violation v, jsonb_array_elements(v.errors) AS e(value)
            WHERE v.run_id = %s GROUP BY 1, 2 ORDER BY n DESC, code, field
        """
    else:
        sql = """
            SELECT json_extract(e.value, '$.code') AS code, json_extract(e.value, '$.field') AS field,
                   COUNT(*) AS n, SUM(CASE WHEN v.status = %s THEN 1 ELSE 0 END) AS n_open
            FROM dq_violation v, json_each(v.errors) AS e
            WHERE v.run_id = %s GROUP BY 1, 2 ORDER BY n DESC, code, field
        """
    with connection.cursor() as cursor:
        cursor.execute(sql, [Violation.Status.OPEN, run.pk])
        return [
            {"code": code or "", "field": field or "", "count": n, "open": n_open or 0}
            for code, field, n, n_open in cursor.fetchall()
        ]


def run_progress(*, ids: list[int], now: datetime | None = None) -> list[dict[str, Any]]:
    """What live progress needs for a few runs, in one query (plus one for
    replays' parent totals and one cache read for running dry runs): the
    counters, rows processed of (an estimate of) the total, the rate and the
    time left."""
    now = now or timezone.now()
    runs = list(
        ImportRun.objects.filter(pk__in=ids[:PROGRESS_MAX_IDS]).only(
            "pk",
            "status",
            "dry_run",
            "rows_processed",
            "rows_total",
            "inserted",
            "updated",
            "unchanged",
            "skipped",
            "quarantined",
            "started_at",
            "finished_at",
            "parent_run_id",
            "file_sha256",
            "ingest_params_json",
        )
    )
    running = [run for run in runs if run.status == ImportRun.Status.RUNNING]
    noted = live_progress.dry_run_progress(run_ids=[run.pk for run in running if run.dry_run])
    parent_totals = dict(
        ImportRun.objects.filter(
            pk__in={run.parent_run_id for run in running if run.parent_run_id},
            status__in=ImportRun.FINISHED,
        )
        .exclude(status=ImportRun.Status.CANCELLED)
        .values_list("pk", "rows_total")
    )
    labels = dict(ImportRun.Status.choices)
    return [_progress_of(run, labels, noted, parent_totals, now) for run in runs]


def _progress_of(
    run: ImportRun,
    labels: dict[str, str],
    noted: dict[int, int],
    parent_totals: dict[int, int],
    now: datetime,
) -> dict[str, Any]:
    processed = max(run.rows_processed, noted.get(run.pk, 0))
    total: int | None = run.rows_total
    estimated = False
    if run.status == ImportRun.Status.RUNNING:
        detected = (run.ingest_params_json or {}).get("detected") or {}
        total = parent_totals.get(run.parent_run_id or 0) or detected.get("rows_estimate")
        estimated = True
    elif not run.is_finished:
        total = None
    rate = None
    if run.started_at and processed:
        elapsed = ((run.finished_at or now) - run.started_at).total_seconds()
        rate = processed / elapsed if elapsed > 0 else None
    seconds_left = None
    if run.status == ImportRun.Status.RUNNING and total and rate:
        seconds_left = max(total - processed, 0) / rate
    percent = None
    if run.is_finished:
        percent = 100
    elif total:
        percent = min(99, int(100 * processed / total))
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": str(labels[run.status]),
        "finished": run.is_finished,
        "dry_run": run.dry_run,
        "rows_processed": processed,
        "rows_total": run.rows_total,
        "total": total,
        "total_estimated": estimated,
        "percent": percent,
        "rate_per_s": round(rate, 1) if rate else None,
        "seconds_left": round(seconds_left) if seconds_left is not None else None,
        "inserted": run.inserted,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "skipped": run.skipped,
        "quarantined": run.quarantined,
    }


def run_for_real_of(*, run: ImportRun) -> ImportRun | None:
    """The standard run made from this dry run (run for real, or a replay
    that was not dry), newest first; one that failed or was cancelled does
    not count, so the dry run can be run for real again."""
    if not run.dry_run:
        return None
    return (
        ImportRun.objects.filter(parent_run=run, dry_run=False)
        .exclude(status__in=[ImportRun.Status.FAILED, ImportRun.Status.CANCELLED])
        .order_by("-created_at", "-id")
        .first()
    )


# --- Run summaries (the CLI's report, the golden loader) -----------------------

REPORT_FIELDS = ("rows_total", "inserted", "updated", "unchanged", "skipped", "quarantined")


def run_report(*, run: ImportRun) -> dict[str, Any]:
    duration = run.duration_s
    return {
        "run_id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        **{name: getattr(run, name) for name in REPORT_FIELDS},
        "duration_s": round(duration, 3) if duration is not None else None,
    }


def run_report_text(*, run: ImportRun) -> str:
    summary = run_report(run=run)
    label = "Dry run" if run.dry_run else "Run"
    counts = ", ".join(f"{summary[name]} {name}" for name in REPORT_FIELDS[1:])
    text = f"{label} {run.pk} ({run.target} from {run.source.slug}): {run.status}"
    if run.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
        return text
    rows = summary["rows_total"]
    text += f"; {rows} row{pluralize(rows)}: {counts}"
    if summary["duration_s"] is not None:
        text += f" in {summary['duration_s']:.2f}s"
    return text
