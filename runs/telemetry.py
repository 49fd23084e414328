"""Reads for the gauges /metrics computes at scrape time
(runs.scrape.ImporterCollector). Each is one grouped query,
run inside bounded_reads() so a locked or slow database cannot hold the
scrape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min

from dq.models import Violation
from ingest import registry
from ingest.models import Source
from runs.metrics import OTHER_SOURCE
from runs.models import ImportRun

ACTIVE = {ImportRun.Status.QUEUED: "created_at", ImportRun.Status.RUNNING: "started_at"}


@contextmanager
def bounded_reads() -> Iterator[None]:
    """Every query inside gives up after IMPORTER_TELEMETRY_DB_TIMEOUT_S
    (raising django.db.OperationalError) instead of waiting for a lock or a
    slow plan: /metrics must answer within Prometheus's scrape timeout.

    PostgreSQL: statement_timeout and lock_timeout, SET LOCAL in a
    transaction of their own, so they end with it and never stay on a
    pooled connection. SQLite: in WAL mode (settings) readers never wait
    for a writer, so only the busy timeout matters; it is lowered for the
    duration and put back."""
    seconds = settings.IMPORTER_TELEMETRY_DB_TIMEOUT_S
    if connection.vendor == "postgresql":
        milliseconds = max(int(seconds * 1000), 1)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                cursor.execute(f"SET LOCAL lock_timeout = {milliseconds}")
            yield
        return
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            previous = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {max(int(seconds * 1000), 1)}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
        return
    yield


def backlog_by_status() -> dict[str, tuple[int, datetime | None]]:
    """{queued|running: (count, oldest created_at / started_at)}, both
    statuses always present so the gauges drop to 0 rather than vanish."""
    backlog: dict[str, tuple[int, datetime | None]] = {}
    for status, since_field in ACTIVE.items():
        row = ImportRun.objects.filter(status=status).aggregate(
            count=Count("id"), since=Min(since_field)
        )
        backlog[str(status)] = (row["count"], row["since"])
    return backlog


def open_violations_by_target() -> dict[str, int]:
    """Every registered target, 0 when its inbox is empty (a gauge that
    vanishes would leave the last value on graphs)."""
    rows = (
        Violation.objects.filter(status=Violation.Status.OPEN)
        .order_by()
        .values_list("target")
        .annotate(n=Count("id"))
    )
    return dict.fromkeys(registry.names(), 0) | dict(rows)


def last_success_by_source() -> dict[str, datetime]:
    """The last succeeded or partial standard run per source label (the first
    IMPORTER_METRICS_MAX_SOURCES sources by id keep their slug, later ones
    share "other", as in runs.metrics.source_label)."""
    finished = (
        ImportRun.objects.filter(
            dry_run=False, status__in=(ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)
        )
        .order_by()
        .values_list("source_id")
        .annotate(last=Max("finished_at"))
    )
    last_by_id = {source_id: last for source_id, last in finished if last is not None}
    limit = settings.IMPORTER_METRICS_MAX_SOURCES
    named = dict(Source.objects.order_by("pk").values_list("pk", "slug")[:limit])
    result: dict[str, datetime] = {}
    for source_id, last in last_by_id.items():
        label = named.get(source_id, OTHER_SOURCE)
        if label not in result or last > result[label]:
            result[label] = last
    return result
