"""What the row steps pass along: the Row (one row's journey and its
explicit result), the Record a row resolves to, a chunk's Counts, and the
outcome and decision names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

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

    __slots__ = (
        "id",
        "values",
        "provenance",
        "is_new",
        "dirty",
        "key",
        "sequence",
        "stored_provenance",
    )

    def __init__(self, id: int | None, values: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.id = id
        self.values = values
        self.provenance = provenance
        self.is_new = id is None
        self.dirty = False
        self.key: str | None = None  # its natural key as the chunk last saw it
        self.sequence = 0  # for a new record, the row number that created it
        # Its provenance as stored, when made with its values (Merger.fill_new).
        self.stored_provenance: str | None = None

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
    # Under a policy that keeps them (dry runs): the changed fields' values
    # before this row's merge, so its preview can show old → new.
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
