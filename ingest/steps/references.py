"""Step 4: turn each reference's external id into the referenced record's
id, through the id map of the same source; unknown ones quarantine the row."""

from __future__ import annotations

from ingest import fields as rules
from ingest import resolve
from ingest.registry import Target
from ingest.steps.types import Row


def resolve_references(rows: list[Row], *, target: Target, source_id: int) -> list[Row]:
    """Returns the rows whose references all resolved. Rows unchanged since
    their last import (not checked: ``clean`` is None) pass as they are:
    they will be skipped."""
    for reference in target.references:
        values = {
            row.clean[reference.name] for row in rows if row.clean and row.clean[reference.name]
        }
        found = resolve.id_map_lookup(
            source_id=source_id, target=reference.target, external_ids=values
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
                row.quarantine([unknown_reference(reference, value)])
        rows = kept
    return rows


def unknown_reference(reference: rules.Reference, value: str) -> dict[str, str]:
    """The error of a row whose reference the id map does not hold."""
    message = rules.MSG_UNKNOWN_REFERENCE.format(target=reference.target, value=value)
    return rules.error(reference.name, rules.UNKNOWN_REFERENCE, message)
