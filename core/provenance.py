"""How a record's per-field provenance is stored.

In memory (survivorship, the admin's lineage, the API) provenance is one
entry per field::

    {"name": {"source": "crm", "run": 7, "at": "…", "manual": false, "rule": "non_null"},
     "country": <the same entry>, …}

Survivorship gives every field one row set by one rule the same entry, so
stored that way a new record repeats one entry for each of its fields: about
1 KB of JSON per organization, which PostgreSQL parses into ``jsonb`` on
every write (a fifth of a fresh import's database time). Stored, each
distinct entry appears once and fields point at it::

    {"entries": [{"source": "crm", "run": 7, …}], "fields": {"name": 0, "country": 0, …}}

``ProvenanceField`` converts between the two at the ORM's edge, so code that
reads ``record.provenance`` sees the per-field form; the pipeline's raw SQL
reads and writes through ``loads`` and ``Dumps``. Values stored in the
per-field form (before this format) are read as they are.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from django.db import models


class JSONText(str):
    """A JSON document already serialized: writers store it as it is."""


def is_stored_form(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.keys() == {"entries", "fields"}
        and isinstance(value["entries"], list)
        and isinstance(value["fields"], dict)
    )


def expand(stored: Any) -> dict[str, Any]:
    """The per-field form of a stored value (either form); fields that
    shared an entry share one dict again."""
    if not stored:
        return {}
    if not is_stored_form(stored):
        return stored
    entries = stored["entries"]
    return {field: entries[index] for field, index in stored["fields"].items()}


def compact(provenance: dict[str, Any]) -> dict[str, Any]:
    """The stored form: each distinct entry once, in the order fields first use it."""
    if not provenance or is_stored_form(provenance):
        return provenance
    entries: list[dict[str, Any]] = []
    positions: dict[int, int] = {}  # id(entry) -> its index (entries are shared, not copied)
    fields: dict[str, int] = {}
    for field, entry in provenance.items():
        index = positions.get(id(entry))
        if index is None:
            try:
                index = entries.index(entry)
            except ValueError:
                index = len(entries)
                entries.append(entry)
            positions[id(entry)] = index
        fields[field] = index
    return {"entries": entries, "fields": fields}


def loads(text: str | bytes | dict | None) -> dict[str, Any]:
    """Provenance read by raw SQL (text on SQLite, already parsed on PostgreSQL)."""
    if isinstance(text, (str, bytes)):
        text = json.loads(text)
    return expand(text)


def _dumps_entry(entry: dict[str, Any]) -> str:
    """One provenance entry as JSON: orjson (0.1 µs against json's 1.5; a
    fresh import serializes one entry a row), json for what it refuses."""
    try:
        return orjson.dumps(entry).decode()
    except orjson.JSONEncodeError:
        return json.dumps(entry)


class Dumps:
    """Serializes provenance to its stored form, cheaply in the common case
    of one entry shared by every field (a new record's first row): that
    entry's JSON (once per entry object) joined with the field names' fixed
    text (once per field set), in C. Anything else goes to ``json.dumps``.
    One instance per chunk: it remembers entries by identity."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[dict[str, Any], str]] = {}
        self._fields: dict[tuple[str, ...], str] = {}

    def __call__(self, provenance: dict[str, Any]) -> JSONText:
        if not provenance:
            return JSONText("{}")
        entry = next(iter(provenance.values()))
        if len(set(map(id, provenance.values()))) != 1:
            return JSONText(json.dumps(compact(provenance)))
        hit = self._entries.get(id(entry))
        if hit is None or hit[0] is not entry:
            hit = self._entries[id(entry)] = (entry, _dumps_entry(entry))
        return JSONText('{"entries": [' + hit[1] + self.fields_tail(tuple(provenance)))

    def fields_tail(self, names: tuple[str, ...]) -> str:
        """What follows the one entry of a record whose fields are ``names``."""
        tail = self._fields.get(names)
        if tail is None:
            tail = self._fields[names] = "], " + json.dumps({"fields": dict.fromkeys(names, 0)})[1:]
        return tail


class TimedEntries:
    """The stored provenance of new records each filled by one row: every
    field it filled shares one entry, which differs from row to row only by
    its time. Gives the text ``Dumps`` gives for it, joined from pieces made
    once (a fresh import makes one per row)."""

    _AT = "\x01at\x01"

    def __init__(self, entry: dict[str, Any]) -> None:
        """``entry``: the entry, its "at" aside (any value there is replaced)."""
        head, tail = _dumps_entry({**entry, "at": self._AT}).split(json.dumps(self._AT)[1:-1])
        self.head = '{"entries": [' + head
        self.tail = tail
        self.dumps = Dumps()

    def __call__(self, at: str, names: tuple[str, ...]) -> JSONText:
        """``at``: an ISO 8601 time (no character JSON escapes)."""
        if not names:
            return JSONText("{}")
        return JSONText(self.head + at + self.tail + self.dumps.fields_tail(names))


class ProvenanceField(models.JSONField):
    """A JSONField holding provenance in its stored form; Python code sees
    the per-field form."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return expand(super().from_db_value(value, expression, connection))

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, JSONText):
            value = json.loads(value)
        return super().get_prep_value(compact(value) if isinstance(value, dict) else value)
