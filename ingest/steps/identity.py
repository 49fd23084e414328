"""Step 5: find each row's record, through the id map, else through the
natural key, else a new one, and merge the row into it (step 6, ``merge``)
before the next row is resolved.

Resolution and merge go row by row in file order because a merge can move
a record's natural key: a later row must find the record where the earlier
rows left it, exactly as if every row were its own chunk (the result must
not depend on the chunk size).
"""

from __future__ import annotations

from typing import cast

from ingest import resolve
from ingest.steps.layout import RecordLayout
from ingest.steps.merge import Merger
from ingest.steps.types import (
    DECISION_INSERTED,
    DECISION_RESOLVED,
    MATCHED_BY_ID_MAP,
    MATCHED_BY_NATURAL_KEY,
    Record,
    Row,
)


def id_map_entries(rows: list[Row], *, target: str, source_id: int) -> dict[str, resolve.Mapping]:
    """The id map's entries for the external ids of the rows not yet
    quarantined: looked up once per chunk, before validation, which skips
    the rows unchanged since their last import."""
    wanted = [row.external_id for row in rows if row.outcome is None]
    return resolve.id_map_lookup(source_id=source_id, target=target, external_ids=wanted)


def resolve_identity(
    rows: list[Row],
    mappings: dict[str, resolve.Mapping],
    *,
    layout: RecordLayout,
    merger: Merger,
    lock: bool,
) -> list[Row]:
    """Resolve and merge the rows; returns those that reached a record.
    Rows whose payload hash equals the mapped one are skipped.

    With ``lock`` (a chunk that will write and commit), the chunk first locks
    its natural keys, so a concurrent writer of the same new key (another
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

    target, model = layout.target, layout.model
    # Rows left here were checked: each has its clean values.
    natural_keys = [target.natural_key(cast(dict, row.clean)) for row in rows]
    asked = [key for key in natural_keys if key]
    if lock:
        resolve.lock_natural_keys(target=target.name, keys=asked)
    ids_by_key = resolve.natural_key_lookup(model=model, keys=asked)
    wanted_ids = {mappings[r.external_id].record_id for r in rows if r.external_id in mappings}
    for ids in ids_by_key.values():
        wanted_ids.update(ids)
    loaded = resolve.records_load(model=model, ids=wanted_ids, attnames=layout.attnames)

    records: dict[int, Record] = {}
    key: str | None

    def existing(record_id: int) -> Record | None:
        if record_id not in records and record_id in loaded:
            values, provenance = loaded[record_id]
            record = records[record_id] = Record(record_id, values, provenance)
            record.key = layout.natural_key(record)
        return records.get(record_id)

    # Who holds each natural key a row asks about, as the rows go by.
    holders: dict[str, list[Record]] = {key: [] for key in natural_keys if key}
    for key, ids in ids_by_key.items():
        for record_id in ids:
            record = existing(record_id)
            if record is not None:
                record.key = key
                holders[key].append(record)

    defaults, fill_new_records, merge = layout.defaults, layout.fill_new_records, merger.merge
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
            record = Record(None, dict(defaults), {})
            record.sequence = row.number
            row.decision = DECISION_INSERTED
        row.record = record
        row.decision = row.decision or DECISION_RESOLVED
        merge(row)
        if row.decision == DECISION_INSERTED and fill_new_records:
            # Filled from the row alone (Merger.fill_new): the record's
            # natural key is the row's, already worked out.
            record.key = key
            if key:
                holders[key].append(record)
        elif row.decision == DECISION_INSERTED or row.changed_fields:
            _track_key(record, holders, layout)
    return rows


def _track_key(record: Record, holders: dict[str, list[Record]], layout: RecordLayout) -> None:
    """Move the record to the holders of its natural key as it now stands."""
    key = layout.natural_key(record)
    if key == record.key:
        return
    if record.key is not None and record in holders.get(record.key, ()):
        holders[record.key].remove(record)
    record.key = key
    if key in holders:
        holders[key].append(record)
