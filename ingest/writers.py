"""Set-based writes: no ORM object per row, a few statements per chunk.

PostgreSQL, through psycopg 3 on Django's own connection (same transaction):
- new records: ids drawn from the table's sequence in one query, then
  ``COPY`` straight into the table;
- changed records and the id map: ``COPY`` into a temporary staging table,
  then one ``INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT
  FROM`` (rows whose values did not change are not rewritten).

SQLite: multi-row ``INSERT … VALUES (…), (…)`` statements on the raw sqlite3
cursor (``RETURNING id`` for new records, ``ON CONFLICT … DO UPDATE`` for the
rest), in a few batch shapes so the statement cache stays small.

JSON values may arrive already serialized as ``JSONText`` (the pipeline
serializes provenance with ``core.provenance.Dumps``); they are passed through.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from django.db import IntegrityError, connection, models, transaction

from core.provenance import JSONText
from ingest.models import ExternalIdMap

Adapter = Callable[[Any], Any] | None


def max_query_params() -> int:
    if connection.vendor == "sqlite":
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 60_000


def shaped_batches(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Batches of ``size`` rows, the remainder in powers of two: a handful of
    statement shapes, so SQLite's statement cache holds a few compiled
    statements instead of one large one per chunk length (which cost both
    compile time and hundreds of MB)."""
    start = 0
    while len(rows) - start >= size:
        yield rows[start : start + size]
        start += size
    step = 1 << (size.bit_length() - 1)
    while start < len(rows):
        while step > len(rows) - start:
            step >>= 1
        yield rows[start : start + step]
        start += step


def _adapter(field: models.Field) -> Adapter:
    """How a Python value of this model field becomes a SQLite parameter."""
    ops = connection.ops
    if isinstance(field, models.JSONField):

        def adapt_json(value: Any) -> str:
            if isinstance(value, JSONText):
                return str(value)
            return ops.adapt_json_value(value, field.encoder)

        return adapt_json
    if isinstance(field, models.DateTimeField):
        # Every row of a chunk carries the same created/modified time.
        return functools.lru_cache(maxsize=4)(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    return None


class TableWriter:
    """Writes rows of some columns of one model's table: multi-row INSERT
    statements on SQLite, COPY on PostgreSQL."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        quote = connection.ops.quote_name
        meta = model._meta
        # Concrete fields, each with its column (get_field's type also covers relations).
        fields = [cast(models.Field, meta.get_field(name)) for name in names]
        column_names = [cast(str, field.column) for field in fields]
        self.postgresql = connection.vendor == "postgresql"
        self.table = quote(meta.db_table)
        self.columns = [quote(column) for column in column_names]
        self.column_list = ", ".join(self.columns)
        self.stage = quote(f"importer_stage_{meta.db_table}")
        self.meta = meta
        self.column_names = column_names
        self.column_types: list[int] | None = None  # PostgreSQL type oids, read on first COPY
        if not self.postgresql:
            adapters = [_adapter(field) for field in fields]
            # Only the columns that need it (JSON, dates) are adapted.
            self.adapted = [(index, adapter) for index, adapter in enumerate(adapters) if adapter]
            self.row_placeholder = "(" + ", ".join(["?"] * len(fields)) + ")"
            self.batch_size = min(256, max(1, max_query_params() // len(fields) - 1))

    def adapt(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for index, adapter in self.adapted:
            value = values[index]
            if value is not None:
                values[index] = adapter(value)
        return values

    def execute(self, rows: Sequence[Sequence[Any]], suffix: str) -> list[tuple]:
        """SQLite: INSERT the rows in batches; return what ``suffix`` RETURNs, if anything."""
        returned: list[tuple] = []
        cursor = connection.connection.cursor()
        try:
            for batch in shaped_batches(rows, self.batch_size):
                sql = (
                    f"INSERT INTO {self.table} ({self.column_list}) VALUES "
                    + ", ".join([self.row_placeholder] * len(batch))
                    + suffix
                )
                cursor.execute(sql, [value for row in batch for value in self.adapt(row)])
                if "RETURNING" in suffix:
                    returned.extend(cursor.fetchall())
        finally:
            cursor.close()
        return returned

    def copy(
        self,
        cursor: Any,
        rows: Iterable[Sequence[Any]],
        table: str | None = None,
        *,
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        """PostgreSQL: COPY the rows into the table (or a staging table shaped
        like it), in the binary format with every column's type given up
        front: psycopg then packs each value with the dumper of its column,
        in C, and the server parses no text (timestamps, dates, integers).
        Per 2,000-row chunk of organizations this took the client 5 ms of
        CPU instead of 19 with text COPY. Values must be of their column's
        Python type (str for text, aware datetimes for timestamptz), as the
        pipeline's cleaned and loaded values are; JSON columns take
        serialized JSON text (``JSONText``) or any JSON-serializable value.

        ``meanwhile`` runs once every row is sent and the COPY's end too,
        before its answer is awaited (``_ending_first``): the server's work
        overlaps with this process's instead of following it (see
        ``RecordWriter.insert``)."""
        if self.column_types is None:
            self.column_types = _column_types(cursor, self.meta.db_table, self.column_names)
        for dumper in _json_dumpers():
            cursor.adapters.register_dumper(None, dumper)
        with cursor.copy(
            f"COPY {table or self.table} ({self.column_list}) FROM STDIN (FORMAT BINARY)",
            writer=None if meanwhile is None else _ending_first()(cursor, meanwhile),
        ) as copy:
            copy.set_types(self.column_types)
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def upsert(self, rows: Sequence[Sequence[Any]], suffix: str) -> None:
        """INSERT the rows with ``suffix`` (ON CONFLICT …): staged through COPY
        on PostgreSQL, multi-row INSERT statements on SQLite."""
        if not rows:
            return
        if self.postgresql:
            self.stage_and_insert(rows, suffix)
        else:
            self.execute(rows, suffix)

    def stage_and_insert(self, rows: Sequence[Sequence[Any]], suffix: str) -> None:
        """PostgreSQL: COPY the rows into a temporary table shaped like these
        columns, then INSERT … SELECT them with ``suffix`` (ON CONFLICT …)."""
        with _pg_cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} ON COMMIT DROP AS "
                f"SELECT {self.column_list} FROM {self.table} WITH NO DATA"
            )
            cursor.execute(f"TRUNCATE {self.stage}")
            self.copy(cursor, rows, self.stage)
            cursor.execute(
                f"INSERT INTO {self.table} ({self.column_list}) "
                f"SELECT {self.column_list} FROM {self.stage}{suffix}"
            )


def _column_types(cursor: Any, table: str, columns: Sequence[str]) -> list[int]:
    """The type oid of each column, as the database has it."""
    cursor.execute(
        "SELECT attname, atttypid::int FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [connection.ops.quote_name(table)],
    )
    oids = dict(cursor.fetchall())
    return [oids[column] for column in columns]


@functools.cache
def _json_dumpers() -> tuple[type, ...]:
    """Binary COPY dumpers for json and jsonb columns. Text is taken as JSON
    already (``JSONText``, as text COPY took it); anything else is
    serialized. psycopg is imported here: it is only needed on PostgreSQL."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    def dumper(type_oid: int, prefix: bytes) -> type:
        class JSONDumper(Dumper):
            format = Format.BINARY
            oid = type_oid

            def dump(self, obj: Any) -> bytes:
                return prefix + (obj if isinstance(obj, str) else json.dumps(obj)).encode()

        return JSONDumper

    # jsonb's binary format is a version byte, then the text.
    return dumper(114, b""), dumper(3802, b"\x01")


@functools.cache
def _ending_first() -> type:
    """psycopg's COPY writer, except that it does the caller's ``meanwhile``
    work after sending the COPY's end and before waiting for its answer.
    Done before the end, it left a third of the server's work on the rows
    to follow it: PostgreSQL does part of a COPY's work only once the COPY
    ends (COPYing 100k organizations in 2,000-row chunks, 0.27–0.34 of the
    server's 0.8 CPU-s came after each end, however long the process paused
    before it). psycopg has no call that sends the end without waiting for
    the answer, so this runs psycopg's own ending (``copy_end``) a step at
    a time and does the work at its first wait to read. A failure of
    ``meanwhile`` is raised once the COPY has ended, so the connection is
    never left with an answer unread."""
    from psycopg.copy import LibpqWriter
    from psycopg.generators import copy_end
    from psycopg.waiting import Wait

    class EndingFirst(LibpqWriter):
        def __init__(self, cursor: Any, meanwhile: Callable[[], None]) -> None:
            super().__init__(cursor)
            self.meanwhile = meanwhile

        def finish(self, exc: BaseException | None = None) -> None:
            if exc is not None:
                super().finish(exc)
                return
            failure = self.connection.wait(self._end())
            if failure is not None:
                raise failure

        def _end(self) -> Any:
            """``copy_end``'s steps, ``meanwhile`` called at its first wait
            to read (or after its last step, if it never waits); returns
            what ``meanwhile`` raised, if anything."""
            steps = copy_end(self._pgconn, None)
            pending: Callable[[], None] | None = self.meanwhile
            failure: BaseException | None = None
            try:
                wait = next(steps)
                while True:
                    if wait == Wait.R and pending is not None:
                        failure, pending = _failure_of(pending), None
                    wait = steps.send((yield wait))
            except StopIteration:
                pass
            if pending is not None:
                failure = _failure_of(pending)
            return failure

    return EndingFirst


def _failure_of(work: Callable[[], None]) -> BaseException | None:
    try:
        work()
    except BaseException as exc:  # raised by the caller once the COPY has ended
        return exc
    return None


def _pg_cursor() -> Any:
    """A plain psycopg cursor on Django's own connection (same transaction),
    for COPY, which Django's cursor wrapper does not offer."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def fields_by_attname(model: type[models.Model]) -> dict[str, models.Field]:
    return {field.attname: field for field in model._meta.concrete_fields}


def _set_changed(columns: Sequence[str], table: str) -> str:
    """``SET c = excluded.c, … WHERE (old) IS DISTINCT FROM (new)``: a row whose
    values are all equal is not rewritten."""
    return (
        " DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in columns)
        + f" WHERE ({', '.join(f'{table}.{column}' for column in columns)})"
        + f" IS DISTINCT FROM ({', '.join(f'excluded.{column}' for column in columns)})"
    )


class RecordWriter:
    """Inserts and updates core records of one target, given as value lists
    in the order of ``attnames``."""

    def __init__(self, model: type[models.Model], attnames: Sequence[str]) -> None:
        model_fields = fields_by_attname(model)
        names = [model_fields[attname].name for attname in attnames]
        self.attnames = list(attnames)
        self.inserter = TableWriter(model, names)
        self.upserter = TableWriter(model, ["id", *names])
        self.id_field = model._meta.pk
        self.sequence: str | None = None  # PostgreSQL: the id sequence, read on first insert
        updatable = [
            column for name, column in zip(names, self.inserter.columns) if name != "created_at"
        ]
        self.update_suffix = " ON CONFLICT (id) DO UPDATE SET " + ", ".join(
            f"{column} = excluded.{column}" for column in updatable
        )

    def insert(
        self, rows: Sequence[Sequence[Any]], *, meanwhile: Callable[[], None] | None = None
    ) -> list[int]:
        """Insert new records; return their ids in the order given.

        ``meanwhile``: work of this process's own (reading the file on) to
        do while PostgreSQL stores the records: called once, when their
        COPY's end is sent (``TableWriter.copy``). A fresh import's records
        are the biggest write of a chunk (about 40% of the server's time),
        which the process used to wait for doing nothing. SQLite writes in
        this process, so there it is simply called after the insert."""
        if not rows or not self.inserter.postgresql:
            ids = [row[0] for row in self.inserter.execute(rows, " RETURNING id")] if rows else []
            if meanwhile is not None:
                meanwhile()
            return ids
        with _pg_cursor() as cursor:
            if self.sequence is None:
                cursor.execute(
                    "SELECT pg_get_serial_sequence(%s, %s)",
                    [self.inserter.table, self.id_field.column],
                )
                (self.sequence,) = cursor.fetchone()
            # The sequence is named once: pg_get_serial_sequence() in the
            # select list would be looked up again for every id (ten times
            # the cost of the nextval() calls themselves).
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [self.sequence, len(rows)],
            )
            ids = sorted(record_id for (record_id,) in cursor.fetchall())
            self.upserter.copy(
                cursor,
                ((record_id, *row) for record_id, row in zip(ids, rows)),
                meanwhile=meanwhile,
            )
        return ids

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        """Overwrite existing records; each row starts with the record's id."""
        self.upserter.upsert(rows, self.update_suffix)


class IdMapWriter:
    """Upserts ExternalIdMap rows: (source_id, target, external_id, record_id,
    payload_hash, first_run_id, last_run_id). ``first_run`` is kept on update."""

    def __init__(self) -> None:
        self.writer = TableWriter(
            ExternalIdMap,
            [
                "source",
                "target",
                "external_id",
                "record_id",
                "payload_hash",
                "first_run",
                "last_run",
            ],
        )
        conflict = " ON CONFLICT (source_id, target, external_id)"
        updated = ["record_id", "payload_hash", "last_run_id"]
        if self.writer.postgresql:
            self.suffix = conflict + _set_changed(updated, self.writer.table)
        else:
            self.suffix = (
                conflict + " DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated)
            )

    def upsert(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.upsert(rows, self.suffix)

    def insert(
        self, rows: Sequence[Sequence[Any]], *, meanwhile: Callable[[], None] | None = None
    ) -> None:
        """Mappings for external ids the chunk's look-up did not find: COPY
        (PostgreSQL) or plain INSERT (SQLite) straight into the table, without
        the staging table and ON CONFLICT of ``upsert``.

        Nothing else adds a mapping for the same (source, target, external id)
        between that look-up and this write: a run holds its (source, target)
        lease (``services._claim``: one running run per pair, remediation runs
        and replays included, since they are runs claimed the same way), the
        partitions of a run split the external ids between them, the chunks
        of a partition commit one after the other (a dry run's in one
        transaction, which sees its own writes), a resumed partition does not
        write the rows before its checkpoint, and stewards only re-point or
        delete mappings. One window remains: a run failed by another partition
        or by the reconciler frees the lease while a partition of it may still
        commit its current chunk. So the insert runs in a savepoint, and should
        the unique key refuse it, the rows are upserted as before.

        ``meanwhile``: as for ``RecordWriter.insert`` (the pipeline checks
        its next chunk while a fresh chunk's mappings are stored)."""
        if not rows:
            return
        try:
            with transaction.atomic():
                if self.writer.postgresql:
                    with _pg_cursor() as cursor:
                        self.writer.copy(cursor, rows, meanwhile=meanwhile)
                else:
                    self.writer.execute(rows, "")
                    if meanwhile is not None:
                        meanwhile()
        except Exception as exc:
            if not _is_unique_violation(exc):
                raise
            self.upsert(rows)


def _is_unique_violation(exc: BaseException) -> bool:
    """A unique key refused the row (psycopg, sqlite3 or Django's wrapper of either)."""
    cause = exc.__cause__ if isinstance(exc, IntegrityError) and exc.__cause__ else exc
    if getattr(cause, "sqlstate", None) == "23505":
        return True
    return isinstance(cause, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(cause)
