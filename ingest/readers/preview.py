"""``preview_file``: the header of a file and its first rows, found as
``open_reader`` finds them, for the upload form to match columns to fields.

It goes through the same checks as ``open_reader`` (``check_file``) and
the same header search (CSV: ``find_csv_header``; workbooks:
``preview_workbook``), but reads only the start of the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ingest.readers import spreadsheets
from ingest.readers.csv import CSV, delimiter_argument, preview_csv
from ingest.readers.jsonl import check_jsonl, preview_jsonl
from ingest.readers.opening import WorkbookFile, check_file
from ingest.readers.rows import Preview
from ingest.readers.text import BLOCK_SIZE

# A preview decodes this much of a text file (its encoding is checked in
# full when a run reads it).
PREVIEW_SCAN_BYTES = BLOCK_SIZE
PREVIEW_ROWS = 5


def preview_file(
    path: str | os.PathLike[str],
    *,
    fields: Sequence[str],
    required: Sequence[str] = (),
    format: str | None = None,
    encoding: str | None = None,
    default_encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    column_map: Mapping[str, str] | None = None,
    rows: int = PREVIEW_ROWS,
    max_bytes: int | None = None,
    max_field_chars: int = 1_000_000,
) -> Preview:
    """The header of the file at ``path``, found as ``open_reader`` finds
    it (title lines skipped, delimiter sniffed, the sheet chosen), and its
    first ``rows`` data rows: what the upload form shows to match columns
    to fields. Nothing is matched or required here, and only the start of
    the file is read (text: its first PREVIEW_SCAN_BYTES decoded), so a
    file of a million rows answers as fast as a small one. A problem with
    the file as a whole raises ``FileError``, as ``open_reader`` would."""
    path = os.fspath(path)
    delimiter = delimiter_argument(delimiter)
    checked = check_file(
        path,
        format,
        encoding,
        max_bytes,
        scan_bytes=PREVIEW_SCAN_BYTES,
        default_encoding=default_encoding,
    )
    if isinstance(checked, WorkbookFile):
        return spreadsheets.preview_workbook(
            path,
            format=checked.format,
            by_content=checked.by_content,
            fields=fields,
            required=required,
            sheet=sheet,
            column_map=column_map or {},
            rows=rows,
        )
    if checked.format == CSV:
        return preview_csv(
            checked.source,
            fields,
            required,
            delimiter,
            max_field_chars,
            column_map or {},
            rows,
        )
    check_jsonl(checked.source, checked.first_char, max_field_chars, fields, column_map or {})
    return preview_jsonl(checked.source, max_field_chars, rows)
