"""A partition reads its next chunk while PostgreSQL stores the current
chunk's new records (``ReadAhead``, ``RecordWriter.insert``'s ``meanwhile``),
and that changes nothing of what is read, written or failed."""

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
    ahead.read_next()
    ahead.read_next()  # asked again before the chunk is taken: read once
    assert reads == [0, 1]
    assert list(ahead) == [[1], [2]]


def test_reading_ahead_at_the_end_of_the_file_ends_the_chunks():
    ahead = ReadAhead(iter([["only"]]))
    assert next(ahead) == ["only"]
    ahead.read_next()
    assert list(ahead) == []


def test_an_error_reading_ahead_is_raised_when_that_chunk_is_asked_for():
    """Not while the chunk before it is written: that one commits first, as
    it did when the file was read one chunk at a time."""

    def chunks():
        yield ["fine"]
        raise ImporterError("the file is damaged from row 3")

    ahead = ReadAhead(chunks())
    assert next(ahead) == ["fine"]
    ahead.read_next()
    with pytest.raises(ImporterError, match="damaged from row 3"):
        next(ahead)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_next_chunk_is_read_while_the_records_copy_is_under_way(monkeypatch, settings):
    settings.IMPORTER_CHUNK_SIZE = 2
    states = []
    read_next = ReadAhead.read_next

    def watched(self):
        states.append(connection.connection.pgconn.transaction_status)
        read_next(self)

    monkeypatch.setattr(partitions.ReadAhead, "read_next", watched)
    rows = "".join(f"A-{number},Org {number},DE\n" for number in range(7))
    run = import_bytes("external_id,name,country\n" + rows)
    assert (run.status, run.inserted) == (ImportRun.Status.SUCCEEDED, 7)
    # One read ahead per chunk, each while the COPY's command is active.
    assert states == [pq.TransactionStatus.ACTIVE] * 4
