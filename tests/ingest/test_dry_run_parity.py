"""A dry run shows exactly what the import would do: the same row outcomes,
dedupe decisions, matches and changed fields, chunk after chunk, although
it writes no id mappings."""

import pytest

from ingest.models import ExternalIdMap
from runs.execution import retry
from tests.identity.helpers import core_state, decisions, import_text

HEADER = "external_id,name,country,registration_number,employees,updated_at\n"
# Repeats, in-file duplicates with other values, natural-key matches across
# chunks (chunks of 3 rows below) and an invalid row.
FIRST = HEADER + (
    "A,Acme,DE,HRB 1,10,2024-01-01T00:00:00Z\n"
    "B,Beta,FR,,5,2024-01-01T00:00:00Z\n"
    "C,Acme GmbH,DE,hrb-1,,2024-02-01T00:00:00Z\n"
    "B,Beta,FR,,5,2024-01-01T00:00:00Z\n"
    "D,Delta,XX,,1,\n"
    "E,Epsilon,FR,77,7,2023-01-01T00:00:00Z\n"
    "B,Beta SA,FR,,6,2024-01-01T00:00:00Z\n"
    "F,Eps,FR,77,,2025-01-01T00:00:00Z\n"
    "G,Gamma,IT,,1,\n"
)
SECOND = HEADER + (
    "A,Acme,DE,HRB 1,10,2024-01-01T00:00:00Z\n"
    "B,Beta,FR,,8,2025-01-01T00:00:00Z\n"
    "H,Acme AG,DE,HRB1,12,2026-01-01T00:00:00Z\n"
    "G,,IT,,,\n"
    "I,Iota,FR,77,3,2020-01-01T00:00:00Z\n"
)


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.IMPORTER_CHUNK_SIZE = 3


@pytest.mark.django_db
def test_a_dry_run_decides_what_the_import_then_does():
    for text in (FIRST, SECOND):
        before, mappings = core_state(), ExternalIdMap.objects.count()
        dry = import_text(text, dry_run=True)
        assert core_state() == before and ExternalIdMap.objects.count() == mappings
        real = import_text(text)
        assert decisions(dry) == decisions(real)
        counts = ("rows_total", "inserted", "updated", "unchanged", "skipped", "quarantined")
        assert [getattr(dry, name) for name in counts] == [getattr(real, name) for name in counts]


@pytest.mark.django_db
def test_a_dry_run_takes_no_natural_key_locks(monkeypatch):
    """One transaction holding a lock per natural key of a whole file
    overflowed PostgreSQL's lock table at 100k rows; a dry run never
    commits, so no other writer can meet its records anyway."""
    from ingest import resolve

    locked = []
    monkeypatch.setattr(
        resolve, "lock_natural_keys", lambda *, target, keys: locked.append(list(keys))
    )
    import_text(FIRST, dry_run=True)
    assert locked == []
    import_text(FIRST)
    assert locked and any(locked)


class _LockTableFull(Exception):
    sqlstate = "53200"


@pytest.mark.django_db
def test_a_chunk_that_finds_the_lock_table_full_is_tried_again(monkeypatch):
    from ingest import pipeline

    monkeypatch.setattr(retry, "CHUNK_RETRY_PAUSE_S", 0)
    process = pipeline.ChunkProcessor.process
    calls = []

    def full_once(self, read_rows, *, write=True, **options):
        calls.append(write)
        if len(calls) == 2:  # the second chunk, once
            raise _LockTableFull("out of shared memory")
        return process(self, read_rows, write=write, **options)

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", full_once)
    run = import_text(FIRST)
    assert run.status == "partial" and run.rows_total == 9
    assert run.inserted + run.updated + run.unchanged + run.skipped + run.quarantined == 9
