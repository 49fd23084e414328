"""Set-based writes: one multi-row statement per batch, no ORM object per row.

The same statements run on SQLite and PostgreSQL:
- new records: ``INSERT … VALUES (…), (…) RETURNING id``;
- changed records: ``INSERT … ON CONFLICT (id) DO UPDATE SET …``;
- the id map: ``INSERT … ON CONFLICT (source, target, external_id) DO UPDATE``.

On PostgreSQL the rows travel as one binary text array per column and the
statement reads them with ``unnest``: a short statement whatever the batch
size, with no per-placeholder work on the client.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import connection, models

from ingest.models import ExternalIdMap

Adapter = Callable[[Any], Any] | None


def max_query_params() -> int:
    if connection.vendor == "sqlite":
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 60_000


def batches(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


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
    """How a Python value of this model field becomes a query parameter."""
    ops = connection.ops
    if isinstance(field, models.JSONField):
        return lambda value: ops.adapt_json_value(value, field.encoder)
    if isinstance(field, models.DateTimeField):
        # Every row of a chunk carries the same created/modified time.
        return functools.lru_cache(maxsize=4)(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    return None


class TableWriter:
    """Multi-row INSERT statements for some columns of one model's table."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        quote = connection.ops.quote_name
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        self.adapters: list[Adapter] = [_adapter(field) for field in fields]
        self.table = quote(meta.db_table)
        self.column_list = ", ".join(quote(field.column) for field in fields)
        self.row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        self.unnest = connection.vendor == "postgresql"
        if not self.unnest:
            self.batch_size = min(256, max(1, max_query_params() // len(fields) - 1))
        else:
            aliases = [f"c{index}" for index in range(len(fields))]
            self.unnest_select = (
                "SELECT "
                + ", ".join(f"u.{name}::{field.db_type(connection)}" for name, field in zip(aliases, fields))
                + " FROM unnest("
                + ", ".join(["%b::text[]"] * len(fields))
                + f") WITH ORDINALITY AS u({', '.join(aliases)}, ordinality) ORDER BY u.ordinality"
            )
            self.batch_size = 20_000

    def adapt(self, row: Sequence[Any]) -> list[Any]:
        return [
            value if adapter is None or value is None else adapter(value)
            for value, adapter in zip(row, self.adapters)
        ]

    def execute(self, rows: Sequence[Sequence[Any]], suffix: str) -> list[tuple]:
        """INSERT the rows in batches; return what ``suffix`` RETURNs, if anything."""
        returned: list[tuple] = []
        with _cursor() as cursor:
            for batch in (batches if self.unnest else shaped_batches)(rows, self.batch_size):
                if self.unnest:
                    sql = f"INSERT INTO {self.table} ({self.column_list}) {self.unnest_select}{suffix}"
                    params = [[_as_text(value) for value in column] for column in zip(*batch)]
                else:
                    sql = (
                        f"INSERT INTO {self.table} ({self.column_list}) VALUES "
                        + ", ".join([self.row_placeholder] * len(batch))
                        + suffix
                    )
                    params = [value for row in batch for value in self.adapt(row)]
                cursor.execute(sql, params)
                if "RETURNING" in suffix:
                    returned.extend(cursor.fetchall())
        return returned


def _cursor() -> Any:
    """On PostgreSQL, a plain psycopg cursor on Django's own connection (same
    transaction), which can send the arrays in binary (``%b``): in text form
    every quote of the JSON provenance is escaped through a Python regex,
    which cost more than the insert itself."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)
    return connection.cursor()


def _as_text(value: Any) -> str | None:
    """A value as PostgreSQL reads it back from text (for unnest)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def fields_by_attname(model: type[models.Model]) -> dict[str, models.Field]:
    return {field.attname: field for field in model._meta.concrete_fields}


class RecordWriter:
    """Inserts and updates core records of one target, given as value lists
    in the order of ``attnames``."""

    def __init__(self, model: type[models.Model], attnames: Sequence[str]) -> None:
        model_fields = fields_by_attname(model)
        names = [model_fields[attname].name for attname in attnames]
        quote = connection.ops.quote_name
        self.attnames = list(attnames)
        self.inserter = TableWriter(model, names)
        self.upserter = TableWriter(model, ["id", *names])
        updatable = [
            quote(model._meta.get_field(name).column) for name in names if name != "created_at"
        ]
        self.update_suffix = (
            " ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(f"{column} = excluded.{column}" for column in updatable)
        )

    def insert(self, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert new records; return their ids in the order given."""
        return [row[0] for row in self.inserter.execute(rows, " RETURNING id")]

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        """Overwrite existing records; each row starts with the record's id."""
        self.upserter.execute(rows, self.update_suffix)


class IdMapWriter:
    """Upserts ExternalIdMap rows: (source_id, target, external_id, record_id,
    payload_hash, first_run_id, last_run_id). ``first_run`` is kept on update."""

    def __init__(self) -> None:
        self.writer = TableWriter(
            ExternalIdMap,
            ["source", "target", "external_id", "record_id", "payload_hash", "first_run", "last_run"],
        )
        self.suffix = (
            " ON CONFLICT (source_id, target, external_id) DO UPDATE SET "
            "record_id = excluded.record_id, payload_hash = excluded.payload_hash, "
            "last_run_id = excluded.last_run_id"
        )

    def upsert(self, rows: Sequence[Sequence[Any]]) -> None:
        self.writer.execute(rows, self.suffix)
