"""The row pipeline for one chunk: read → look up the id map → validate
(except rows unchanged since their last import) → dedupe in file → resolve
references → resolve identity and survivorship merge (row by row, in file
order) → write.

Every row leaves with exactly one outcome (inserted, updated, unchanged,
skipped, quarantined) and, when valid, one dedupe decision (inserted,
resolved, skipped). A chunk is a few thousand rows; every database look-up is
one query per chunk and every write one statement per batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import models

from core.provenance import Dumps
from ingest import fields as rules
from ingest import resolve, survivorship
from ingest.models import Source
from ingest.readers import ReadRow
from ingest.registry import Target
from ingest.seen import SeenKeys, key64
from ingest.writers import IdMapWriter, RecordWriter, fields_by_attname

INSERTED = "inserted"
UPDATED = "updated"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
QUARANTINED = "quarantined"
OUTCOMES = (INSERTED, UPDATED, UNCHANGED, SKIPPED, QUARANTINED)

DECISION_INSERTED = "inserted"
DECISION_RESOLVED = "resolved"
DECISION_SKIPPED = "skipped"
DECISIONS = (DECISION_INSERTED, DECISION_RESOLVED, DECISION_SKIPPED)

MATCHED_BY_ID_MAP = "external_id"
MATCHED_BY_NATURAL_KEY = "natural_key"
MATCHED_IN_FILE = "in_file"


class Record:
    """A core record as the chunk sees it: loaded, or new and not yet inserted."""

    __slots__ = ("id", "values", "provenance", "is_new", "dirty", "key", "sequence")

    def __init__(self, id: int | None, values: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.id = id
        self.values = values
        self.provenance = provenance
        self.is_new = id is None
        self.dirty = False
        self.key: str | None = None  # its natural key as the chunk last saw it
        self.sequence = 0  # for a new record, the row number that created it

    def rank(self) -> tuple[int, int]:
        """Oldest first: existing records by id, then new ones in row order."""
        return (1, self.sequence) if self.is_new or self.id is None else (0, self.id)


@dataclass(slots=True)
class Row:
    """One row's journey through the pipeline and its explicit result."""

    number: int
    payload: dict[str, str]
    external_id: str = ""
    clean: dict[str, Any] | None = None
    errors: Sequence[dict[str, str]] = ()
    payload_hash: str = ""
    outcome: str | None = None
    decision: str | None = None
    matched_by: str = ""
    matched_key: str = ""
    record: Record | None = None
    changed_fields: Sequence[str] = ()
    mapped: bool = False  # the id map had its external id at look-up
    values_mapped: int = 0  # values replaced by the source's value mappings
    # A dry run only: the changed fields' values before this row's merge,
    # so its preview can show old → new.
    previous: dict[str, Any] | None = None

    def quarantine(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        self.outcome = QUARANTINED

    def skip(self) -> None:
        self.outcome = SKIPPED
        self.decision = DECISION_SKIPPED


@dataclass
class Counts:
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    quarantined: int = 0
    resolved: int = 0
    values_mapped: int = 0

    def add_rows(self, rows: Sequence[Row]) -> Counts:
        for row in rows:
            self.rows_total += 1
            outcome = cast(str, row.outcome)  # every row counted has its outcome
            setattr(self, outcome, getattr(self, outcome) + 1)
            if row.decision == DECISION_RESOLVED:
                self.resolved += 1
            if row.values_mapped:
                self.values_mapped += row.values_mapped
        return self

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def payload_hash(target: Target, payload: dict[str, str]) -> str:
    """Hash of the trimmed values of the target's fields, in field order:
    the same row with other whitespace or column order hashes the same."""
    return trimmed_hash([rules.trim(payload.get(name) or "") for name in target.field_names])


def trimmed_hash(trimmed: Sequence[str]) -> str:
    """``payload_hash`` of values already trimmed, in field order."""
    return hashlib.blake2b("\x1f".join(trimmed).encode(), digest_size=16).hexdigest()


class ChunkProcessor:
    """Runs chunks of one run through the pipeline. Holds what must outlive a
    chunk: the in-file duplicate tracker and the compiled writers."""

    def __init__(
        self,
        *,
        target: Target,
        source: Source,
        run_id: int,
        imported_at: dt.datetime,
        dry_run: bool = False,
        value_mappings: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.target = target
        # {field: {from: to}}: the source's remembered replacements (dq value
        # mappings, as the run recorded them), applied as a row is read.
        self.value_mappings = [
            (name, mapping)
            for name, mapping in (value_mappings or {}).items()
            if name in target.field_names and mapping
        ]
        self.dry_run = dry_run
        self.model: type[models.Model] = target.model
        self.source_id = source.pk
        self.source_slug = source.slug
        self.run_id = run_id
        self.imported_at = survivorship.timestamp(imported_at)
        self.seen = SeenKeys()
        self.data_fields = [(f.name, f.column) for f in target.data_fields if f.column]
        self.attnames = [column for _, column in self.data_fields]
        model_fields = fields_by_attname(self.model)
        self.defaults = {column: model_fields[column].get_default() for column in self.attnames}
        # A new record starts empty, so its first row can skip survivorship's checks.
        self.fill_new_records = all(
            survivorship.is_empty(value) for value in self.defaults.values()
        )
        self.check_row = rules.compile_row_check(target.fields)
        self.record_writer = RecordWriter(
            self.model, [*self.attnames, "natural_key", "provenance", "created_at", "modified_at"]
        )
        self.id_map_writer = IdMapWriter()

    # The steps, in order.

    def process(self, read_rows: Sequence[ReadRow], *, write: bool = True) -> list[Row]:
        rows = [self.read(read_row) for read_row in read_rows]
        wanted = (row.external_id for row in rows if row.outcome is None)
        mappings = resolve.id_map_lookup(
            source_id=self.source_id, target=self.target.name, external_ids=wanted
        )
        for row in rows:
            if row.outcome is None:
                self.validate(row, mappings.get(row.external_id))
        valid = [row for row in rows if row.outcome is None]
        valid = self.dedupe_in_file(valid)
        valid = self.resolve_references(valid)
        # A dry run never commits, so no other writer can meet its records,
        # and one transaction holding every key of a large file would
        # overflow PostgreSQL's lock table.
        valid = self.resolve_identity(valid, mappings, lock=write and not self.dry_run)
        if write:
            self.write(valid)
        return rows

    def read(self, read_row: ReadRow) -> Row:
        row = Row(number=read_row.number, payload=read_row.values)
        if self.value_mappings and read_row.error is None:
            row.values_mapped = self.map_values(read_row.values)
        external_id = rules.trim(read_row.values.get(self.target.external_id_field) or "")
        row.external_id = external_id[:255]
        if read_row.error is not None:
            row.quarantine([rules.error("", read_row.code, read_row.error)])
        return row

    def map_values(self, values: dict[str, str]) -> int:
        """Replace values the source's mappings know (as read, or trimmed),
        before validation; returns how many were replaced."""
        replaced = 0
        for name, mapping in self.value_mappings:
            value = values.get(name)
            if value is None:
                continue
            to = mapping.get(value)
            if to is None and value.strip() != value:
                to = mapping.get(value.strip())
            if to is not None:
                values[name] = to
                replaced += 1
        return replaced

    def validate(self, row: Row, mapping: resolve.Mapping | None) -> None:
        """Check the row's values. A row whose values hash as those last
        imported for its external id is not checked again: it was valid then
        and is skipped (no work), so it only needs its hash; ``clean`` stays
        None. This is what makes re-importing an unchanged file cheap."""
        if mapping is not None:
            trimmed = self._trimmed(row.payload)
            if trimmed is not None and trimmed_hash(trimmed) == mapping.payload_hash:
                row.payload_hash = mapping.payload_hash
                return
        clean, errors, trimmed = self.check_row(row.payload)
        if errors:
            row.quarantine(errors)
            return
        row.clean = clean
        row.payload_hash = (
            trimmed_hash(trimmed) if trimmed is not None else payload_hash(self.target, row.payload)
        )

    def _trimmed(self, payload: dict[str, Any]) -> list[str] | None:
        """The payload's values trimmed, in field order, as the row check
        hashes them; None when one is not text (the check then decides)."""
        trimmed = []
        for name in self.target.field_names:
            raw = payload.get(name)
            if raw is None:
                trimmed.append("")
            elif raw.__class__ is str:
                raw = raw.strip()  # rules.trim(), inlined
                trimmed.append(raw if raw.isascii() else rules.trim(raw))
            else:
                return None
        return trimmed

    def dedupe_in_file(self, rows: list[Row]) -> list[Row]:
        """An exact repeat of an earlier row is skipped; the same external id
        with other values is quarantined as duplicate_in_file."""
        keys = [key64(row.external_id) for row in rows]
        earlier = self.seen.lookup(keys)
        in_chunk: dict[int, tuple[int, int]] = {}
        kept = []
        for row, key, seen in zip(rows, keys, earlier):
            hash64 = int(row.payload_hash[:16], 16)
            seen = seen or in_chunk.get(key)
            if seen is None:
                in_chunk[key] = (hash64, row.number)
                kept.append(row)
            elif seen[0] == hash64:
                row.skip()
                row.matched_by = MATCHED_IN_FILE
                row.matched_key = row.external_id
            else:
                message = rules.MSG_DUPLICATE_IN_FILE.format(
                    external_id=row.external_id, first_row=seen[1]
                )
                row.quarantine(
                    [rules.error(self.target.external_id_field, rules.DUPLICATE_IN_FILE, message)]
                )
        self.seen.add(
            list(in_chunk), [v[0] for v in in_chunk.values()], [v[1] for v in in_chunk.values()]
        )
        return kept

    def resolve_references(self, rows: list[Row]) -> list[Row]:
        """Turn each reference's external id into the referenced record's id,
        through the id map of the same source; unknown ones quarantine the row.
        Rows unchanged since their last import (not checked: ``clean`` is
        None) pass as they are: they will be skipped."""
        for reference in self.target.references:
            values = {
                row.clean[reference.name] for row in rows if row.clean and row.clean[reference.name]
            }
            found = resolve.id_map_lookup(
                source_id=self.source_id, target=reference.target, external_ids=values
            )
            kept = []
            for row in rows:
                value = row.clean[reference.name] if row.clean else None
                if value is None:
                    kept.append(row)
                elif value in found and row.clean is not None:
                    row.clean[reference.name] = found[value].record_id
                    kept.append(row)
                else:
                    message = rules.MSG_UNKNOWN_REFERENCE.format(
                        target=reference.target, value=value
                    )
                    row.quarantine([rules.error(reference.name, rules.UNKNOWN_REFERENCE, message)])
            rows = kept
        return rows

    def resolve_identity(
        self, rows: list[Row], mappings: dict[str, resolve.Mapping], *, lock: bool = False
    ) -> list[Row]:
        """Find each row's record and merge the row into it: through the id
        map, else through the natural key, else a new record. Rows whose
        payload hash equals the mapped one are skipped.

        Resolution and merge go row by row in file order because a merge can
        move a record's natural key: a later row must find the record where
        the earlier rows left it, exactly as if every row were its own chunk
        (the result must not depend on the chunk size).

        With ``lock`` (a chunk that will write), the chunk first locks its
        natural keys, so a concurrent writer of the same new key (another
        partition, another source) waits for this one and then finds its record.
        ``mappings``: the id map's entries for the chunk's external ids."""
        kept = []
        for row in rows:
            mapping = mappings.get(row.external_id)
            row.mapped = mapping is not None
            if mapping is not None and mapping.payload_hash == row.payload_hash:
                row.skip()
                row.matched_by = MATCHED_BY_ID_MAP
                row.matched_key = row.external_id
            else:
                kept.append(row)
        rows = kept

        # Rows left here were checked: each has its clean values.
        natural_keys = [self.target.natural_key(cast(dict, row.clean)) for row in rows]
        if lock:
            resolve.lock_natural_keys(
                target=self.target.name, keys=(key for key in natural_keys if key)
            )
        ids_by_key = resolve.natural_key_lookup(
            model=self.model, keys=(key for key in natural_keys if key)
        )
        wanted_ids = {mappings[r.external_id].record_id for r in rows if r.external_id in mappings}
        for ids in ids_by_key.values():
            wanted_ids.update(ids)
        loaded = resolve.records_load(model=self.model, ids=wanted_ids, attnames=self.attnames)

        records: dict[int, Record] = {}
        key: str | None

        def existing(record_id: int) -> Record | None:
            if record_id not in records and record_id in loaded:
                values, provenance = loaded[record_id]
                record = records[record_id] = Record(record_id, values, provenance)
                record.key = self._natural_key(record)
            return records.get(record_id)

        # Who holds each natural key a row asks about, as the rows go by.
        holders: dict[str, list[Record]] = {key: [] for key in natural_keys if key}
        for key, ids in ids_by_key.items():
            for record_id in ids:
                record = existing(record_id)
                if record is not None:
                    record.key = key
                    holders[key].append(record)

        for row, key in zip(rows, natural_keys):
            mapping = mappings.get(row.external_id)
            record = existing(mapping.record_id) if mapping else None
            if record is not None:
                row.matched_by = MATCHED_BY_ID_MAP
                row.matched_key = row.external_id
            elif key and holders[key]:
                # The oldest holder: existing records by id, then new ones in row order.
                record = min(holders[key], key=Record.rank)
                row.matched_by = MATCHED_BY_NATURAL_KEY
                row.matched_key = key
            else:
                record = Record(None, dict(self.defaults), {})
                record.sequence = row.number
                row.decision = DECISION_INSERTED
            row.record = record
            row.decision = row.decision or DECISION_RESOLVED
            self._merge_row(row)
            if row.decision == DECISION_INSERTED and self.fill_new_records:
                # Filled from the row alone (survivorship.fill_new): the
                # record's natural key is the row's, already worked out.
                record.key = key
                if key:
                    holders[key].append(record)
            elif row.decision == DECISION_INSERTED or row.changed_fields:
                self._track_key(record, holders)
        return rows

    def _track_key(self, record: Record, holders: dict[str, list[Record]]) -> None:
        """Move the record to the holders of its natural key as it now stands."""
        key = self._natural_key(record)
        if key == record.key:
            return
        if record.key is not None and record in holders.get(record.key, ()):
            holders[record.key].remove(record)
        record.key = key
        if key in holders:
            holders[key].append(record)

    def _natural_key(self, record: Record) -> str | None:
        return self.target.natural_key(
            {name: record.values[column] for name, column in self.data_fields}
        )

    def _merge_row(self, row: Row) -> None:
        """Apply survivorship to one row's record."""
        timestamp_field = self.target.timestamp_field
        record, clean = cast(Record, row.record), cast(dict, row.clean)  # resolved rows only
        stamp = clean.get(timestamp_field) if timestamp_field else None
        origin = {
            "source": self.source_slug,
            "run": self.run_id,
            "at": survivorship.timestamp(stamp) if stamp else self.imported_at,
            "manual": False,
        }
        incoming = {column: clean[name] for name, column in self.data_fields}
        if self.fill_new_records and record.is_new and not record.provenance:
            changed = survivorship.fill_new(
                record.values, record.provenance, incoming, origin=origin
            )
            touched = True
        else:
            # A dry run keeps what the merge overwrites (its preview shows
            # old → new); a real import never pays for the copy.
            before = dict(record.values) if self.dry_run else None
            changed, touched = survivorship.merge(
                record.values, record.provenance, incoming, origin=origin
            )
            if before is not None and changed and not record.is_new:
                row.previous = {column: before.get(column) for column in changed}
        row.changed_fields = changed
        record.dirty = record.dirty or touched
        if row.decision == DECISION_INSERTED:
            row.outcome = INSERTED
        else:
            row.outcome = UPDATED if changed else UNCHANGED

    def write(self, rows: list[Row]) -> None:
        """Insert new records, overwrite changed ones, then write the id map
        (not in a dry run): external ids it did not have at look-up are
        inserted straight, the others upserted (see ``IdMapWriter.insert``
        for why that is safe)."""
        now = dt.datetime.now(dt.UTC)
        records = [cast(Record, row.record) for row in rows]  # each written row has its record
        new = list({id(record): record for record in records if record.is_new}.values())
        changed = list(
            {
                id(record): record for record in records if not record.is_new and record.dirty
            }.values()
        )
        provenance_json = Dumps()
        if new:
            ids = self.record_writer.insert(
                [self._record_row(record, now, provenance_json) for record in new]
            )
            for record, record_id in zip(new, ids, strict=True):
                record.id = record_id
        if changed:
            self.record_writer.update(
                [(record.id, *self._record_row(record, now, provenance_json)) for record in changed]
            )
        if self.dry_run:
            # A dry run rolls back, and nothing in it reads its own mappings:
            # a later row with the same external id stops at the in-file
            # duplicate check, before any id-map look-up.
            return
        source_id, target, run_id = self.source_id, self.target.name, self.run_id
        new_mappings: list[tuple] = []
        known_mappings: list[tuple] = []
        for row, record in zip(rows, records):
            (known_mappings if row.mapped else new_mappings).append(
                (
                    source_id,
                    target,
                    row.external_id,
                    record.id,
                    row.payload_hash,
                    run_id,
                    run_id,
                )
            )
        self.id_map_writer.insert(new_mappings)
        self.id_map_writer.upsert(known_mappings)

    def _record_row(self, record: Record, now: dt.datetime, provenance_json: Dumps) -> tuple:
        values = record.values
        # A new record's key was worked out from its values as they now stand
        # (_track_key); an existing one's may have been read from its row.
        key = record.key if record.is_new else self._natural_key(record)
        return (
            *(values[column] for column in self.attnames),
            key,
            provenance_json(record.provenance),
            now,
            now,
        )
