"""Reading a JSON Lines file: one JSON object per line, its keys matched to
target fields as a CSV header's cells are; the keys seen become the
reader's columns as the file is read.

* JSON numbers are kept as their source text ("1.50" stays "1.50", a
  5000-digit integer stays as written) rather than being converted to float
  or int and back, which would round them or, for huge ints, fail.
* A JSON object or array where one value belongs, and a lone UTF-16
  surrogate escape (which no database can store), make the line malformed.
* A line over ``max_field_chars`` is not parsed: its row is too_long.
* A JSON array, or objects spread over several lines (pretty-printed, as
  ``json.dumps(indent=2)`` or ``jq .`` write them), is not JSON Lines: the
  file fails before any row is read (``check_jsonl``), rather than each of
  its lines becoming an unfixable malformed row; so does a file whose first
  line is not JSON at all (a CSV file named .jsonl, said to look like CSV).
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ingest import errors
from ingest.fields import TOO_LONG
from ingest.readers.csv import header_delimiter
from ingest.readers.damage import Damage, damage_counter
from ingest.readers.headers import (
    HEADER_SEARCH_RECORDS,
    MAX_UNKNOWN_COLUMNS,
    normalize_header,
    shown_name,
    target_field_by_key,
)
from ingest.readers.rows import Preview, Reader, ReadRow, line_as_read
from ingest.readers.text import DOS_END_OF_FILE, CappedLines, TextSource

JSONL = "jsonl"
# Bounds on what a JSONL file can make the reader remember (keys per file).
_MAX_CACHED_KEYS = 10_000
# A JSON escape of a UTF-16 surrogate; a lone one cannot be stored as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _JsonLiteral(str):
    """A JSON number (or NaN/Infinity) kept as its source text."""

    __slots__ = ()


class _JsonObject(list):
    """A JSON object as its (key, value) pairs in file order, repeated keys
    kept: the last of several keys for one field wins, whatever their case."""

    __slots__ = ()


# A field takes one value; an object or array in its place is a malformed row.
_NESTED = (_JsonObject, list)

_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=_JsonObject,
    parse_int=_JsonLiteral,
    parse_float=_JsonLiteral,
    parse_constant=_JsonLiteral,
    strict=False,  # accept raw control characters (tabs, NULs) inside strings
)


class _JsonKeys:
    """Maps JSON keys onto target fields, recording the keys seen.

    ``columns`` and ``unknown`` are the reader's lists; they fill up as the
    file is read.
    """

    def __init__(self, fields: Sequence[str], column_map: Mapping[str, str]) -> None:
        self.columns: list[str] = []
        self.unknown: list[str] = []
        self._field_by_key = target_field_by_key(fields, column_map)
        self._cache: dict[str, str | None] = {}

    def field(self, key: str) -> str | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        field = self._field_by_key.get(normalize_header(key))
        if field is None:
            name = shown_name(key.strip())
            if name not in self.unknown and len(self.unknown) < MAX_UNKNOWN_COLUMNS:
                self.unknown.append(name)
        elif field not in self.columns:
            self.columns.append(field)
        if len(self._cache) < _MAX_CACHED_KEYS:
            self._cache[key] = field
        return field


def open_jsonl(
    source: TextSource,
    fields: Sequence[str],
    max_field_chars: int,
    skip_rows: int,
    column_map: Mapping[str, str],
    max_malformed_rows: int | None = None,
) -> Reader:
    keys = _JsonKeys(fields, column_map)
    return Reader(
        format=JSONL,
        encoding=source.encoding,
        delimiter=None,
        columns=keys.columns,
        unknown_columns=keys.unknown,
        rows=lambda: _jsonl_rows(
            source, keys, max_field_chars, skip_rows, damage_counter(max_malformed_rows)
        ),
    )


def check_jsonl(
    source: TextSource,
    first_char: str,
    max_field_chars: int,
    fields: Sequence[str],
    column_map: Mapping[str, str],
) -> None:
    """Refuse a file that is not JSON Lines: a first line that is not JSON
    at all (a CSV file named .jsonl: each of its lines would be a malformed
    row), a JSON array, or an object that opens on the first line and goes
    on over the next ones (its first line runs out before the object
    closes; the next starts with a key or closes it)."""
    if first_char == "[":
        raise errors.FileError(errors.NOT_JSON_LINES)
    with source.open(newline=None) as text:
        lines = CappedLines(text, max_field_chars + 1, replacement=None)
        first = next_line = None
        for line in lines:
            if line is None:
                return
            line = line.removeprefix("\ufeff").strip()
            if not line or line == DOS_END_OF_FILE:
                continue
            if first is not None:
                next_line = line
                break
            first = line
    if first is not None and not first.startswith("{") and not _is_json(first):
        raise errors.FileError(_not_json_lines(first, fields, column_map))
    if first is None or next_line is None or not next_line.startswith(('"', "}")):
        return
    try:
        _JSON_DECODER.decode(first)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(first):  # the object is cut at the line's end
            raise errors.FileError(errors.JSON_OVER_SEVERAL_LINES) from None
    except RecursionError:
        return


def _is_json(line: str) -> bool:
    """Any JSON value; one nested too deeply to parse counts (its row says so)."""
    try:
        _JSON_DECODER.decode(line)
    except json.JSONDecodeError:
        return False
    except RecursionError:
        pass
    return True


def _not_json_lines(first: str, fields: Sequence[str], column_map: Mapping[str, str]) -> str:
    """Why the file is refused; a first line that splits at a delimiter, or
    names a target field, is a CSV header, and the message says so."""
    message = errors.NOT_JSON_LINES_FIRST_LINE.format(line=shown_name(first))
    delimiter = header_delimiter(first)
    try:
        cells = next(csv.reader([first], delimiter=delimiter)) if delimiter else [first]
    except csv.Error:  # a cell over the csv module's size limit
        cells = [first]
    field_by_key = target_field_by_key(fields, column_map)
    if delimiter or any(normalize_header(cell) in field_by_key for cell in cells):
        message += errors.LOOKS_LIKE_CSV
    return message


def preview_jsonl(source: TextSource, max_field_chars: int, rows: int) -> Preview:
    """The keys of the first ``rows`` objects (among the first lines), in
    the order they first appear, and each object's values under them (see
    ingest.readers.preview)."""
    keys: dict[str, None] = {}
    objects: list[dict[str, str]] = []
    with source.open(newline=None) as text:
        lines = CappedLines(text, max_field_chars + 1, replacement=None)
        for line in itertools.islice(lines, HEADER_SEARCH_RECORDS):
            if line is None or not (line := line.removeprefix("\ufeff").strip()):
                continue
            try:
                obj = _JSON_DECODER.decode(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if type(obj) is not _JsonObject:
                continue
            values = {}
            for key, value in obj:
                name = shown_name(key.strip())
                if len(keys) < MAX_UNKNOWN_COLUMNS:
                    keys.setdefault(name)
                values[name] = _json_text(value)
            objects.append(values)
            if len(objects) == rows:
                break
    columns = list(keys)
    return Preview(
        format=JSONL,
        encoding=source.encoding,
        delimiter=None,
        columns=columns,
        rows=[[values.get(name, "") for name in columns] for values in objects],
    )


def _jsonl_rows(
    source: TextSource,
    keys: _JsonKeys,
    max_field_chars: int,
    skip_rows: int,
    damage: Damage | None = None,
) -> Iterator[ReadRow]:
    """One row per non-blank line (a lone Ctrl-Z counts as blank); a line
    over ``max_field_chars`` is not parsed. ``damage``: see ``Damage``
    (records are lines here)."""
    too_big = errors.FIELD_TOO_BIG.format(limit=max_field_chars)
    with source.open(newline=None) as text:
        for number, line in enumerate(CappedLines(text, max_field_chars + 1, replacement=None), 1):
            if line is None:
                row = ReadRow(number, {}, too_big, TOO_LONG)
            else:
                # A BOM where joined files meet.
                line = line.removeprefix("\ufeff")
                if not line or line.isspace() or line.strip() == DOS_END_OF_FILE:
                    continue
                row = _jsonl_row(number, line, keys)
            if row.error is not None and damage is not None:
                hint = errors.HINT_TOO_LONG if line is None else errors.HINT_JSON
                damage.add(number, number, number, hint, row.error)
            if number > skip_rows:
                yield row


def _jsonl_row(number: int, line: str, keys: _JsonKeys) -> ReadRow:
    try:
        obj = _JSON_DECODER.decode(line)
        if type(obj) is not _JsonObject:
            return ReadRow(
                number,
                {},
                errors.NOT_A_JSON_OBJECT.format(detail=f"found {_json_kind(obj)}"),
                raw=line_as_read(line),
            )
        if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(obj):
            return ReadRow(
                number,
                {},
                errors.NOT_A_JSON_OBJECT.format(detail=errors.LONE_SURROGATE),
                raw=line_as_read(line),
            )
        values = {}
        nested = []
        for key, value in obj:
            if (field := keys.field(key)) is not None:
                if type(value) in _NESTED:
                    nested.append(field)
                values[field] = _json_text(value)
        if nested:
            return ReadRow(
                number,
                values,
                errors.NESTED_JSON_VALUE.format(fields=", ".join(nested)),
                raw=line_as_read(line),
            )
        return ReadRow(number, values)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} (column {exc.colno})"
    except RecursionError:
        detail = "it is nested too deeply"
    return ReadRow(
        number, {}, errors.NOT_A_JSON_OBJECT.format(detail=detail), raw=line_as_read(line)
    )


def _has_lone_surrogate(obj: _JsonObject) -> bool:
    """A \\ud800-style escape without its pair decodes to text that cannot
    be encoded as UTF-8, so no database could store it."""
    try:
        _nested_json(obj).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_text(value: Any) -> str:
    """A JSON value as the raw string the validator expects."""
    kind = type(value)
    if kind is str:
        return value
    if kind is _JsonLiteral:
        return str(value)  # a plain str with the number's source text
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    return _nested_json(value)  # kept as read; the row is malformed (see _NESTED)


def _nested_json(value: Any) -> str:
    """Serialize a parsed object or array again, numbers as they were written."""
    if isinstance(value, _JsonLiteral):
        return str(value)
    if isinstance(value, _JsonObject):
        return "{" + ", ".join(f"{_json_dumps(k)}: {_nested_json(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_nested_json, value)) + "]"
    return _json_dumps(value)


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, _JsonLiteral):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else json.dumps(value)
