"""Step 1: a read row becomes a Row, with the source's value mappings
applied and its external id trimmed; a row the reader could not decode is
quarantined here."""

from __future__ import annotations

from ingest import fields as rules
from ingest.readers import ReadRow
from ingest.readers.rows import AS_READ_KEY
from ingest.registry import Target
from ingest.steps.types import Row


class RowReader:
    def __init__(self, target: Target, value_mappings: dict[str, dict[str, str]] | None) -> None:
        self.external_id_field = target.external_id_field
        # {field: {from: to}}: the source's remembered replacements (dq value
        # mappings, as the run recorded them), applied as a row is read.
        self.value_mappings = [
            (name, mapping)
            for name, mapping in (value_mappings or {}).items()
            if name in target.field_names and mapping
        ]

    def read(self, read_row: ReadRow) -> Row:
        payload = read_row.values
        if read_row.raw is not None:
            payload = {**payload, AS_READ_KEY: read_row.raw}
        row = Row(number=read_row.number, payload=payload)
        if self.value_mappings and read_row.error is None:
            row.values_mapped = self.map_values(read_row.values)
        external_id = rules.trim(read_row.values.get(self.external_id_field) or "")
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
