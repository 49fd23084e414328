"""Metrics wiring: prometheus_client multiprocess mode, the gauges computed
at scrape time, and the /metrics view.

Multiprocess mode is prometheus_client's documented setup: the environment
sets PROMETHEUS_MULTIPROC_DIR before any process starts (Makefile, systemd
units; docs/deployment.md), prometheus_client then writes every process's
counters to mmap files there, and /metrics sums the files with
``MultiProcessCollector``, so what RQ work horses and every web process
count appears in one scrape.

A process that ends folds its files into archive files
(runs.metrics_archive, ``fold_dead_process``): the web's gunicorn
master for each worker it reaps (importer_project/gunicorn_conf.py), an RQ
worker for each work horse it waited for (runs.execution.worker), and every process
for itself at exit (``fold_at_exit``). RQ forks a work horse per job, so
without folding the directory would grow by a few files per job and every
scrape would read them all.
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
from collections.abc import Iterator
from datetime import UTC

import django_rq
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from runs import metrics as _defines_the_metrics  # noqa: F401 - registered on import
from runs import telemetry
from runs.metrics_archive import directory_lock, fold_dead_process, multiprocess_dir

logger = logging.getLogger(__name__)


def _fold_this_process() -> None:
    fold_dead_process(os.getpid())


def fold_at_exit() -> None:
    """In multiprocess mode, fold this process's files when it exits normally
    (a forked child such as a gunicorn worker does it for its own pid)."""
    if multiprocess_dir():
        atexit.register(_fold_this_process)


def reset_multiprocess_dir(directory: str) -> int:
    """Delete the metric files (run it before web and workers start: a
    running process keeps writing to the file it opened). Returns how many."""
    removed = 0
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)
        removed += 1
    return removed


class ImporterCollector:
    """Gauges read at scrape time from the database and, with REDIS_URL, the
    RQ queue. A service that is down turns its `importer_telemetry_up`
    gauge to 0; the scrape itself never fails."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "importer_telemetry_up",
            "1 when the scrape could read this part (database, redis).",
            labels=["part"],
        )
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even without a database
            logger.warning("metrics: database gauges unavailable (%s)", type(exc).__name__)
            up.add_metric(["database"], 0)
        if settings.REDIS_URL:
            try:
                yield from self._redis()
                up.add_metric(["redis"], 1)
            except Exception as exc:  # noqa: BLE001 - Redis down must not break the scrape
                logger.warning("metrics: queue gauges unavailable (%s)", type(exc).__name__)
                up.add_metric(["redis"], 0)
        yield up

    def _database(self) -> Iterator[Metric]:

        # Evaluate everything before yielding: a failure yields nothing half-way.
        now = timezone.now()
        with telemetry.bounded_reads():
            backlog = telemetry.backlog_by_status()
            violations = telemetry.open_violations_by_target()
            last_success = telemetry.last_success_by_source()

        runs = GaugeMetricFamily(
            "importer_runs_active", "Runs queued or running, by status.", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "importer_runs_oldest_age_seconds",
            "Age of the oldest run in this status (created for queued, started for running); 0 when none.",
            labels=["status"],
        )
        for status, (count, since) in backlog.items():
            runs.add_metric([status], count)
            oldest.add_metric([status], (now - since).total_seconds() if since else 0.0)
        open_gauge = GaugeMetricFamily(
            "importer_violations_open",
            "Quarantined rows waiting in the DQ inbox, by target.",
            labels=["target"],
        )
        for target, count in violations.items():
            open_gauge.add_metric([target], count)
        success = GaugeMetricFamily(
            "importer_source_last_success_timestamp_seconds",
            "When a standard run of this source last finished succeeded or partial (Unix time).",
            labels=["source"],
        )
        for source, finished_at in last_success.items():
            success.add_metric([source], finished_at.timestamp())
        yield from (runs, oldest, open_gauge, success)

    def _redis(self) -> Iterator[Metric]:
        depth, age = _rq_queue_state()
        jobs = GaugeMetricFamily("importer_rq_queue_jobs", "Jobs waiting on the RQ imports queue.")
        jobs.add_metric([], depth)
        oldest = GaugeMetricFamily(
            "importer_rq_oldest_job_age_seconds",
            "Age of the oldest job waiting on the imports queue; 0 when none.",
        )
        oldest.add_metric([], age)
        yield from (jobs, oldest)


def _rq_queue_state() -> tuple[int, float]:
    """(jobs waiting, age of the oldest in seconds). The queue's connection
    has short socket timeouts (settings.RQ_QUEUES), so a Redis that hangs
    cannot hold the scrape."""
    queue = django_rq.get_queue("imports")  # settings.RQ_QUEUES
    depth = queue.count
    age = 0.0
    for job_id in queue.get_job_ids(0, 1):
        job = queue.fetch_job(job_id)
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at
            if enqueued.tzinfo is None:
                enqueued = enqueued.replace(tzinfo=UTC)
            age = max((timezone.now() - enqueued).total_seconds(), 0.0)
    return depth, age


COLLECTOR = ImporterCollector()


class _ScrapeRegistry:
    """What one scrape exposes: the process's (or all processes') metrics
    and the scrape-time gauges."""

    def __init__(self, base: list[Metric]) -> None:
        self.base = base

    def collect(self) -> Iterator[Metric]:
        yield from self.base
        yield from COLLECTOR.collect()


def scrape() -> bytes:

    directory = multiprocess_dir()
    if directory:
        # Read the files under the directory's lock (no fold half-way through
        # the read), and only the files: the gauges' queries run after it.
        with directory_lock(directory, exclusive=False):
            base = list(MultiProcessCollector(None, path=directory).collect())
    else:
        base = list(REGISTRY.collect())
    return generate_latest(_ScrapeRegistry(base))


def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics, for Prometheus (django-prometheus's view, plus the
    scrape-time gauges, in multiprocess mode when configured)."""
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
