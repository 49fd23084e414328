"""Finding and matching a header: shared by the CSV reader (``csv``) and
the spreadsheet reader (``spreadsheets``), so a header row is found, and
its cells matched to target fields, the same way in both; JSON Lines keys
are matched the same way too (``jsonl``).

Column names and JSON keys kept on the run or shown in messages have NUL
made visible (``shown_name``): PostgreSQL refuses NUL in text and JSON.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence

from ingest import errors
from ingest.errors import FileError
from ingest.fields import trim

# Title lines may precede the header: it is looked for in this many first records.
HEADER_SEARCH_RECORDS = 20
MAX_UNKNOWN_COLUMNS = 1_000
# Column names are shown in messages and kept on the run: at most this long,
# with NUL (which PostgreSQL cannot store) made visible.
_MAX_SHOWN_NAME = 200
NUL_MARK = "\u2400"
_SEPARATOR_RUN = re.compile(r"[\s.\-_]+")


def shown_name(name: str) -> str:
    """A column name or JSON key as it may appear in a message or on the run:
    NUL made visible, truncated to a readable length."""
    name = name.replace("\0", NUL_MARK)
    return name if len(name) <= _MAX_SHOWN_NAME else name[: _MAX_SHOWN_NAME - 1] + "\u2026"


def target_field_by_key(fields: Sequence[str], column_map: Mapping[str, str]) -> dict[str, str]:
    """Target field of each normalized column name: the column map's, and
    the fields' own names for the fields it sends no column to. The map
    says which column holds a field, so a column named as that field is
    then an unknown column (not read), not a second column for it."""
    mapped = set(column_map.values())
    by_key = {normalize_header(field): field for field in fields if field not in mapped}
    by_key.update({normalize_header(column): field for column, field in column_map.items()})
    return by_key


def normalize_header(name: str) -> str:
    """The key a header cell or JSON key is matched on: "External ID",
    "external-id" and "EXTERNAL_ID" all become "external_id"."""
    return _SEPARATOR_RUN.sub("_", trim(name).lower())


def trimmed_cells(row: list[str]) -> list[str]:
    """Header cells as matched: trimmed, without a BOM (left in the text
    where joined files met)."""
    return [trim(cell.replace("\ufeff", "")) for cell in row]


def first_header(records: Iterable[list[str]], skip: int = 0) -> tuple[list[str], int]:
    """The first record (after ``skip``) with a non-blank cell, trimmed and
    without trailing blank cells, and how many records up to and including
    it; NO_HEADER when there is none. Shared by the CSV and spreadsheet
    readers."""
    count = 0
    for cells in records:
        count += 1
        if count <= skip:
            continue
        cells = trimmed_cells(cells)
        if any(cells):
            while not cells[-1]:
                cells.pop()
            return cells, count
    raise FileError(errors.NO_HEADER)


def names_required(
    cells: list[str], field_by_key: Mapping[str, str], required: Sequence[str]
) -> int:
    """How many of the required fields these header cells name."""
    named = {field_by_key.get(normalize_header(cell)) for cell in cells}
    return sum(field in named for field in required)


def header_below(
    records: Iterable[list[str]],
    start: int,
    field_by_key: Mapping[str, str],
    required: Sequence[str],
    named: int,
) -> tuple[int, list[str], int] | None:
    """The header, when lines above it (a report's title, an export date)
    kept the first non-blank record from being it: the first record after
    ``start``, among the first ``HEADER_SEARCH_RECORDS``, to name every
    required field; failing that, the one that names the most of them, if
    more than ``named`` (the first record's count: its missing columns are
    then the ones to report). Returns (required fields named, trimmed cells
    without trailing blank ones, records up to and including it), or None.
    Shared by the CSV and spreadsheet readers."""
    best: tuple[int, list[str], int] | None = None
    for records_read, cells in enumerate(itertools.islice(records, HEADER_SEARCH_RECORDS), 1):
        if records_read <= start:
            continue
        cells = trimmed_cells(cells)
        count = names_required(cells, field_by_key, required)
        if count > named and (best is None or count > best[0]):
            while not cells[-1]:
                cells.pop()
            best = (count, cells, records_read)
            if count == len(required):
                break
    return best


def map_header(
    cells: list[str],
    field_by_key: Mapping[str, str],
    required: Sequence[str],
    column_map: Mapping[str, str],
) -> tuple[list[str], list[int], list[str]]:
    """Target field names and positions of the mapped cells, and the unknown
    header names; raises for duplicate and missing columns, for column map
    entries the header does not have, and for two columns the map sends to
    one field. A cell without a name (the index column pandas' ``to_csv``
    writes) can mean no field, so its column is not read, as trailing blank
    cells are not. ``field_by_key``: see ``target_field_by_key``."""
    header_keys = {normalize_header(cell) for cell in cells}
    absent = [column for column in column_map if normalize_header(column) not in header_keys]
    if absent:
        raise FileError(errors.COLUMN_MAP_ABSENT.format(columns=", ".join(map(repr, absent))))
    names: list[str] = []
    positions: list[int] = []
    unknown: list[str] = []
    cells_by_name: dict[str, list[str]] = {}
    for position, cell in enumerate(cells):
        if not cell:
            continue
        name = field_by_key.get(normalize_header(cell))
        if name is None:
            if len(unknown) < MAX_UNKNOWN_COLUMNS:
                unknown.append(shown_name(cell))
            continue
        cells_by_name.setdefault(name, []).append(cell)
        if len(cells_by_name[name]) == 1:
            names.append(name)
            positions.append(position)
    _refuse_two_columns_for_a_field(cells_by_name)
    missing = [field for field in required if field not in cells_by_name]
    if missing:
        raise FileError(errors.MISSING_COLUMNS.format(columns=", ".join(missing)))
    return names, positions, unknown


def _refuse_two_columns_for_a_field(cells_by_name: Mapping[str, list[str]]) -> None:
    """Columns read as one field: named otherwise, the map sends each there
    (a field's own name is not read beside a mapped column); named alike,
    the header names a column twice ("name,Name")."""
    for name, cells in cells_by_name.items():
        if len({normalize_header(cell) for cell in cells}) > 1:
            columns = ", ".join(repr(shown_name(cell)) for cell in cells)
            raise FileError(errors.COLUMN_MAP_FIELD_TWICE.format(field=name, columns=columns))
    duplicates = [cell for same in cells_by_name.values() if len(same) > 1 for cell in same]
    if duplicates:
        shown = dict.fromkeys(map(shown_name, duplicates))  # "name,name" says name once
        raise FileError(errors.DUPLICATE_HEADER.format(columns=", ".join(shown)))
