"""The row pipeline for one chunk, step by step (each step a module of
``ingest.steps``): read (value mappings) → look up the id map → validate
(except rows unchanged since their last import) → dedupe in file → resolve
references → resolve identity and survivorship merge (row by row, in file
order) → write.

Every row leaves with exactly one outcome (inserted, updated, unchanged,
skipped, quarantined) and, when valid, one dedupe decision (inserted,
resolved, skipped). A chunk is a few thousand rows; every database look-up is
one query per chunk and every write one statement per batch. What a dry run
changes is the run's ``WritePolicy``, decided once (``ingest.steps.policy``).

The column-wise engine (``IMPORTER_ENGINE=columns``, the default) first
offers a chunk none of whose rows is in the id map to ``ingest.steps.lane``,
which takes it when every valid row makes a new record of its own, and
otherwise leaves it to the steps; ``rows`` always runs the steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ingest.models import Source
from ingest.readers import ReadRow
from ingest.registry import Target
from ingest.steps.dedupe import InFileDedupe
from ingest.steps.identity import id_map_entries, resolve_identity
from ingest.steps.layout import RecordLayout
from ingest.steps.merge import Merger
from ingest.steps.policy import STANDARD, WritePolicy, write_policy
from ingest.steps.read import RowReader
from ingest.steps.references import resolve_references
from ingest.steps.types import (
    DECISION_INSERTED,
    DECISION_RESOLVED,
    INSERTED,
    MATCHED_BY_NATURAL_KEY,
    QUARANTINED,
    Counts,
    Row,
)
from ingest.steps.validate import Validator
from ingest.steps.write import ChunkWriter

if TYPE_CHECKING:
    from ingest.steps.lane import NewRecordsLane

__all__ = [
    "DECISION_INSERTED",
    "DECISION_RESOLVED",
    "INSERTED",
    "MATCHED_BY_NATURAL_KEY",
    "QUARANTINED",
    "ChunkProcessor",
    "Counts",
    "Row",
    "WritePolicy",
    "write_policy",
]


class ChunkProcessor:
    """Runs chunks of one run through the steps. Holds what must outlive a
    chunk: the in-file duplicate tracker and the compiled checks and writers."""

    def __init__(
        self,
        *,
        target: Target,
        source: Source,
        run_id: int,
        imported_at: dt.datetime,
        policy: WritePolicy = STANDARD,
        value_mappings: dict[str, dict[str, str]] | None = None,
        engine: str = "rows",
    ) -> None:
        self.target = target
        self.source_id = source.pk
        self.policy = policy
        layout = RecordLayout(target)
        self.reader = RowReader(target, value_mappings)
        self.validator = Validator(target)
        self.in_file = InFileDedupe(target)
        self.layout = layout
        self.merger = Merger(
            layout,
            source_slug=source.slug,
            run_id=run_id,
            imported_at=imported_at,
            keeps_previous_values=policy.keeps_previous_values,
        )
        self.writer = ChunkWriter(layout, policy=policy, source_id=source.pk, run_id=run_id)
        # The column-wise engine's lane for chunks of new records, made when
        # the first chunk is offered to it: polars (about 20 MB, 0.1 s to
        # import) stays out of the processes that never import a file, such
        # as the web's, and out of runs whose every row is in the id map.
        self.uses_lane = engine == "columns"
        self.lane: NewRecordsLane | None = None

    def _lane(self) -> NewRecordsLane:
        if self.lane is None:
            from ingest.steps.lane import NewRecordsLane

            self.lane = NewRecordsLane(
                self.layout,
                merger=self.merger,
                writer=self.writer,
                in_file=self.in_file,
                policy=self.policy,
            )
        return self.lane

    def read(self, read_rows: Sequence[ReadRow]) -> list[Row]:
        """A chunk's rows as read (value mappings applied, external ids
        trimmed, undecodable rows quarantined): the first step, which needs
        no database, so a partition takes it when it reads the chunk."""
        return list(map(self.reader.read, read_rows))

    def check_ahead(self, rows: list[Row]) -> None:
        """Check a chunk's values column-wise before it is processed (the
        lane's part that needs no database), while the chunk before it is
        stored; ``process`` uses what was found."""
        if self.lane is not None:
            self.lane.check_ahead(rows)

    def process(
        self,
        rows: list[Row],
        *,
        write: bool = True,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[Row]:
        """The chunk's rows (from ``read``), each with its result. Without
        ``write`` (a resumed partition replaying rows committed before a
        crash) nothing is written: the in-file duplicate tracker is rebuilt.
        ``meanwhile``: the caller's own work on the next chunk, a piece at a
        time, which the lane does while PostgreSQL stores its new records
        and again while it stores their id map; it may not be called at
        all."""
        mappings = id_map_entries(rows, target=self.target.name, source_id=self.source_id)
        if (
            self.uses_lane
            and write
            and not mappings
            and self._lane().process(rows, lock=self.policy.locks_natural_keys, meanwhile=meanwhile)
        ):
            return rows
        valid = self.validator.validate(rows, mappings)
        valid = self.in_file.dedupe(valid)
        valid = resolve_references(valid, target=self.target, source_id=self.source_id)
        valid = resolve_identity(
            valid,
            mappings,
            layout=self.layout,
            merger=self.merger,
            lock=write and self.policy.locks_natural_keys,
        )
        if write:
            self.writer.write(valid)
        return rows
