"""``open_reader``: every check on a file as a whole (``check_file``,
shared with ``ingest.readers.preview``), then the reader for its format.
Workbooks go to ``spreadsheets``; text is sniffed (``sniff``: binary
refusal, gzip, encoding) and read as CSV (``csv``) or JSON Lines
(``jsonl``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingest import errors
from ingest.errors import FileError
from ingest.readers import spreadsheets
from ingest.readers.csv import CSV, delimiter_argument, open_csv
from ingest.readers.jsonl import JSONL, check_jsonl, open_jsonl
from ingest.readers.rows import Reader
from ingest.readers.sniff import (
    GZIP_MAGIC,
    decide_encoding,
    encoding_name,
    read_head,
    read_head_gzip,
    reject_markup,
    reject_signature,
)
from ingest.readers.text import TextSource

FORMATS = (CSV, JSONL, *spreadsheets.FORMATS)
_FORMAT_BY_EXTENSION = {
    ".csv": CSV,
    ".txt": CSV,
    ".tsv": CSV,
    ".jsonl": JSONL,
    ".ndjson": JSONL,
    ".json": JSONL,
}


def open_reader(
    path: str | os.PathLike[str],
    *,
    fields: Sequence[str],
    required: Sequence[str] = (),
    format: str | None = None,
    encoding: str | None = None,
    default_encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int | None = None,
    max_field_chars: int = 1_000_000,
    skip_rows: int = 0,
    column_map: Mapping[str, str] | None = None,
    max_malformed_rows: int | None = None,
    sheet: str | int | None = None,
) -> Reader:
    """Check the file at ``path`` and return a reader for its rows.

    Every problem with the file as a whole raises ``FileError`` here, before
    a row is read, except a file of mostly malformed rows (over
    ``max_malformed_rows``; None: no limit), which can only be known while
    reading; see the package docstring for what rows look like.
    ``column_map``: column names (or JSON keys) of the file → target fields,
    for columns not named as the fields are; matched as headers are.
    ``encoding``: the one to read a text file with (a byte-order mark
    wins); ``default_encoding``: the one a source usually sends (its
    profile's), read unless the bytes say otherwise (see
    sniff.decide_encoding).
    ``sheet``: which sheet of a workbook to read, by name or 0-based
    position (default: the first visible worksheet, see spreadsheets); text
    files ignore it.
    Workbooks are read by ingest.readers.spreadsheets.
    """
    if max_field_chars < 1 or skip_rows < 0:
        raise ValueError("max_field_chars must be positive and skip_rows not negative")
    path = os.fspath(path)
    delimiter = delimiter_argument(delimiter)
    checked = check_file(path, format, encoding, max_bytes, default_encoding=default_encoding)
    if isinstance(checked, WorkbookFile):
        return spreadsheets.open_workbook(
            path,
            format=checked.format,
            by_content=checked.by_content,
            fields=fields,
            required=required,
            sheet=sheet,
            max_field_chars=max_field_chars,
            skip_rows=skip_rows,
            column_map=column_map or {},
        )
    source, chosen_format, first_char = checked.source, checked.format, checked.first_char
    if chosen_format == CSV:
        return open_csv(
            source,
            fields,
            required,
            delimiter,
            max_field_chars,
            skip_rows,
            column_map or {},
            max_malformed_rows,
        )
    check_jsonl(source, first_char, max_field_chars, fields, column_map or {})
    return open_jsonl(
        source, fields, max_field_chars, skip_rows, column_map or {}, max_malformed_rows
    )


@dataclass(frozen=True, slots=True)
class WorkbookFile:
    """A file found to be a workbook, in ``format``. ``by_content``: only
    its first bytes say it is one (see spreadsheets.open_workbook)."""

    format: str
    by_content: bool


@dataclass(frozen=True, slots=True)
class TextFile:
    """A checked text file: its source (encoding known), its format, and
    its first visible character."""

    source: TextSource
    format: str
    first_char: str


def check_file(
    path: str,
    format: str | None,
    encoding: str | None,
    max_bytes: int | None,
    scan_bytes: int | None = None,
    default_encoding: str | None = None,
) -> WorkbookFile | TextFile:
    """The checks every file goes through before its header is looked for
    (by ``open_reader``, and by ``preview_file``): a workbook, or text.
    ``scan_bytes``: decode only that much of a text file (see
    ``ingest.readers.preview``); None checks all of it."""
    chosen_format = _format_argument(format)
    explicit_encoding = encoding_name(encoding)
    default_encoding = encoding_name(default_encoding)
    head = read_head(path, max_bytes)
    workbook = spreadsheets.workbook_format(path, head, chosen_format)
    if workbook is not None:
        by_content = chosen_format is None and spreadsheets.ole2_not_named_xls(path, head)
        return WorkbookFile(workbook, by_content)
    if (
        chosen_format is not None
        and (found := spreadsheets.workbook_format(path, head, None)) is not None
    ):
        raise FileError(errors.WORKBOOK_GIVEN_AS_TEXT.format(found=found, given=chosen_format))
    compressed = head.startswith(GZIP_MAGIC)
    if compressed:
        head = read_head_gzip(path)
    reject_signature(head)
    encoding, first_char = decide_encoding(
        path, head, explicit_encoding, compressed, max_bytes, scan_bytes, default_encoding
    )
    reject_markup(head, encoding, first_char)
    chosen_format = chosen_format or _format_from_name(path) or _format_from_content(first_char)
    return TextFile(TextSource(path, encoding, compressed), chosen_format, first_char)


def _format_argument(format: str | None) -> str | None:
    if format is None:
        return None
    if format.strip().lower() in FORMATS:
        return format.strip().lower()
    raise FileError(errors.UNSUPPORTED_FORMAT.format(format=format))


def _format_from_name(path: str) -> str | None:
    return _FORMAT_BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def _format_from_content(first_char: str | None) -> str:
    return JSONL if first_char == "{" else CSV
