"""/metrics while the database is slow: its reads give up after
IMPORTER_TELEMETRY_DB_TIMEOUT_S and the scrape answers with
importer_telemetry_up{part="database"} 0, as when the database is down."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from runs.models import ImportRun
from runs.telemetry import bounded_reads
from tests.telemetry.scrape import Scrape

# Releases the lock whatever happens, so a scrape that waits (the bug) fails
# the test instead of hanging it.
LOCK_HELD_SECONDS = 15


@pytest.fixture(autouse=True)
def embedded_mode(settings):
    settings.IMPORTER_SYNC_JOBS = True
    settings.REDIS_URL = ""
    settings.IMPORTER_TELEMETRY_DB_TIMEOUT_S = 2


def _lock_runs_table() -> tuple[psycopg.Connection, threading.Timer]:
    """ACCESS EXCLUSIVE on the runs table from another connection (as a
    migration or a VACUUM FULL would hold it)."""
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    other.execute(f"LOCK TABLE {ImportRun._meta.db_table} IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(LOCK_HELD_SECONDS, other.rollback)
    release.start()
    return other, release


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_scrape_answers_within_seconds_while_the_runs_table_is_locked(client):
    other, release = _lock_runs_table()
    try:
        started = time.monotonic()
        response = client.get("/metrics")
        elapsed = time.monotonic() - started
    finally:
        release.cancel()
        other.rollback()
        other.close()
    assert response.status_code == 200
    assert elapsed < 5, f"the scrape took {elapsed:.1f} s"
    page = Scrape(response.content.decode())
    assert page.value("importer_telemetry_up", part="database") == 0
    assert page.value("importer_runs_active") is None
    assert (
        page.value("importer_runs_finished_total", status="failed") is not None
    )  # the counters still answer

    again = Scrape(client.get("/metrics").content.decode())  # the lock is gone: back to 1
    assert again.value("importer_telemetry_up", part="database") == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_timeouts_last_only_for_the_telemetry_reads():
    def show(name: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {name}")
            return cursor.fetchone()[0]

    before = (show("statement_timeout"), show("lock_timeout"))
    with bounded_reads():
        assert (show("statement_timeout"), show("lock_timeout")) == ("2s", "2s")
    assert (show("statement_timeout"), show("lock_timeout")) == before


@pytest.mark.django_db
def test_on_sqlite_the_busy_timeout_is_lowered_for_the_reads_and_put_back():
    """SQLite in WAL mode: readers do not wait for a writer; the busy timeout
    (30 s for writers, settings) is what a reader could wait on."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")

    def busy_timeout() -> int:
        with connection.cursor() as cursor:
            return cursor.execute("PRAGMA busy_timeout").fetchone()[0]

    before = busy_timeout()
    with bounded_reads():
        assert busy_timeout() == 2000
    assert busy_timeout() == before == 30_000
