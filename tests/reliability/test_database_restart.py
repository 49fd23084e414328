"""PostgreSQL goes away under a running import (a restart, a failover, an
operator's pg_terminate_backend): the chunk rolls back with the connection,
and the import connects again and resumes from its checkpoint, ending
exactly like a clean run."""

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from ingest import pipeline
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import create_run
from tests.reliability.helpers import core_checksum, counters
from tests.reliability.test_resume import clean_run, ledger_lines, org_file

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="needs DATABASE_URL=postgres://…",
    ),
]


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.IMPORTER_CHUNK_SIZE = 4
    settings.IMPORTER_SYNC_JOBS = True


def terminate_backend_during_chunk(monkeypatch, chunk: int) -> list[int]:
    """While writing its chunk-th chunk, the import's database session is
    terminated from another connection, as an operator or a restart would."""
    real = pipeline.ChunkProcessor.process
    written = {"chunks": 0}
    terminated: list[int] = []

    def process(self, rows, write=True, **options):
        if write:
            written["chunks"] += 1
            if written["chunks"] == chunk:
                pid = connection.connection.info.backend_pid
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                with psycopg.connect(**params, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                terminated.append(pid)
        return real(self, rows, write=write, **options)

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", process)
    return terminated


@pytest.mark.parametrize("chunk", [1, 3])
def test_an_import_whose_session_is_terminated_resumes_and_equals_a_clean_run(
    settings, monkeypatch, chunk
):
    expected = clean_run(settings)
    terminated = terminate_backend_during_chunk(monkeypatch, chunk)
    run = runner.run_execute(run_id=create_run(org_file()).pk)
    run = ImportRun.objects.get(pk=run.pk)
    assert terminated, "the session was not terminated"
    assert run.status == ImportRun.Status.PARTIAL, run.error_message
    assert (core_checksum(), counters(run), ledger_lines(run)) == expected
