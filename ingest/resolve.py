"""Identity look-ups, one query per chunk each: the id map, natural keys,
references to other targets and the current state of matched records."""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from core import provenance
from ingest.models import ExternalIdMap


@dataclass(slots=True)
class Mapping:
    record_id: int
    payload_hash: str


def _in_list(vendor: str) -> str:
    """``IN`` over one parameter holding every value: one statement shape
    whatever the chunk holds (SQLite keeps one compiled statement, PostgreSQL
    one plan), and no per-value work in the ORM."""
    return "= ANY(%s)" if vendor == "postgresql" else "IN (SELECT value FROM json_each(%s))"


def _values_param(vendor: str, values: Iterable[Any]) -> Any:
    return list(values) if vendor == "postgresql" else json.dumps(list(values))


def _text_list(values: Iterable[str]) -> str:
    """Many text values as one parameter, a JSON array, which PostgreSQL
    takes apart (``json_array_elements_text``). Given as a list, psycopg
    would quote each value in Python: for the 2,000 external ids of a chunk
    that cost 1.1 ms of client CPU against 0.2, and the statement took
    three times as long (3.2 ms against 1.0). Values hold no NUL (which
    PostgreSQL's text refuses): callers leave such values out."""
    return json.dumps(list(values), ensure_ascii=False)


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def id_map_lookup(
    *, source_id: int, target: str, external_ids: Iterable[str]
) -> dict[str, Mapping]:
    # No mapping holds a NUL (PostgreSQL refuses it, even as a parameter).
    wanted = {external_id for external_id in external_ids if "\x00" not in external_id}
    if not wanted:
        return {}
    vendor = connection.vendor
    if vendor == "postgresql":
        rows = _fetch(
            _probe_each(
                "SELECT external_id, record_id, payload_hash",
                f"{_table(ExternalIdMap)} WHERE source_id = %s AND target = %s AND external_id",
            ),
            [_text_list(wanted), source_id, target],
        )
    else:
        rows = _fetch(
            f"SELECT external_id, record_id, payload_hash FROM {_table(ExternalIdMap)}"
            f" WHERE source_id = %s AND target = %s AND external_id {_in_list(vendor)}",
            [source_id, target, _values_param(vendor, wanted)],
        )
    return {
        external_id: Mapping(record_id, payload_hash)
        for external_id, record_id, payload_hash in rows
    }


def _probe_each(select: str, where: str) -> str:
    """PostgreSQL: one index probe per wanted value (``LATERAL … OFFSET 0``
    keeps the planner from turning it into a join), whatever the table's
    statistics say. ``column = ANY(%s)`` with a few thousand values was
    planned as a scan of the whole table (or of the source's whole range of
    the id map's unique key) while the table was new or not analyzed yet,
    which is the case during a first big import: each chunk's look-up then
    cost time in proportion to the table. The first parameter is the
    wanted values (``_text_list``); ``where`` ends with the column compared
    to each."""
    return (
        f"{select} FROM json_array_elements_text(%s::json) AS wanted(value), "
        f"LATERAL ({select} FROM {where} = wanted.value OFFSET 0) AS found"
    )


def lock_natural_keys(*, target: str, keys: Iterable[str]) -> None:
    """PostgreSQL: hold a transaction-level advisory lock on each natural key
    until commit, taken in sorted order so that two lock sets never wait on
    each other in a cycle. Two transactions that would each insert a record
    for the same new key (partitions of one run, runs of two sources) then
    take turns, and the second one's look-up finds the first one's record.
    SQLite needs none: it has one writer at a time."""
    if connection.vendor != "postgresql":
        return
    wanted = sorted({f"{target}:{key}" for key in keys})
    if not wanted:
        return
    _fetch(
        "SELECT count(pg_advisory_xact_lock(h)) FROM "
        "(SELECT DISTINCT hashtextextended(k, 0) AS h"
        " FROM json_array_elements_text(%s::json) AS k ORDER BY h) AS ordered",
        [_text_list(wanted)],
    )


def natural_key_lookup(*, model: type[models.Model], keys: Iterable[str]) -> dict[str, list[int]]:
    """natural key -> ids of the records that have it, oldest first. Usually
    one; several when hand edits or merges made records share a key, and the
    pipeline then needs the next oldest once the oldest moves away."""
    wanted = set(keys)
    if not wanted:
        return {}
    vendor = connection.vendor
    found: dict[str, list[int]] = {}
    if vendor == "postgresql":
        # Without statistics the planner guesses hundreds of records per key,
        # and the plan's cost then crosses jit_above_cost: compiling it took
        # ~35 of the ~50 ms this look-up cost per 2,000-row chunk of a first
        # import. Off for the rest of the chunk's transaction (a look-up
        # outside one, a resumed partition's replay, keeps the default).
        if connection.in_atomic_block:
            _fetch("SET LOCAL jit = off", [])
        rows = _fetch(
            _probe_each("SELECT natural_key, id", f"{_table(model)} WHERE natural_key"),
            [_text_list(wanted)],
        )
    else:
        # No ORDER BY: SQLite would then walk the primary key instead of the index.
        rows = _fetch(
            f"SELECT natural_key, id FROM {_table(model)} WHERE natural_key {_in_list(vendor)}",
            [_values_param(vendor, wanted)],
        )
    for key, record_id in rows:
        found.setdefault(key, []).append(record_id)
    for ids in found.values():
        ids.sort()
    return found


def records_load(
    *, model: type[models.Model], ids: Iterable[int], attnames: Sequence[str]
) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    """id -> (values by attname, provenance) for the records that exist.

    Raw SQL: the columns of this model come back as Python values already
    (integers, text, dates through the drivers' type adapters); only the
    provenance JSON is parsed here (``core.provenance.loads``), and on
    SQLite decimals, which it stores and returns as floats."""
    wanted = set(ids)
    if not wanted:
        return {}
    vendor = connection.vendor
    quote = connection.ops.quote_name
    fields = {field.attname: field for field in model._meta.concrete_fields}
    columns = ", ".join(quote(str(fields[attname].column)) for attname in attnames)
    rows = _fetch(
        f"SELECT id, provenance, {columns} FROM {_table(model)} WHERE id {_in_list(vendor)}",
        [_values_param(vendor, wanted)],
    )
    convert = [
        (index, _sqlite_decimal(field))
        for index, attname in enumerate(attnames)
        if vendor == "sqlite" and isinstance(field := fields[attname], models.DecimalField)
    ]
    loaded = {}
    for row in rows:
        values = dict(zip(attnames, row[2:]))
        for index, converter in convert:
            attname = attnames[index]
            if values[attname] is not None:
                values[attname] = converter(values[attname])
        loaded[row[0]] = (values, provenance.loads(row[1]))
    return loaded


def _sqlite_decimal(field: models.DecimalField) -> Callable[[Any], decimal.Decimal]:
    """SQLite gives a decimal column's value back as a float (or an int):
    as the Decimal it was written as, with the field's decimal places, so
    survivorship compares it with an incoming value exactly (9.9 != Decimal("9.90"))."""
    quantum = decimal.Decimal(1).scaleb(-field.decimal_places)

    def convert(value: Any) -> decimal.Decimal:
        return decimal.Decimal(str(value)).quantize(quantum)

    return convert


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)
