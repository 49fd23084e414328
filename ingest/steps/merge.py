"""Step 6: survivorship merge of one row into the record it resolved to
(``ingest.survivorship``: manual > most recent > non-null), which sets the
row's outcome: inserted, updated or unchanged. A new record's first row
(most rows of a fresh import) takes a shorter path, ``fill_new``, which
also makes the record's stored provenance."""

from __future__ import annotations

import datetime as dt
from typing import cast

from core.provenance import TimedEntries
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
        self.imported_at = survivorship.timestamp(imported_at)
        # Where this run's values come from; "at" is each row's time.
        self.origin = {"source": source_slug, "run": run_id, "at": None, "manual": False}
        self.stored_provenance = TimedEntries({**self.origin, "rule": survivorship.RULE_NON_NULL})

    def merge(self, row: Row) -> None:
        record, clean = cast(Record, row.record), cast(dict, row.clean)  # resolved rows only
        if self.fill_new_records and record.is_new and not record.provenance:
            self.fill_new(row)
            return
        origin = {**self.origin, "at": self.row_time(clean)}
        incoming = {column: clean[name] for name, column in self.data_fields}
        before = dict(record.values) if self.keeps_previous_values else None
        changed, touched = survivorship.merge(
            record.values, record.provenance, incoming, origin=origin
        )
        if before is not None and changed and not record.is_new:
            row.previous = {column: before.get(column) for column in changed}
        row.changed_fields = changed
        if touched:
            record.dirty = True
            record.stored_provenance = None  # made by fill_new, for what it filled
        row.outcome = _outcome(row, changed)

    def row_time(self, clean: dict) -> str:
        """What dates a row's values: its timestamp field when set, else the
        import's time (survivorship's text form)."""
        stamp = clean.get(self.timestamp_field) if self.timestamp_field else None
        return survivorship.timestamp(stamp) if stamp else self.imported_at

    def fill_new(self, row: Row) -> None:
        """``merge`` of a row into a new record that starts empty (as
        ``RecordLayout.fill_new_records`` says) and that nothing filled yet:
        every non-empty value fills its field by the non-null rule, the
        result ``survivorship.merge`` gives without its per-field checks
        (tests/ingest/test_fast_paths.py holds it to that). A fresh import
        fills a record per row, so the stored provenance is made here too,
        from pieces (``Record.stored_provenance``)."""
        record, clean = cast(Record, row.record), cast(dict, row.clean)
        at = self.row_time(clean)
        values = record.values
        changed = []
        for name, column in self.data_fields:
            value = clean[name]
            if value is not None and value != "":
                values[column] = value
                changed.append(column)
        entry = {**self.origin, "at": at, "rule": survivorship.RULE_NON_NULL}
        record.provenance = dict.fromkeys(changed, entry)
        record.stored_provenance = self.stored_provenance(at, tuple(changed))
        record.dirty = True
        row.changed_fields = changed
        row.outcome = _outcome(row, changed)


def _outcome(row: Row, changed: list[str]) -> str:
    if row.decision == DECISION_INSERTED:
        return INSERTED
    return UPDATED if changed else UNCHANGED
