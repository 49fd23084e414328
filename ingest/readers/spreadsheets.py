"""Reading spreadsheets (.xlsx/.xlsm, .xls, .ods) through python-calamine.

``open_reader`` (ingest.readers) hands a file here when it is a workbook:
a format of xlsx, xls or ods was given, or its first bytes say so (a ZIP
holding an Excel or OpenDocument workbook, or an OLE2 file, as .xls is).
The extension alone does not decide: a ".xls" that is really tab-separated
text (as many systems export) is read as CSV. The rows come out as the same
``ReadRow`` objects as a CSV file's, so everything after reading is the same.

Behaviour worth knowing (see tests/ingest/test_spreadsheets.py):

* The sheet: the one named ``sheet`` (exactly, else ignoring case), else,
  when ``sheet`` is a whole number, the one at that position counting from
  0 in workbook order (hidden sheets included, as calamine and pandas
  count); an unknown sheet fails the file with the workbook's sheet names.
  By default, the first visible worksheet -- unless its header lacks a
  required field and exactly one other visible worksheet's header names
  them all (a cover sheet first): then that one. When none or several do,
  what is wrong with the first one's header is said with the sheets.
* The header is found as in a CSV file (``headers.first_header`` and
  ``headers.header_below``): title rows above it are skipped.
* Row numbers are the ones Excel shows: row 1 is the sheet's first row,
  whatever cells are empty, so data under a header on row 3 starts at row
  4. Blank rows are skipped but numbered, as in CSV.
* Cells become text: dates ``2024-05-01``, date-times
  ``2024-05-01T12:30:00``, times ``12:30:00``, durations ``36:00:00``
  (hours may pass 24); a whole number stored as a float (``1200.0``) is
  ``1200`` (up to 2**53, past which floats skip whole numbers), other
  numbers Python's shortest repr (``0.1``, ``1.2345678901234568e+17``);
  booleans ``true``/``false`` (as in JSON Lines); an empty cell "".
  Formulas are read as the value last calculated and saved with the file;
  a formula error (``#DIV/0!``) reads as an empty cell (calamine gives no
  value for it).
* Empty trailing rows and columns are ignored, and so are cells left or
  right of the header's columns (no column name, so no field).
* A cell over ``max_field_chars`` makes its row too_long, as in CSV.
* A password-protected workbook fails with PASSWORD_PROTECTED, a damaged
  one with SPREADSHEET_UNREADABLE, never with calamine's exception.

Memory: calamine cannot stream (python-calamine 0.9.1 has no lazy reader;
its ``iter_rows`` walks a sheet already loaded whole, about 100 bytes a
cell). A big xlsx sheet is therefore read in pieces (ingest/readers/xlsx_chunks.py:
224 MB peak RSS for a run of 1,048,576 rows of 10 columns, against 1,156
MB loaded whole). Other sheets are loaded once per iteration of the reader
-- the first iteration reuses the load that found the header, and
``Reader.close`` lets go of it -- and their rows converted to text one at
a time, so only the loaded sheet grows with the file.

Why one module of this length: it is one format's whole reading (sheet
choice, header search, cell conversion, errors), and the behaviour list
above is its contract; splitting it would put each rule away from the code
that keeps it. The memory-bound piecewise loading is in xlsx_chunks.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import python_calamine

from ingest import errors
from ingest.errors import FileError
from ingest.fields import TOO_LONG
from ingest.readers import xlsx_chunks
from ingest.readers.headers import (
    HEADER_SEARCH_RECORDS,
    first_header,
    header_below,
    map_header,
    names_required,
    shown_name,
    target_field_by_key,
)
from ingest.readers.rows import Preview, Reader, ReadRow

XLSX = "xlsx"
XLS = "xls"
ODS = "ods"
FORMATS = (XLSX, XLS, ODS)

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_MAX_SHEET_NAME = 100
# Floats hold every whole number below this; past it, ``int`` would print
# digits the spreadsheet never had (1.2345678901234568e+17 as ...696).
_EXACT_WHOLE = 2.0**53
# The extensions calamine picks its reader by; any other, it reads by content.
_CALAMINE_EXTENSIONS = {
    ".xlsx": XLSX,
    ".xlsm": XLSX,
    ".xlam": XLSX,
    ".xls": XLS,
    ".xla": XLS,
    ".ods": ODS,
    ".xlsb": "xlsb",
}
# The directory entry of an encrypted OOXML package (UTF-16LE, in an OLE2 file).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_WORKSHEET = python_calamine.SheetTypeEnum.WorkSheet
_VISIBLE = python_calamine.SheetVisibleEnum.Visible


def workbook_format(path: str, head: bytes, format: str | None) -> str | None:
    """The workbook format to read the file as, or None when it is not a
    workbook (text; or a ZIP of something else, refused by the caller).
    An Excel Binary Workbook (.xlsb) raises XLSB_FILE."""
    if format is not None and format not in FORMATS:
        return None
    if head.startswith(OLE2_MAGIC):
        return XLS
    if head.startswith(ZIP_MAGIC):
        found = _zip_workbook_format(path) or (
            _format_from_extension(path) if _zip_is_damaged(path) else None
        )
        return found or format
    return format  # given for a file that does not look like one: calamine will say


def ole2_not_named_xls(path: str, head: bytes) -> bool:
    """An OLE2 file without the .xls extension: if calamine cannot read it,
    it is some other Office 97-2003 document (Word, Outlook), refused as
    such, rather than a damaged workbook."""
    return head.startswith(OLE2_MAGIC) and os.path.splitext(path)[1].lower() != ".xls"


def _format_from_extension(path: str) -> str | None:
    extension = os.path.splitext(path)[1].lower()
    return {".xlsx": XLSX, ".xlsm": XLSX, ".ods": ODS}.get(extension)


def _zip_workbook_format(path: str) -> str | None:
    """xlsx or ods by the parts the ZIP holds; None for another ZIP or one
    that cannot be opened. An .xlsb (its workbook part is binary) is
    refused by name, not as "a ZIP": only a save as .xlsx or CSV helps."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return XLSX
            if "xl/workbook.bin" in names:
                raise FileError(errors.XLSB_FILE)
            if "content.xml" in names and "mimetype" in names:
                with archive.open("mimetype") as mimetype:
                    if mimetype.read(len(_ODS_MIMETYPE) + 16).strip() == _ODS_MIMETYPE:
                        return ODS
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        pass
    return None


def _zip_is_damaged(path: str) -> bool:
    """A ZIP whose directory cannot be read (cut short): named .xlsx or
    .ods, it is reported as a damaged workbook, not as some ZIP."""
    try:
        with zipfile.ZipFile(path):
            return False
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return True


def sheet_argument(sheet: str | int | None) -> str | int | None:
    """A sheet as given: a name, or a position (a whole number, from 0)."""
    if sheet is None or isinstance(sheet, int):
        return sheet
    sheet = sheet.strip()
    if not sheet:
        return None
    if len(sheet) > _MAX_SHEET_NAME or "\0" in sheet:
        raise FileError(errors.BAD_SHEET.format(limit=_MAX_SHEET_NAME))
    return sheet


def open_workbook(
    path: str,
    *,
    format: str,
    by_content: bool,
    fields: Sequence[str],
    required: Sequence[str],
    sheet: str | int | None,
    max_field_chars: int,
    skip_rows: int,
    column_map: Mapping[str, str],
) -> Reader:
    """Check the workbook and its sheet and find the header; return a
    reader of its data rows. ``by_content``: only the file's first bytes
    said it is a workbook (an OLE2 file calamine cannot read is then some
    other Office document, refused as such)."""
    found = _find_header(path, format, by_content, fields, required, sheet, column_map)
    field_by_key = target_field_by_key(fields, column_map)
    try:
        names, positions, unknown = map_header(found.cells, field_by_key, required, column_map)
    except FileError as exc:
        if not found.sheet_note:
            raise
        raise FileError(exc.message + found.sheet_note) from None
    layout = _Layout(
        names=tuple(names),
        positions=tuple(positions),
        lead=found.lead,
        width=len(found.cells),
        header=tuple(found.cells),
    )
    numbered_rows, header_row = found.numbered_rows, found.header_row

    def rows_of_sheet() -> Iterator[ReadRow]:
        return _data_rows(numbered_rows(), layout, header_row + skip_rows, max_field_chars)

    return Reader(
        format=format,
        encoding="",
        delimiter=None,
        columns=names,
        unknown_columns=unknown,
        rows=rows_of_sheet,
        header_row=header_row,
        sheet=found.name,
    )


def preview_workbook(
    path: str,
    *,
    format: str,
    by_content: bool,
    fields: Sequence[str],
    required: Sequence[str],
    sheet: str | int | None,
    column_map: Mapping[str, str],
    rows: int,
) -> Preview:
    """The sheet's header, found as ``open_workbook`` finds it, and its
    first ``rows`` data rows among those the header search read; the
    workbook's worksheets, to choose another (see ingest.readers.preview)."""
    found = _find_header(path, format, by_content, fields, required, sheet, column_map)
    width = len(found.cells)
    header = tuple(found.cells)
    sample = []
    for number, cells in found.head:
        if number <= found.header_row:
            continue
        cells = _cells(cells[found.lead : found.lead + width])
        if not any(cells) or tuple(cell.strip() for cell in cells) == header:
            continue
        sample.append(cells + [""] * (width - len(cells)))
        if len(sample) == rows:
            break
    return Preview(
        format=format,
        encoding="",
        delimiter=None,
        columns=list(found.cells),
        rows=sample,
        header_row=found.header_row,
        sheet=found.name,
        sheets=found.sheets,
    )


@dataclass(frozen=True, slots=True)
class _Found:
    """A sheet's header as found: the sheet's name, the workbook's
    worksheets, its cells (without empty columns left of it: ``lead``),
    its row number, the first rows read to find it, how to read the
    sheet's rows from the top, and how many required fields it names.
    ``sheet_note``: said after what is wrong with the header of a sheet
    read by default (see ``_find_header``)."""

    name: str
    sheets: list[str]
    cells: list[str]
    lead: int
    header_row: int
    head: list[tuple[int, list[Any]]]
    numbered_rows: Callable[[], Iterator[tuple[int, list[Any]]]]
    named: int
    sheet_note: str = ""


def _find_header(
    path: str,
    format: str,
    by_content: bool,
    fields: Sequence[str],
    required: Sequence[str],
    sheet: str | int | None,
    column_map: Mapping[str, str],
) -> _Found:
    """The header of the sheet asked for, else of the first visible one.
    When no sheet is asked for and the first one's header lacks a required
    field (a cover sheet, notes, an empty sheet), the one other visible
    sheet whose header names them all is read instead; failing that, what
    is wrong names the sheet read and the workbook's sheets."""
    chosen = sheet_argument(sheet)
    field_by_key = target_field_by_key(fields, column_map)
    workbook = _load_workbook(path, format, by_content)
    try:
        name = _sheet_name(workbook, chosen)
        sheets = [meta.name for meta in workbook.sheets_metadata if meta.typ == _WORKSHEET]
        found = _sheet_header(workbook, path, format, name, sheets, field_by_key, required)
        if chosen is None and (found is None or found.named < len(required)):
            others = (
                _sheet_header(workbook, path, format, other, sheets, field_by_key, required)
                for other in _default_sheets(workbook)
                if other != name
            )
            complete = [
                other for other in others if other is not None and other.named == len(required)
            ]
            if len(complete) == 1:
                return complete[0]
            note = _sheet_note(workbook, name)
            if found is None:
                raise FileError(errors.NO_HEADER + note)
            found = dataclasses.replace(found, sheet_note=note)
    finally:
        workbook.close()
    if found is None:
        raise FileError(errors.NO_HEADER)
    return found


def _sheet_header(
    workbook: python_calamine.CalamineWorkbook,
    path: str,
    format: str,
    name: str,
    sheets: list[str],
    field_by_key: Mapping[str, str],
    required: Sequence[str],
) -> _Found | None:
    """The header of the sheet ``name``; None when its first rows are empty."""
    part = xlsx_chunks.sheet_part(path, name) if format == XLSX else None
    loaded = _load_sheet(workbook, name) if part is None else None
    first_load = [loaded] if loaded is not None else []
    # A big xlsx: the rows read to find the header, then the rest of the
    # same reading (its first piece is not read twice).
    first_reading: list[Iterator[tuple[int, list[Any]]]] = []

    def numbered_rows() -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) of the sheet: read in pieces (a big xlsx), or
        loaded whole, the first time from the reading that found the header."""
        if first_reading:
            return first_reading.pop()
        if part is not None:
            return _read_in_pieces(path, name, part)
        sheet_now = first_load.pop() if first_load else _reload(path, format, name)
        return enumerate(sheet_now.iter_rows(), 1)

    reading = numbered_rows()
    head = list(itertools.islice(reading, HEADER_SEARCH_RECORDS))
    if loaded is not None:
        first_load.append(loaded)
    else:
        first_reading.append(itertools.chain(head, reading))
    del loaded
    records = [_cells(cells) for _, cells in head]
    try:
        cells, count = first_header(records)
    except FileError:  # NO_HEADER
        return None
    named = names_required(cells, field_by_key, required)
    if named < len(required):
        below = header_below(records, count, field_by_key, required, named)
        if below is not None:
            named, cells, count = below
    # Empty columns left of the header are layout, not nameless columns.
    lead = next(position for position, cell in enumerate(cells) if cell)
    return _Found(
        name=name,
        sheets=sheets,
        cells=cells[lead:],
        lead=lead,
        header_row=head[count - 1][0],
        head=head,
        numbered_rows=numbered_rows,
        named=named,
    )


def _sheet_note(workbook: python_calamine.CalamineWorkbook, name: str) -> str:
    """Which sheet was read by default, and how to choose another; nothing
    for a workbook of one sheet."""
    names = [meta.name for meta in workbook.sheets_metadata]
    if len(names) < 2:
        return ""
    return errors.SHEET_READ_BY_DEFAULT.format(sheet=shown_name(name), sheets=_listed(names))


def _read_in_pieces(path: str, name: str, part: Any) -> Iterator[tuple[int, list[Any]]]:
    """A damaged sheet part is found while it is read: a file error then
    (the run fails with it), as when calamine reads a sheet whole."""
    try:
        yield from xlsx_chunks.sheet_rows(path, name, part)
    except (GeneratorExit, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # noqa: BLE001 - zip, zlib and calamine errors; a Rust panic
        raise _file_error(exc, path, False) from None


class _Layout:
    __slots__ = ("names", "positions", "lead", "width", "header")

    def __init__(
        self,
        *,
        names: tuple[str, ...],
        positions: tuple[int, ...],
        lead: int,
        width: int,
        header: tuple[str, ...],
    ) -> None:
        self.names = names
        self.positions = positions
        self.lead = lead  # empty columns left of the header
        self.width = width
        self.header = header


def _data_rows(
    rows: Iterator[tuple[int, list[Any]]], layout: _Layout, skip: int, max_field_chars: int
) -> Iterator[ReadRow]:
    """The rows below the header (and ``skip`` more), by their sheet row
    numbers."""
    names, positions, lead, width, header = (
        layout.names,
        layout.positions,
        layout.lead,
        layout.width,
        layout.header,
    )
    end = lead + width
    too_big = errors.FIELD_TOO_BIG.format(limit=max_field_chars)
    for number, row in rows:
        if number <= skip:
            continue
        cells = _cells(row[lead:end])
        if not any(cells):
            continue
        if any(len(cell) > max_field_chars for cell in cells):
            yield ReadRow(number, {}, too_big, TOO_LONG)
            continue
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        elif tuple(cell.strip() for cell in cells) == header:
            continue  # the header again, as when sheets were pasted one under another
        yield ReadRow(number, {name: cells[i] for name, i in zip(names, positions)})


def _cells(row: list[Any]) -> list[str]:
    return [value if type(value) is str else cell_text(value) for value in row]


def cell_text(value: Any) -> str:
    """A typed cell as the text the validator reads (see the module docstring)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        return (
            str(int(value))
            if value.is_integer() and -_EXACT_WHOLE < value < _EXACT_WHOLE
            else repr(value)
        )
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if kind is dt.date:
        return value.isoformat()
    if kind is dt.time:
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if kind is dt.timedelta:
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return "" if value is None else str(value)


# --- calamine, its errors turned into file errors ---------------------------------


def _load_workbook(path: str, format: str, by_content: bool) -> python_calamine.CalamineWorkbook:
    """calamine picks its reader by a known extension (by content only for
    others): a workbook named as another kind (an .xlsx saved as "orgs.xls")
    is handed over as a file object, which it reads by content."""
    try:
        if _CALAMINE_EXTENSIONS.get(os.path.splitext(path)[1].lower(), format) == format:
            return python_calamine.CalamineWorkbook.from_path(path)
        with open(path, "rb") as file:
            return python_calamine.CalamineWorkbook.from_filelike(file)
    except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException
        raise _file_error(exc, path, by_content) from None


def _load_sheet(
    workbook: python_calamine.CalamineWorkbook, name: str
) -> python_calamine.CalamineSheet:
    try:
        return workbook.get_sheet_by_name(name)
    except BaseException as exc:  # noqa: BLE001
        raise _file_error(exc, workbook.path or "", False) from None


def _reload(path: str, format: str, name: str) -> python_calamine.CalamineSheet:
    workbook = _load_workbook(path, format, False)
    try:
        return _load_sheet(workbook, name)
    finally:
        workbook.close()


def _file_error(exc: BaseException, path: str, by_content: bool) -> BaseException:
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)):
        return exc
    if isinstance(exc, python_calamine.PasswordError) or _is_encrypted_ooxml(path):
        return FileError(errors.PASSWORD_PROTECTED)
    if by_content:
        return FileError(errors.BINARY_FILE.format(kind=errors.KIND_OLE2))
    detail = (str(exc) or type(exc).__name__).replace(path, "the file")
    return FileError(errors.SPREADSHEET_UNREADABLE.format(detail=shown_name(detail)))


def _is_encrypted_ooxml(path: str) -> bool:
    """An OLE2 file with an EncryptedPackage stream: an xlsx saved with a
    password, which calamine recognises only under an .xlsx name."""
    try:
        with open(path, "rb") as file:
            if file.read(len(OLE2_MAGIC)) != OLE2_MAGIC:
                return False
            tail = b""
            while block := file.read(1 << 20):
                if _ENCRYPTED_PACKAGE in tail + block:
                    return True
                tail = block[-len(_ENCRYPTED_PACKAGE) :]
    except OSError:
        pass
    return False


def _sheet_name(workbook: python_calamine.CalamineWorkbook, sheet: str | int | None) -> str:
    """The name of the sheet to read (see the module docstring)."""
    names = [meta.name for meta in workbook.sheets_metadata]
    if sheet is None:
        default = _default_sheets(workbook)
        if not default:
            raise FileError(errors.NO_WORKSHEET)
        return default[0]
    if isinstance(sheet, str):
        if sheet in names:
            return sheet
        folded = [name for name in names if name.strip().casefold() == sheet.casefold()]
        if len(folded) == 1:
            return folded[0]
        position = int(sheet) if sheet.isdigit() else -1
    else:
        position = sheet
    if 0 <= position < len(names):
        return names[position]
    raise _no_such_sheet(sheet, names)


def _default_sheets(workbook: python_calamine.CalamineWorkbook) -> list[str]:
    """The sheets read when none is chosen, the first first: the visible
    worksheets, else (all hidden) every worksheet."""
    sheets = workbook.sheets_metadata
    worksheets = [meta.name for meta in sheets if meta.typ == _WORKSHEET]
    visible = [meta.name for meta in sheets if meta.typ == _WORKSHEET and meta.visible == _VISIBLE]
    return visible or worksheets


def _no_such_sheet(sheet: str | int, names: list[str]) -> FileError:
    return FileError(errors.SHEET_NOT_FOUND.format(sheet=sheet, sheets=_listed(names)))


def _listed(names: list[str]) -> str:
    """The workbook's sheets by position, as messages list them."""
    return ", ".join(f"{position}: {shown_name(name)!r}" for position, name in enumerate(names))
