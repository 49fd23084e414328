"""Step 6: survivorship merge of one row into the record it resolved to
(``ingest.survivorship``: manual > most recent > non-null), which sets the
row's outcome: inserted, updated or unchanged."""

from __future__ import annotations

import datetime as dt
from typing import cast

from ingest import survivorship
from ingest.steps.layout import RecordLayout
from ingest.steps.types import DECISION_INSERTED, INSERTED, UNCHANGED, UPDATED, Record, Row


class Merger:
    def __init__(
        self,
        layout: RecordLayout,
        *,
        source_slug: str,
        run_id: int,
        imported_at: dt.datetime,
        keeps_previous_values: bool = False,
    ) -> None:
        self.keeps_previous_values = keeps_previous_values
        self.timestamp_field = layout.target.timestamp_field
        self.data_fields = layout.data_fields
        self.fill_new_records = layout.fill_new_records
        self.source_slug = source_slug
        self.run_id = run_id
        self.imported_at = survivorship.timestamp(imported_at)

    def merge(self, row: Row) -> None:
        timestamp_field = self.timestamp_field
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
            before = dict(record.values) if self.keeps_previous_values else None
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
