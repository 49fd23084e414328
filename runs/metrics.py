"""The importer's Prometheus metrics (names fixed by DESIGN.md) and the one
structured log line per run state change.

Labels are small, bounded sets: target (registry names), status, outcome,
decision, dry_run, and source, bounded by IMPORTER_METRICS_MAX_SOURCES: the
first N sources (by creation) keep their slug, every later one is counted as
"other" (see docs/telemetry.md). Counters live in every process that
finishes runs (web with synchronous jobs, RQ work horses); in multiprocess
mode (PROMETHEUS_MULTIPROC_DIR) one scrape sums them. Gauges about the
backlog are computed at scrape time by runs.scrape.

services.run_enqueue / run_start / run_finished call the observe_* functions;
nothing else does, so each run is counted once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from prometheus_client import Counter, Histogram

from ingest.models import Source
from runs.models import ImportRun

logger = logging.getLogger("importer.runs")

OTHER_SOURCE = "other"
ROW_OUTCOMES = ("inserted", "updated", "unchanged", "skipped", "quarantined")
DEDUPE_DECISIONS_FIELDS = ("inserted", "resolved", "skipped")
# Imports take from under a second (a handful of rows) to hours (millions).
DURATION_BUCKETS = (
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    7200,
    21600,
    float("inf"),
)

RUNS_ENQUEUED = Counter("importer_runs_enqueued", "Runs put on the imports queue.", ["dry_run"])
DRY_RUNS = Counter("importer_dry_run", "Dry runs finished.")
DRY_RUN_REQUEST_SECONDS = Histogram(
    "importer_dry_run_request_seconds",
    "A dry run end to end, from upload (created) to finished.",
    buckets=DURATION_BUCKETS,
)
RUN_DURATION = Histogram(
    "importer_run_duration_seconds",
    "Run duration, started to finished.",
    ["target", "status"],
    buckets=DURATION_BUCKETS,
)
RUNS_FINISHED = Counter("importer_runs_finished", "Runs finished, by status.", ["status"])
ROWS = Counter(
    "importer_rows",
    "Rows of finished standard (not dry) runs, by outcome.",
    ["target", "source", "outcome"],
)
DEDUPE_DECISIONS = Counter(
    "importer_dedupe_decisions",
    "Dedupe decisions on valid rows of finished standard runs.",
    ["target", "decision"],
)
REMEDIATION = Counter(
    "importer_remediation",
    "Remediation outcomes of steward actions (requeued, resolved, failed, ignored).",
    ["outcome"],
)

REMEDIATION_OUTCOMES = ("requeued", "resolved", "failed", "ignored")

# Label sets known in advance exist (at 0) from the start, in every process:
# a scrape shows them before the first event, and rate() sees the first one.
for _dry_run in ("true", "false"):
    RUNS_ENQUEUED.labels(dry_run=_dry_run)
for _status in ImportRun.FINISHED:
    RUNS_FINISHED.labels(status=str(_status))
for _outcome in REMEDIATION_OUTCOMES:
    REMEDIATION.labels(outcome=_outcome)


def source_label(source_id: int, slug: str) -> str:
    """The slug for the first IMPORTER_METRICS_MAX_SOURCES sources, else
    "other": every process decides the same way (by the source's rank in the
    database), so a slug never flips between labels."""
    earlier = Source.objects.filter(pk__lt=source_id).count()
    return slug if earlier < settings.IMPORTER_METRICS_MAX_SOURCES else OTHER_SOURCE


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _log_state(run: ImportRun, **extra: Any) -> None:
    """One JSON line per state change: ids, counts and durations only, never
    row values or error messages that could quote them."""
    fields = {
        "event": "run_state",
        "run_id": run.pk,
        "status": run.status,
        "target": run.target,
        "source": run.source.slug,
        "kind": run.kind,
        "dry_run": run.dry_run,
        **extra,
    }
    logger.info("run %s %s", run.pk, run.status, extra=fields)


def observe_run_enqueued(run: ImportRun, *, job_id: str) -> None:
    RUNS_ENQUEUED.labels(dry_run=str(run.dry_run).lower()).inc()
    _log_state(run, job_id=job_id)


def observe_run_started(run: ImportRun) -> None:
    _log_state(run, queued_s=_seconds(run.created_at, run.started_at))


def observe_run_finished(run: ImportRun) -> None:
    """Counts a finished run. Rows and dedupe decisions count standard runs
    only: a dry run writes nothing, and counting it too would count the same
    file twice (dry run, then the real one)."""
    status = run.status
    RUNS_FINISHED.labels(status=status).inc()
    duration = _seconds(run.started_at, run.finished_at)
    if duration is not None:
        RUN_DURATION.labels(target=run.target, status=status).observe(duration)
    end_to_end = _seconds(run.created_at, run.finished_at)
    if run.dry_run:
        DRY_RUNS.inc()
        if end_to_end is not None:
            DRY_RUN_REQUEST_SECONDS.observe(end_to_end)
    else:
        # Zero increments too: every label set exists from its first run on,
        # so rate() sees the first real increase.
        source = source_label(run.source_id, run.source.slug)
        for outcome in ROW_OUTCOMES:
            ROWS.labels(target=run.target, source=source, outcome=outcome).inc(
                getattr(run, outcome)
            )
        for decision in DEDUPE_DECISIONS_FIELDS:
            DEDUPE_DECISIONS.labels(target=run.target, decision=decision).inc(
                getattr(run, decision)
            )
    _log_state(
        run,
        rows_total=run.rows_total,
        **{outcome: getattr(run, outcome) for outcome in ROW_OUTCOMES},
        resolved=run.resolved,
        duration_s=duration,
        end_to_end_s=end_to_end,
    )
