"""Step 7: write a chunk set-based (``ingest.writers``: COPY on PostgreSQL):
insert its new records, overwrite its changed ones, then its id-map rows
when the run's policy keeps them."""

from __future__ import annotations

import datetime as dt
from typing import cast

from core.provenance import Dumps
from ingest.steps.layout import RecordLayout
from ingest.steps.policy import WritePolicy
from ingest.steps.types import Record, Row
from ingest.writers import IdMapWriter, RecordWriter


class ChunkWriter:
    def __init__(
        self, layout: RecordLayout, *, policy: WritePolicy, source_id: int, run_id: int
    ) -> None:
        self.layout = layout
        self.attnames = layout.attnames
        self.policy = policy
        self.source_id = source_id
        self.target_name = layout.target.name
        self.run_id = run_id
        self.record_writer = RecordWriter(
            layout.model,
            [*layout.attnames, "natural_key", "provenance", "created_at", "modified_at"],
        )
        self.id_map_writer = IdMapWriter()

    def write(self, rows: list[Row]) -> None:
        """External ids the id map did not have at look-up are inserted
        straight, the others upserted (see ``IdMapWriter.insert`` for why
        that is safe)."""
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
        if not self.policy.writes_id_map:
            return
        source_id, target, run_id = self.source_id, self.target_name, self.run_id
        new_mappings: list[tuple] = []
        known_mappings: list[tuple] = []
        for row, record in zip(rows, records, strict=True):
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
        # (identity's _track_key); an existing one's may have been read from its row.
        key = record.key if record.is_new else self.layout.natural_key(record)
        return (
            *(values[column] for column in self.attnames),
            key,
            record.stored_provenance or provenance_json(record.provenance),
            now,
            now,
        )
