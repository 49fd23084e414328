"""A big xlsx sheet read in pieces, since calamine cannot stream.

calamine loads a whole sheet before giving its first row (about 100 bytes
a cell: 1 GB for 1,048,576 rows of 10 columns). An xlsx sheet is one XML
part in a ZIP, a run of ``<row>`` elements inside ``<sheetData>``, each
row and cell carrying its own position (``r="A950001"``). So a sheet whose
XML is over ``CHUNK_ABOVE_BYTES`` is cut, as it is decompressed, after
every ``ROWS_PER_CHUNK`` rows; each piece goes into a small temporary
workbook with the parts calamine needs to read it (workbook, relations,
shared strings, styles), and calamine reads that. Cells keep their
positions, so rows come out numbered as in the whole sheet. The shared
strings table is still loaded with every piece: memory follows it and
one piece, not the sheet.

Only xlsx: .xls is one binary stream and .ods one content.xml with
relative positions (``number-rows-repeated``), so those are read whole.
"""

from __future__ import annotations

import heapq
import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import python_calamine

# A sheet whose XML holds more bytes than this (about 25,000 rows of 10
# short columns) is read in pieces of ROWS_PER_CHUNK rows. Measured on
# 1,048,576 rows x 10 columns: reading it peaks at 162 MB in 19 s with
# 20,000-row pieces (236 MB with 50,000), against 1,048 MB loaded whole.
CHUNK_ABOVE_BYTES = 16 * 1024 * 1024
ROWS_PER_CHUNK = 20_000
_BLOCK = 4 * 1024 * 1024
# The parts calamine reads to open a workbook and read one of its sheets.
_PARTS = (
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "xl/sharedStrings.xml",
)
_NAME = rb"(?:[\w.-]+:)?"
_SHEET_DATA = re.compile(rb"<(" + _NAME + rb")sheetData\b[^>]*?(/?)>")
_ROOT = re.compile(rb"<(" + _NAME + rb")worksheet\b")
# The sheet's claimed size: calamine may size its range by it.
_DIMENSION = re.compile(rb"<" + _NAME + rb"dimension\b[^>]*/>")
_ROW_START = re.compile(rb"<" + _NAME + rb"row\b[^<>]*>")
_CELL_START = re.compile(rb"<" + _NAME + rb"c\b[^<>]*>")


def sheet_part(path: str, sheet: str) -> zipfile.ZipInfo | None:
    """The ZIP entry of the named sheet's XML, when it is big enough to be
    read in pieces; None otherwise (or when it cannot be found: calamine
    then reads the sheet whole, and reports what is wrong with it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = _sheet_part_name(archive, sheet)
            info = archive.getinfo(name) if name else None
            if (
                info is None
                or info.file_size <= CHUNK_ABOVE_BYTES
                or not _positions_given(archive, info)
            ):
                return None
    except (
        zipfile.BadZipFile,
        KeyError,
        OSError,
        EOFError,
        zlib.error,
        ElementTree.ParseError,
        ValueError,
    ):
        return None
    return info


def _positions_given(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the first row and cell carry their positions (``r``), as
    Excel and most writers put them: without, calamine counts rows from the
    top of each piece, so such a sheet is read whole."""
    with archive.open(info) as stream:
        head = stream.read(_BLOCK)
    row = _ROW_START.search(head)
    cell = _CELL_START.search(head)
    return row is not None and b' r="' in row.group() and (cell is None or b' r="' in cell.group())


def _sheet_part_name(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """Where the workbook's relations put the sheet named ``sheet``."""
    relation = None
    for element in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter():
        if element.tag.endswith("}sheet") and element.get("name") == sheet:
            relation = next(
                (value for key, value in element.attrib.items() if key.endswith("}id")), None
            )
    if relation is None:
        return None
    for element in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter():
        if element.get("Id") == relation and (target := element.get("Target")):
            return (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target))
            )
    return None


def sheet_rows(path: str, sheet: str, part: zipfile.ZipInfo) -> Iterator[tuple[int, list[Any]]]:
    """The sheet's rows as (row number, cells from column A), piece by
    piece; rows between pieces' data that hold nothing are left out."""
    with (
        zipfile.ZipFile(path) as archive,
        tempfile.TemporaryDirectory(prefix="importer-xlsx-") as scratch,
    ):
        workbook = Path(scratch) / "piece.xlsx"
        with archive.open(part) as stream:
            for piece in _pieces(stream):
                _write_piece(archive, part.filename, piece, workbook)
                del piece
                loaded = python_calamine.CalamineWorkbook.from_path(str(workbook))
                try:
                    loaded_sheet = loaded.get_sheet_by_name(sheet)
                    rows = loaded_sheet.to_python(skip_empty_area=True)
                    start = loaded_sheet.start if rows else None
                    del loaded_sheet
                finally:
                    loaded.close()
                if start is None:
                    continue
                first_row, first_column = start
                padding = [""] * first_column
                for offset, cells in enumerate(rows):
                    yield first_row + offset + 1, padding + cells if padding else cells
                del rows


def _pieces(stream: IO[bytes]) -> Iterator[bytes]:
    """The sheet XML cut into whole worksheets of ``ROWS_PER_CHUNK`` rows each."""
    buffer = b""
    while (opening := _SHEET_DATA.search(buffer)) is None:
        block = stream.read(_BLOCK)
        if not block:
            return
        buffer += block
    root = _ROOT.search(buffer)
    if opening.group(2) or root is None:  # <sheetData/>: no rows
        return
    head = _DIMENSION.sub(b"", buffer[: opening.end()])
    end_of_rows = b"</" + opening.group(1) + b"sheetData>"
    tail = end_of_rows + b"</" + root.group(1) + b"worksheet>"
    buffer = buffer[opening.end() :]
    parts: list[bytes] = []
    rows = 0
    row_ends = _row_ends(opening.group(1))
    while True:
        taken = last = 0
        for last in row_ends(buffer):
            rows += 1
            if rows == ROWS_PER_CHUNK:
                parts.append(buffer[taken:last])
                taken = last
                yield head + b"".join(parts) + tail
                parts, rows = [], 0
        parts.append(buffer[taken:last])
        buffer = buffer[last:]
        if end_of_rows in buffer:
            break
        block = stream.read(_BLOCK)
        if not block:
            break
        buffer += block
    if rows:
        yield head + b"".join(parts) + tail


def _row_ends(prefix: bytes) -> Callable[[bytes], Iterator[int]]:
    """Where each row of some sheet XML ends, in order: after its closing
    tag, or after a row element without cells (``<row r="7"/>``). Rows are
    tagged as their ``sheetData`` is (``prefix``: ``x:`` or none). Cell text
    cannot hold either: "<" is always escaped in XML text. Each is a literal
    the regex engine finds by skipping ahead, not a pattern tried at every
    "<" (a fifth of the time for a 70 MB sheet)."""
    closing = re.compile(re.escape(b"</" + prefix + b"row>"))
    empty = re.compile(re.escape(b"<" + prefix + b"row") + rb"\b[^<>]*/>")

    def ends(buffer: bytes) -> Iterator[int]:
        return heapq.merge(
            (end.end() for end in closing.finditer(buffer)),
            (end.end() for end in empty.finditer(buffer)),
        )

    return ends


def _write_piece(archive: zipfile.ZipFile, sheet_name: str, piece: bytes, path: Path) -> None:
    """A workbook of the parts calamine needs and this piece as the sheet
    (uncompressed: it is read once, right away)."""
    names = set(archive.namelist())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for name in _PARTS:
            if name in names:
                with archive.open(name) as source, out.open(name, "w") as target:
                    shutil.copyfileobj(source, target, _BLOCK)
        out.writestr(sheet_name, piece)
