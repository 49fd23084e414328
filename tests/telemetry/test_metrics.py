"""Counters after runs in this process, scrape-time gauges, bounded labels and
/metrics itself (SQLite, synchronous jobs)."""

import socket
import time
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

from demo import golden
from dq.models import Violation
from ingest import registry
from ingest.models import Source
from runs import metrics, services
from runs.models import ImportRun
from tests.telemetry.scrape import Scrape

# transaction=True: run_enqueue enqueues on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

STEPS = {step["name"]: step for step in golden.manifest()["steps"]}


@pytest.fixture(autouse=True)
def embedded_mode(settings):
    """Jobs in-process and no queue gauges, even when the suite runs with Redis."""
    settings.IMPORTER_SYNC_JOBS = True
    settings.REDIS_URL = ""


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def enqueue(step: dict) -> ImportRun:
    run = golden.golden_run_create(step)
    services.run_enqueue(run=run)  # without Redis the job runs at once
    run.refresh_from_db()
    return run


def test_a_standard_run_counts_rows_decisions_status_and_duration():
    rows = ("importer_rows_total", "organization", "crm")
    before = {
        "enqueued": value("importer_runs_enqueued_total", dry_run="false"),
        "partial": value("importer_runs_finished_total", status="partial"),
        "inserted": value(rows[0], target=rows[1], source=rows[2], outcome="inserted"),
        "quarantined": value(rows[0], target=rows[1], source=rows[2], outcome="quarantined"),
        "skipped": value(rows[0], target=rows[1], source=rows[2], outcome="skipped"),
        "decided_inserted": value(
            "importer_dedupe_decisions_total", target="organization", decision="inserted"
        ),
        "decided_skipped": value(
            "importer_dedupe_decisions_total", target="organization", decision="skipped"
        ),
        "durations": value(
            "importer_run_duration_seconds_count", target="organization", status="partial"
        ),
    }
    run = enqueue(STEPS["every rule code, in-file duplicates"])
    assert (run.status, run.inserted, run.skipped, run.quarantined) == ("partial", 2, 1, 10)

    assert value("importer_runs_enqueued_total", dry_run="false") == before["enqueued"] + 1
    assert value("importer_runs_finished_total", status="partial") == before["partial"] + 1
    assert (
        value(rows[0], target=rows[1], source=rows[2], outcome="inserted") == before["inserted"] + 2
    )
    assert (
        value(rows[0], target=rows[1], source=rows[2], outcome="quarantined")
        == before["quarantined"] + 10
    )
    assert (
        value(rows[0], target=rows[1], source=rows[2], outcome="skipped") == before["skipped"] + 1
    )
    assert value("importer_dedupe_decisions_total", target="organization", decision="inserted") == (
        before["decided_inserted"] + 2
    )
    assert value("importer_dedupe_decisions_total", target="organization", decision="skipped") == (
        before["decided_skipped"] + 1
    )
    assert value(
        "importer_run_duration_seconds_count", target="organization", status="partial"
    ) == (before["durations"] + 1)


def test_a_dry_run_counts_as_a_dry_run_and_not_as_rows():
    rows_before = value(
        "importer_rows_total", target="organization", source="crm", outcome="inserted"
    )
    dry_before = value("importer_dry_run_total")
    seconds_before = value("importer_dry_run_request_seconds_count")
    enqueued_before = value("importer_runs_enqueued_total", dry_run="true")
    run = enqueue(STEPS["dry run"])
    assert run.dry_run and run.status == "partial"
    assert value("importer_dry_run_total") == dry_before + 1
    assert value("importer_dry_run_request_seconds_count") == seconds_before + 1
    assert value("importer_runs_enqueued_total", dry_run="true") == enqueued_before + 1
    assert (
        value("importer_rows_total", target="organization", source="crm", outcome="inserted")
        == rows_before
    )


def test_sources_beyond_the_limit_share_the_label_other(settings):
    settings.IMPORTER_METRICS_MAX_SOURCES = 2
    slugs = ["s1", "s2", "s3", "s4"]
    sources = [Source.objects.create(slug=slug) for slug in slugs]
    labels = [metrics.source_label(source.pk, source.slug) for source in sources]
    assert labels == ["s1", "s2", "other", "other"]


def test_scrape_time_gauges_read_the_backlog_and_the_inbox(client):
    enqueue(STEPS["every rule code, in-file duplicates"])
    queued = golden.golden_run_create(STEPS["clean file"])  # created, not enqueued: waits as queued
    page = Scrape(client.get("/metrics").content.decode())

    assert page.value("importer_runs_active", status="queued") == 1
    assert page.value("importer_runs_active", status="running") == 0
    assert page.value("importer_runs_oldest_age_seconds", status="queued") >= 0
    assert (
        page.value("importer_violations_open", target="organization")
        == Violation.objects.filter(status="open").count()
        == 10
    )
    assert page.value("importer_violations_open", target="contact") == 0
    last = ImportRun.objects.filter(status="partial").get().finished_at.timestamp()
    assert page.value(
        "importer_source_last_success_timestamp_seconds", source="crm"
    ) == pytest.approx(last)
    assert page.value("importer_telemetry_up", part="database") == 1
    assert (
        page.value("importer_telemetry_up", part="redis") is None
    )  # no REDIS_URL, no queue gauges
    assert queued.status == "queued"


def test_every_importer_metric_is_on_the_page_with_bounded_labels(client, settings):
    for name in ("clean file", "every rule code, in-file duplicates", "dry run"):
        enqueue(STEPS[name])
    page = Scrape(client.get("/metrics").content.decode())
    for name in (
        "importer_runs_enqueued_total",
        "importer_dry_run_total",
        "importer_dry_run_request_seconds_bucket",
        "importer_run_duration_seconds_bucket",
        "importer_runs_finished_total",
        "importer_rows_total",
        "importer_dedupe_decisions_total",
        "importer_remediation_total",
        "importer_violations_open",
        "importer_runs_active",
        "importer_runs_oldest_age_seconds",
        "importer_source_last_success_timestamp_seconds",
        "django_http_requests_total_by_method_total",
        "django_db_execute_total",
    ):
        assert name in page.names(), name
    statuses = {str(status) for status in ImportRun.Status}
    bounded = {
        "target": set(registry.names()),
        "status": statuses,
        "outcome": set(metrics.ROW_OUTCOMES) | set(metrics.REMEDIATION_OUTCOMES),
        "decision": set(metrics.DEDUPE_DECISIONS_FIELDS),
        "dry_run": {"true", "false"},
    }
    for label, allowed in bounded.items():
        assert page.label_values("importer_", label) <= allowed, label
    assert (
        len(page.label_values("importer_", "source")) <= settings.IMPORTER_METRICS_MAX_SOURCES + 1
    )


def queue_at(settings, address: str) -> None:
    """Point django-rq's imports queue (the scrape's only Redis connection)
    at ``address``, with the socket timeouts settings give it."""
    configured = urlsplit(settings.RQ_QUEUES["imports"]["URL"])
    settings.REDIS_URL = f"redis://{address}/0"
    settings.RQ_QUEUES = {
        "imports": {
            **settings.RQ_QUEUES["imports"],
            "URL": configured._replace(netloc=address).geturl(),
        }
    }


def test_the_scrape_answers_when_redis_is_down(client, settings):
    queue_at(settings, "127.0.0.1:1")  # nothing listens on port 1
    response = client.get("/metrics")
    assert response.status_code == 200
    page = Scrape(response.content.decode())
    assert page.value("importer_telemetry_up", part="redis") == 0
    assert page.value("importer_rq_queue_jobs") is None
    assert page.value("importer_telemetry_up", part="database") == 1


def test_the_scrape_answers_when_redis_hangs(client, settings):
    """A Redis that accepts the connection and never answers: the queue's
    socket timeout (settings.IMPORTER_REDIS_TIMEOUT_S) ends the wait."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        queue_at(settings, f"127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        response = client.get("/metrics")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert response.status_code == 200
    assert Scrape(response.content.decode()).value("importer_telemetry_up", part="redis") == 0
    assert elapsed < 15


def test_metrics_reset_empties_the_directory(tmp_path, monkeypatch):
    (tmp_path / "counter_123.db").write_bytes(b"x")
    (tmp_path / "histogram_horse9.db").write_bytes(b"x")
    (tmp_path / "keep.txt").write_text("not a metric file")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    call_command("metrics_reset")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_metrics_reset_refuses_without_a_directory(monkeypatch):
    from django.core.management.base import CommandError

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(CommandError, match="PROMETHEUS_MULTIPROC_DIR is not set"):
        call_command("metrics_reset")


def test_an_upload_over_the_size_limit_is_counted_and_logged_as_failed(settings, caplog):
    """It is created failed, without a job: run_create calls run_finished itself."""
    import io
    import logging

    settings.IMPORTER_MAX_UPLOAD_BYTES = 10
    caplog.set_level(logging.INFO, logger="importer.runs")
    failed_before = value("importer_runs_finished_total", status="failed")
    run = services.run_create(
        target="organization", source="crm", file=io.BytesIO(b"x" * 11), filename="big.csv"
    )
    assert run.status == "failed"
    assert value("importer_runs_finished_total", status="failed") == failed_before + 1
    assert [r.status for r in caplog.records if getattr(r, "run_id", None) == run.pk] == ["failed"]


def test_the_scrape_answers_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    from runs import telemetry as telemetry_selectors

    def down():
        raise OperationalError("could not connect")

    monkeypatch.setattr(telemetry_selectors, "backlog_by_status", down)
    response = client.get("/metrics")
    assert response.status_code == 200
    page = Scrape(response.content.decode())
    assert page.value("importer_telemetry_up", part="database") == 0
    assert page.value("importer_runs_active") is None
    assert (
        page.value("importer_runs_finished_total", status="failed") is not None
    )  # the counters still answer
