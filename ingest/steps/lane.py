"""The column-wise engine's lane (``IMPORTER_ENGINE=columns``): a chunk
whose every valid row makes a new record of its own (no external id in the
id map, none seen earlier in the file, no natural key held by a record or
shared by two rows: most chunks of a fresh import or a dry run) is checked,
filled and written column by column, without the per-row steps; its
references are resolved through the id map for the whole chunk at once, as
the references step resolves them (a row with an unknown one is
quarantined). Any other chunk goes through the steps row by row: the lane decides before it writes
anything, and leaves the rows as the validate step would: the invalid ones
quarantined with the row check's errors, the others with their clean values
and hash (the steps do not check them again).

What it gives is what the steps give, byte for byte: the same records, ids
(new records in row order), provenance, id map, violations and results
(tests/ingest/test_engine_parity.py holds the two engines together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from core.provenance import TimedEntries
from ingest import fields as rules
from ingest import resolve, survivorship
from ingest.columns import ColumnCheck, Columns, Vouched, runs_here
from ingest.steps.dedupe import InFileDedupe
from ingest.steps.layout import RecordLayout
from ingest.steps.merge import Merger
from ingest.steps.policy import WritePolicy
from ingest.steps.references import unknown_reference
from ingest.steps.types import DECISION_INSERTED, INSERTED, Record, Row
from ingest.steps.write import ChunkWriter

# What the column-wise checks found for a chunk (NewRecordsLane._check).
_Checked = tuple[list[Row], Columns, list[int], Vouched]


class NewRecordsLane:
    def __init__(
        self,
        layout: RecordLayout,
        *,
        merger: Merger,
        writer: ChunkWriter,
        in_file: InFileDedupe,
        policy: WritePolicy,
    ) -> None:
        target = layout.target
        self.target = target
        self.columns = ColumnCheck(target.fields)
        self.check_row = rules.compile_row_check(target.fields)
        self.in_file = in_file
        self.writer = writer
        self.policy = policy
        self.names = list(target.field_names)
        position = {name: index for index, name in enumerate(self.names)}
        # Per data column: where its value is among the fields, and what a
        # new record holds when the row leaves it empty.
        self.data = [
            (position[name], column, layout.defaults[column]) for name, column in layout.data_fields
        ]
        self.timestamp = (
            position[target.timestamp_field] if target.timestamp_field in position else None
        )
        self.imported_at = merger.imported_at
        self.stored_provenance: TimedEntries = merger.stored_provenance
        # Each reference: its field's index and the field.
        self.references = [
            (position[field.name], field)
            for field in target.fields
            if isinstance(field, rules.Reference)
        ]
        # A record that does not start empty needs survivorship: it does not
        # take the lane. Nor does a process that cannot run polars
        # (ingest.columns.runs_here).
        self.usable = layout.fill_new_records and runs_here()
        # Chunks still to leave to the steps without a look (see UNVOUCHED_REST).
        self.resting = 0
        # A chunk checked ahead (check_ahead), with what its check found.
        self.ahead: tuple[list[Row], _Checked | None] | None = None

    # A file whose valid rows the columns cannot vouch for (a time written
    # to the hour only, say) would pay the column-wise checks and the row
    # check for every row: after a chunk with a quarter of its valid rows
    # unvouched, the lane leaves this many chunks to the steps unseen, then
    # looks again. A file keeps its formats, so one chunk in ten is paid.
    UNVOUCHED_REST = 9

    def process(
        self, rows: list[Row], *, lock: bool, meanwhile: Callable[[], None] | None = None
    ) -> bool:
        """Import the chunk's rows (none of them in the id map) and return
        True, or return False for the per-row steps to take them all.
        ``meanwhile``: the caller's work to do while the database stores the
        records and again while it stores their id map (``RecordWriter`` and
        ``IdMapWriter.insert``; a dry run, which writes no id map, calls it
        twice for its records); called only when True is returned."""
        if not self.usable:
            return False
        if self.resting:
            self.resting -= 1
            return False
        ahead, self.ahead = self.ahead, None
        found = ahead[1] if ahead is not None and ahead[0] is rows else self._check(rows)
        if found is None:
            return False
        candidates, columns, positions, vouched = found
        unvouched = 0  # valid rows the columns do not vouch for
        if len(positions) != len(candidates):
            sure = set(positions)
            for index, row in enumerate(candidates):
                if index not in sure:
                    clean, errors, _ = self.check_row(row.payload)
                    if errors:
                        row.quarantine(errors)  # as the validate step would
                    else:
                        row.clean, row.payload_hash = clean, columns.hashes[index]
                        unvouched += 1
        if unvouched and unvouched * 4 >= unvouched + len(positions):
            self.resting = self.UNVOUCHED_REST
        valid = [candidates[index] for index in positions]
        hashes = [columns.hashes[index] for index in positions]
        values = vouched.by_name()  # each field's Python values, made when first read

        def checked() -> bool:
            """Leave the chunk to the steps, each valid row with its clean
            values and hash: they are not checked a second time."""
            names = self.names
            cleans = zip(*(values[name] for name in names)) if valid else ()
            for row, clean, payload_hash in zip(valid, cleans, hashes):
                row.clean, row.payload_hash = dict(zip(names, clean)), payload_hash
            return False

        if unvouched:
            return checked()
        # In-file dedupe: nothing seen before, no external id twice.
        keys64 = self.in_file.unseen(valid)
        if keys64 is None:
            return checked()
        # References, as resolve_references resolves them: through the id
        # map of the same source; a row with one it does not hold is
        # quarantined (its first such reference, in field order).
        resolved, unknown = self._resolve_references(vouched)
        kept = [at for at in range(len(valid)) if at not in unknown]
        written = vouched.subset(kept) if unknown else vouched
        ids = {index: [column[at] for at in kept] for index, column in resolved.items()}
        # The natural keys of the records to be: references as record ids.
        record_values = written.by_name(
            {self.names[index]: column for index, column in ids.items()}
        )
        natural_keys = self.target.natural_keys(record_values) if kept else []
        asked = [key for key in natural_keys if key]
        if len(set(asked)) != len(asked):
            return checked()
        if lock:
            resolve.lock_natural_keys(target=self.target.name, keys=asked)
        if resolve.natural_key_lookup(model=self.writer.layout.model, keys=asked):
            return checked()

        # The steps remember a row before its references are resolved.
        self.in_file.remember(keys64, hashes, valid)
        for at, error in unknown.items():
            valid[at].quarantine([error])
        self._write(
            [valid[at] for at in kept],
            [hashes[at] for at in kept],
            written,
            natural_keys,
            ids,
            meanwhile,
        )
        return True

    def check_ahead(self, rows: list[Row]) -> None:
        """Check a chunk's columns before it is processed: its partition
        asks while the database stores the chunk before it (``meanwhile``).
        Not when the chunk will be left to the steps unseen."""
        if self.usable and not self.resting:
            self.ahead = (rows, self._check(rows))

    def _check(self, rows: list[Row]) -> _Checked | None:
        """The column-wise checks of the rows not yet quarantined: those
        rows, their columns, the positions of the rows the columns vouch
        for, and those rows' values; None when the columns cannot be read."""
        candidates = [row for row in rows if row.outcome is None]
        columns = self.columns.read([row.payload for row in candidates])
        if columns is None:
            return None
        positions, vouched = self.columns.check_frame(columns)
        return candidates, columns, positions, vouched

    def _resolve_references(
        self, vouched: Vouched
    ) -> tuple[dict[int, list[Any]], dict[int, dict[str, str]]]:
        """Each reference field's record ids (by field index; None where the
        row leaves it empty or its value is unknown), and the error of each
        row (by position) with an unknown one."""
        resolved: dict[int, list[Any]] = {}
        unknown: dict[int, dict[str, str]] = {}
        writer = self.writer
        for index, reference in self.references:
            column = vouched.values(index)
            found = resolve.id_map_lookup(
                source_id=writer.source_id,
                target=reference.target,
                external_ids={value for value in column if value},
            )
            ids = []
            for at, value in enumerate(column):
                entry = found.get(value) if value else None
                ids.append(None if entry is None else entry.record_id)
                if value and entry is None and at not in unknown:
                    unknown[at] = unknown_reference(reference, value)
            resolved[index] = ids
        return resolved, unknown

    def _write(
        self,
        rows: list[Row],
        hashes: list[str],
        vouched: Vouched,
        natural_keys: list[str | None],
        resolved: dict[int, list[Any]],
        meanwhile: Callable[[], None] | None,
    ) -> None:
        """``Merger.fill_new`` and ``ChunkWriter.write``, column by column;
        ``resolved``: the record ids of the reference fields, by field index."""
        record_columns: list[list[Any]] = []
        masks = [0] * len(rows)
        for bit, (index, _, default) in enumerate(self.data):
            flag = 1 << bit
            column = resolved[index] if index in resolved else vouched.values(index)
            record_columns.append(
                [value if value is not None and value != "" else default for value in column]
            )
            masks = [
                mask | flag if value is not None and value != "" else mask
                for mask, value in zip(masks, column)
            ]
        filled = {
            mask: [column for bit, (_, column, _) in enumerate(self.data) if mask >> bit & 1]
            for mask in set(masks)
        }
        names = {mask: tuple(columns) for mask, columns in filled.items()}
        # What dates each row's values (Merger.row_time): its timestamp
        # (survivorship.timestamp's text), else the import's time.
        imported_at = self.imported_at
        if self.timestamp is None:
            times = [imported_at] * len(rows)
        else:
            texts = vouched.iso_utc(self.timestamp)
            if texts is None:
                as_text = survivorship.timestamp
                texts = [
                    None if value is None else as_text(value)
                    for value in vouched.values(self.timestamp)
                ]
            times = [imported_at if text is None else text for text in texts]
        provenance = list(map(self.stored_provenance, times, map(names.__getitem__, masks)))
        now = dt.datetime.now(dt.UTC)
        writer = self.writer
        ids = writer.record_writer.insert(
            list(
                zip(*record_columns, natural_keys, provenance, [now] * len(rows), [now] * len(rows))
            ),
            # The caller's work comes a piece per COPY; a dry run writes no
            # id map, so its records' COPY takes both pieces.
            meanwhile=meanwhile
            if meanwhile is None or self.policy.writes_id_map
            else _twice(meanwhile),
        )
        if self.policy.writes_id_map:
            source_id, target, run_id = writer.source_id, writer.target_name, writer.run_id
            writer.id_map_writer.insert(
                [
                    (source_id, target, row.external_id, record_id, payload_hash, run_id, run_id)
                    for row, record_id, payload_hash in zip(rows, ids, hashes)
                ],
                meanwhile=meanwhile,
            )
        attnames = [column for _, column, _ in self.data]
        shows_values = self.policy.ledger_shows_values
        for row, record_id, mask, payload_hash, record_values in zip(
            rows, ids, masks, hashes, zip(*record_columns)
        ):
            record = Record(
                record_id, dict(zip(attnames, record_values)) if shows_values else {}, {}
            )
            row.record = record
            row.payload_hash = payload_hash
            row.decision = DECISION_INSERTED
            row.changed_fields = filled[mask]
            row.outcome = INSERTED


def _twice(work: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        work()
        work()

    return both
