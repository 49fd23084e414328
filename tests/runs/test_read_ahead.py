"""A partition reads its next chunk while PostgreSQL stores the current
chunk's new records, and checks it while PostgreSQL stores their id map
(``ReadAhead``, the writers' ``meanwhile``), and that changes nothing of
what is read, written or failed."""

import pytest
from django.db import connection
from psycopg import pq

from ingest.errors import ImporterError
from runs.execution import partitions
from runs.execution.partitions import ReadAhead
from runs.models import ImportRun
from tests.importing import import_bytes


def test_the_chunks_come_in_order_and_each_is_read_once():
    reads = []

    def chunks():
        for number in range(3):
            reads.append(number)
            yield [number]

    ahead = ReadAhead(chunks())
    assert next(ahead) == [0]
    ahead.work_ahead()
    ahead.work_ahead()  # asked again before the chunk is taken: read once
    assert reads == [0, 1]
    assert list(ahead) == [[1], [2]]


def test_reading_ahead_at_the_end_of_the_file_ends_the_chunks():
    ahead = ReadAhead(iter([["only"]]))
    assert next(ahead) == ["only"]
    ahead.work_ahead()
    assert list(ahead) == []


def test_an_error_reading_ahead_is_raised_when_that_chunk_is_asked_for():
    """Not while the chunk before it is written: that one commits first, as
    it did when the file was read one chunk at a time."""

    def chunks():
        yield ["fine"]
        raise ImporterError("the file is damaged from row 3")

    ahead = ReadAhead(chunks())
    assert next(ahead) == ["fine"]
    ahead.work_ahead()
    with pytest.raises(ImporterError, match="damaged from row 3"):
        next(ahead)


def test_the_next_chunk_is_read_then_checked_once_each():
    checked = []
    ahead = ReadAhead(iter([[1], [2], [3]]), checked.append)
    assert next(ahead) == [1]
    for _ in range(3):  # asked more often than there is work: each done once
        ahead.work_ahead()
    assert checked == [[2]]
    assert next(ahead) == [2]
    ahead.work_ahead()
    assert checked == [[2]]  # [3] is read, not yet checked
    assert list(ahead) == [[3]]


def test_a_failure_checking_ahead_is_left_to_the_chunk_itself():
    """Checking ahead is an early start on the next chunk's work: should it
    fail, the chunk is processed (and fails, if it does) in its own turn,
    never in the turn of the chunk being written."""

    def check(chunk):
        raise ValueError("not now")

    ahead = ReadAhead(iter([[1], [2]]), check)
    assert next(ahead) == [1]
    ahead.work_ahead()
    ahead.work_ahead()
    assert list(ahead) == [[2]]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry run"])
def test_the_next_chunk_is_worked_on_once_each_copy_has_ended(monkeypatch, settings, dry_run):
    """Read during the records' COPY and checked during the id map's (a dry
    run writes no id map: both during the records'), each time after the
    COPY's end is sent (the connection waits for its answer): PostgreSQL
    does part of a COPY's work only once it ends."""
    settings.IMPORTER_CHUNK_SIZE = 2
    states = []
    work_ahead = ReadAhead.work_ahead

    def watched(self):
        pgconn = connection.connection.pgconn
        states.append((pgconn.transaction_status, pgconn.is_busy()))
        work_ahead(self)

    monkeypatch.setattr(partitions.ReadAhead, "work_ahead", watched)
    rows = "".join(f"A-{number},Org {number},DE\n" for number in range(7))
    run = import_bytes("external_id,name,country\n" + rows, dry_run=dry_run)
    assert (run.status, run.inserted) == (ImportRun.Status.SUCCEEDED, 7)
    # Two pieces of work ahead per chunk, each while a COPY's end is awaited.
    assert states == [(pq.TransactionStatus.ACTIVE, True)] * 8
