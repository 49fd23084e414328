"""Step 2: check each row against the target's field rules, and hash its
payload (the hash tells an unchanged row, and an exact repeat in the file)."""

from __future__ import annotations

from typing import Any

from ingest import fields as rules
from ingest import resolve
from ingest.registry import Target
from ingest.steps.types import Row

# Re-exported: the steps and their tests hash with it.
trimmed_hash = rules.trimmed_hash


def payload_hash(target: Target, payload: dict[str, str]) -> str:
    """Hash of the trimmed values of the target's fields, in field order:
    the same row with other whitespace or column order hashes the same."""
    return trimmed_hash([rules.trim(payload.get(name) or "") for name in target.field_names])


class Validator:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.check_row = rules.compile_row_check(target.fields)

    def validate(self, rows: list[Row], mappings: dict[str, resolve.Mapping]) -> list[Row]:
        """Check the rows not yet quarantined; returns the valid ones.
        ``mappings``: the id map's entries for the chunk's external ids.
        A row that has its clean values was checked already (by the
        column-wise engine's lane, which then left the chunk to the steps)."""
        valid = []
        for row in rows:
            if row.outcome is None:
                if row.clean is None:
                    self.validate_row(row, mappings.get(row.external_id))
                if row.outcome is None:
                    valid.append(row)
        return valid

    def validate_row(self, row: Row, mapping: resolve.Mapping | None) -> None:
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
