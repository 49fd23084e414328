"""Opening a CSV file: its delimiter (given, declared by Excel's ``sep=``
line, or sniffed from the header line) and its header (the first
non-blank record, or one below title lines that names the required
fields). Its rows are then read by ``ingest.readers.csv_rows``.

* A first line ``sep=;`` (Excel's hint, written by tools that export for
  Excel) sets the delimiter and is skipped; it is still numbered, so the
  header is then row 2.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence

from ingest import errors
from ingest.errors import FileError
from ingest.readers.csv_rows import (
    CSV_POISON_LINE,
    CsvLayout,
    csv_error_detail,
    csv_line_cap,
    csv_reader,
    read_rows,
)
from ingest.readers.damage import damage_counter
from ingest.readers.headers import (
    first_header,
    header_below,
    map_header,
    names_required,
    shown_name,
    target_field_by_key,
)
from ingest.readers.rows import Preview, Reader
from ingest.readers.text import CappedLines, TextSource

CSV = "csv"
_DELIMITERS = (",", ";", "\t", "|")
_EXCEL_SEP_LINE = re.compile(r'"?sep=([^"\r\n])"?[ \t]*(?:\r\n|\r|\n)?', re.IGNORECASE)
_TAB_SPELLINGS = ("\\t", "tab")
# Raw tabs inside strings accepted, as the JSON Lines reader accepts them.
_JSON_DECODER = json.JSONDecoder(strict=False)


def delimiter_argument(delimiter: str | None) -> str | None:
    """Accept one character, spelling a tab as "\\t" or "tab" too; quotes and
    line breaks cannot delimit fields."""
    if delimiter is None:
        return None
    if delimiter.lower() in _TAB_SPELLINGS:
        return "\t"
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise FileError(errors.BAD_DELIMITER.format(delimiter=delimiter))
    return delimiter


def open_csv(
    source: TextSource,
    fields: Sequence[str],
    required: Sequence[str],
    delimiter: str | None,
    max_field_chars: int,
    skip_rows: int,
    column_map: Mapping[str, str],
    max_malformed_rows: int | None = None,
) -> Reader:
    delimiter, cells, header_records = find_csv_header(
        source, fields, required, delimiter, max_field_chars, column_map
    )
    field_by_key = target_field_by_key(fields, column_map)
    names, positions, unknown = map_header(cells, field_by_key, required, column_map)
    layout = CsvLayout.of(delimiter, header_records, cells, names, positions)
    return Reader(
        format=CSV,
        encoding=source.encoding,
        delimiter=delimiter,
        columns=names,
        unknown_columns=unknown,
        rows=lambda: read_rows(
            source, layout, max_field_chars, skip_rows, damage_counter(max_malformed_rows)
        ),
        header_row=header_records,
    )


def preview_csv(
    source: TextSource,
    fields: Sequence[str],
    required: Sequence[str],
    delimiter: str | None,
    max_field_chars: int,
    column_map: Mapping[str, str],
    rows: int,
) -> Preview:
    """The header, found as ``open_csv`` finds it, and the first ``rows``
    non-blank data rows, cut or padded to the header's width (see
    ingest.readers.preview). Rows are read as an import reads them
    (``read_rows``): a row the csv module refuses (a stray quote) is left
    out, and the rows after it are shown."""
    delimiter, cells, header_records = find_csv_header(
        source, fields, required, delimiter, max_field_chars, column_map
    )
    width = len(cells)
    # Cells by position: header cells may be blank or repeat.
    keys = [str(position) for position in range(width)]
    layout = CsvLayout.of(delimiter, header_records, cells, keys, list(range(width)))
    sample: list[list[str]] = []
    for row in read_rows(source, layout, max_field_chars, skip_rows=0):
        if row.values:
            sample.append([row.values.get(key, "") for key in keys])
            if len(sample) == rows:
                break
    return Preview(
        format=CSV,
        encoding=source.encoding,
        delimiter=delimiter,
        columns=cells,
        rows=sample,
        header_row=header_records,
    )


def find_csv_header(
    source: TextSource,
    fields: Sequence[str],
    required: Sequence[str],
    delimiter: str | None,
    max_field_chars: int,
    column_map: Mapping[str, str],
) -> tuple[str, list[str], int]:
    """The delimiter, the header's trimmed cells and the records up to and
    including it: the first non-blank record, or one below title lines
    that names more of the required fields."""
    declared = _declared_delimiter(source)
    if not declared:
        _refuse_json_lines(source, max_field_chars)
    given = delimiter or declared
    delimiter = given or _sniff_delimiter(source, max_field_chars)
    cells, header_records = _read_header(
        source, delimiter, max_field_chars, skip=1 if declared else 0
    )
    field_by_key = target_field_by_key(fields, column_map)
    named = names_required(cells, field_by_key, required)
    if named < len(required):
        candidates = (
            [delimiter] if given else [delimiter, *(d for d in _DELIMITERS if d != delimiter)]
        )
        below = _header_below(
            source, candidates, header_records, max_field_chars, field_by_key, required, named
        )
        if below is not None:
            delimiter, cells, header_records = below
        elif given and len(cells) == 1:
            _refuse_a_wrong_delimiter(cells[0], given)
    return delimiter, cells, header_records


def _refuse_json_lines(source: TextSource, max_field_chars: int) -> None:
    """A JSON Lines file named .csv (or given as csv): its first line is a
    JSON object. Say so, rather than what its quotes do to a CSV header."""
    with source.open(newline=None) as text:
        for line in CappedLines(text, max_field_chars + 1, replacement=None):
            if line is None:
                return
            if line := line.removeprefix("\ufeff").strip():
                break
        else:
            return
    if not line.startswith("{"):
        return
    try:
        found = _JSON_DECODER.decode(line)
    except (ValueError, RecursionError):  # not JSON: a CSV header that starts with "{"
        return
    if isinstance(found, dict):
        raise FileError(errors.LOOKS_LIKE_JSON_LINES)


def _refuse_a_wrong_delimiter(header: str, given: str) -> None:
    """A header read as one cell that another delimiter splits was written
    with that one: say so, rather than name every required field missing."""
    counts = sorted(((header.count(d), d) for d in _DELIMITERS if d != given), reverse=True)
    count, found = counts[0]
    if count:
        raise FileError(
            errors.DELIMITER_SEEMS_WRONG.format(
                given=given, header=shown_name(header), found="tab" if found == "\t" else found
            )
        )


def _sniff_delimiter(source: TextSource, max_field_chars: int) -> str:
    """The candidate found most often outside quotes in the header line;
    a comma when none is, or on a tie."""
    with source.open(newline="") as text:
        for line in CappedLines(text, csv_line_cap(max_field_chars), replacement=""):
            if line.strip(' \t\r\n"' + "".join(_DELIMITERS)):
                break
        else:
            return ","
    return header_delimiter(line.removeprefix("\ufeff")) or ","


def header_delimiter(line: str) -> str | None:
    """The candidate found most often outside quotes in a header line, a
    comma on a tie; None when the line holds none of them."""
    unquoted = "".join(line.split('"')[::2])
    counts = sorted(((unquoted.count(d), d) for d in _DELIMITERS), reverse=True)
    (best, delimiter), (runner_up, _) = counts[0], counts[1]
    if not best:
        return None
    return delimiter if best > runner_up else ","


def _declared_delimiter(source: TextSource) -> str | None:
    """The delimiter of a first line ``sep=X`` (``"sep=X"`` and any case too)."""
    with source.open(newline="") as text:
        line = text.readline(16)
    match = _EXCEL_SEP_LINE.fullmatch(line.removeprefix("\ufeff"))
    return match.group(1) if match else None


def _read_header(
    source: TextSource, delimiter: str, max_field_chars: int, skip: int = 0
) -> tuple[list[str], int]:
    """The trimmed header cells without trailing blank ones, and how many
    records (``skip`` first ones and blank ones included) precede the data."""
    with source.open(newline="") as text:
        lines = CappedLines(text, csv_line_cap(max_field_chars), replacement=CSV_POISON_LINE)
        reader = csv_reader(lines, delimiter, max_field_chars)
        try:
            return first_header(reader, skip)
        except csv.Error as exc:
            detail = csv_error_detail(exc, lines.oversized > 0, max_field_chars)
            raise FileError(errors.BAD_CSV_HEADER.format(detail=detail)) from None


def _header_below(
    source: TextSource,
    delimiters: Sequence[str],
    start: int,
    max_field_chars: int,
    field_by_key: Mapping[str, str],
    required: Sequence[str],
    named: int,
) -> tuple[str, list[str], int] | None:
    """The header below title lines (see ``header_below``), read with each
    candidate delimiter in turn: the first delimiter to give a record that
    names every required field wins; failing that, the best one found.
    Returns (delimiter, trimmed cells, records up to and including it), or
    None."""
    best: tuple[int, str, list[str], int] | None = None
    for delimiter in delimiters:
        with source.open(newline="") as text:
            lines = CappedLines(text, csv_line_cap(max_field_chars), replacement=CSV_POISON_LINE)
            reader = _until_csv_error(csv_reader(lines, delimiter, max_field_chars))
            found = header_below(reader, start, field_by_key, required, best[0] if best else named)
        if found is not None:
            count, cells, records = found
            best = (count, delimiter, cells, records)
            if count == len(required):
                break
    return best[1:] if best is not None else None


def _until_csv_error(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The records up to the first one the csv module rejects."""
    try:
        yield from reader
    except csv.Error:
        return
