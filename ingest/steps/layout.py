"""The shape of a target's records as the steps see them, worked out once
per run: which columns hold its data, what a new record starts with, and
the natural key of a record's values as they now stand."""

from __future__ import annotations

from django.db import models

from ingest import survivorship
from ingest.registry import Target
from ingest.steps.types import Record
from ingest.writers import fields_by_attname


class RecordLayout:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.model: type[models.Model] = target.model
        self.data_fields = [(f.name, f.column) for f in target.data_fields if f.column]
        self.attnames = [column for _, column in self.data_fields]
        model_fields = fields_by_attname(self.model)
        self.defaults = {column: model_fields[column].get_default() for column in self.attnames}
        # A new record starts empty, so its first row can skip survivorship's checks.
        self.fill_new_records = all(
            survivorship.is_empty(value) for value in self.defaults.values()
        )

    def natural_key(self, record: Record) -> str | None:
        return self.target.natural_key(
            {name: record.values[column] for name, column in self.data_fields}
        )
