"""Streaming readers for CSV and JSON Lines files of records; workbooks
(xlsx, xls, ods) are handed to ingest.spreadsheets, which yields the same
rows.

``open_reader`` checks the file as a whole up front -- size, binary content,
encoding (the whole file is decoded once, block by block), format, delimiter
and header -- and raises ``FileError`` for anything wrong with it, so that a
run either fails before it writes anything or reads the file to its end.
Iterating the returned ``Reader`` then yields one ``ReadRow`` per record;
a record that cannot be read properly becomes a row with ``error`` set (the
pipeline quarantines it) instead of an exception.

Memory stays flat whatever the file size: files are read in blocks, rows are
yielded one at a time, and no physical line is held in memory beyond a cap
derived from ``max_field_chars``.

Behaviour worth knowing (see the tests for each):

* Row numbers (CSV) count records the way a spreadsheet numbers rows: the
  header is row 1, a record with quoted newlines is one row, and blank
  records are skipped but still numbered. So is a record that repeats the
  header (files joined end to end).
* A stray, unbalanced quote makes the csv module read on into one field.
  Reading is strict, so that field ends in an error: at the next quote
  (text after it), at the end of the file ("not closed"), or once it grows
  past ``max_field_chars``. The record becomes one malformed row and reading
  starts again on the line after the quote's line, so the lines it swallowed
  are read as rows (the file is read again up to there; at most
  ``_MAX_RESYNCS`` times per file, after which they stay swallowed).
* A field over ``max_field_chars`` makes its row ``FIELD_TOO_BIG`` (rule
  code too_long) without being held in memory, and reading resumes at the
  next line, so a huge field on one line costs exactly its row. If the huge
  field is quoted and spans several lines, its other lines are read as rows
  of their own (usually malformed).
* A first line ``sep=;`` (Excel's hint, written by tools that export for
  Excel) sets the delimiter and is skipped; it is still numbered, so the
  header is then row 2.
* A CSV cell ``="0123"`` (Excel's way to keep leading zeros) is read as the
  text Excel shows, ``0123``; other formulas are read as written.
* The csv module has no per-reader field limit, so reading a CSV file sets
  the process-wide ``csv.field_size_limit`` to ``max_field_chars``.
* A gzip-compressed file (``orgs.csv.gz``) is read as the file inside it,
  streamed; decompressed, it must stay under ``max_bytes`` too, and a
  damaged one fails as a whole, before any row is read.
* JSON numbers are kept as their source text ("1.50" stays "1.50", a
  5000-digit integer stays as written) rather than being converted to float
  or int and back, which would round them or, for huge ints, fail.
* A JSON object or array where one value belongs, and a lone UTF-16
  surrogate escape (which no database can store), make the line malformed.
* Column names and JSON keys kept on the run or shown in messages have NUL
  made visible (``shown_name``): PostgreSQL refuses NUL in text and JSON.
* With ``max_malformed_rows``, a file whose rows are mostly unreadable
  fails while it is read: once more than that many rows, and more than
  half of the records read so far, had an ``error``, iterating raises
  ``FileError`` (MOSTLY_MALFORMED) naming the row and line where that
  stretch of bad rows starts, instead of yielding a row for each. The
  count covers the whole file whoever reads it (every partition of a run
  reads all of it), so every reader of one file stops at the same row.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import os
import re
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Any

from ingest import errors, spreadsheets
from ingest.errors import FileError
from ingest.fields import MALFORMED_ROW, TOO_LONG
from ingest.headers import (
    HEADER_SEARCH_RECORDS,
    MAX_UNKNOWN_COLUMNS,
    first_header,
    header_below,
    map_header,
    names_required,
    normalize_header,
    shown_name,
    target_field_by_key,
    trimmed_cells,
)
from ingest.rows import Preview, Reader, ReadRow

# Files are read (and validated) in blocks of this size.
BLOCK_SIZE = 1 << 20
# Magic bytes, BOMs and NUL patterns are looked for in this much of the start.
HEAD_SIZE = 64 * 1024

CSV = "csv"
JSONL = "jsonl"
_FORMAT_BY_EXTENSION = {
    ".csv": CSV,
    ".txt": CSV,
    ".tsv": CSV,
    ".jsonl": JSONL,
    ".ndjson": JSONL,
    ".json": JSONL,
}
_GZIP_MAGIC = b"\x1f\x8b"
# What reading a damaged or cut gzip stream raises.
_GZIP_ERRORS = (OSError, EOFError, zlib.error)
_DELIMITERS = (",", ";", "\t", "|")
_EXCEL_SEP_LINE = re.compile(r'"?sep=([^"\r\n])"?[ \t]*(?:\r\n|\r|\n)?', re.IGNORECASE)
_TAB_SPELLINGS = ("\\t", "tab")
_DOS_END_OF_FILE = "\x1a"

# The encoding name reported when a file is neither UTF-8 nor cp1252.
_FALLBACK_NAME = "UTF-8 or cp1252"

# Codecs that read the byte order from a BOM and refuse a file without one
# ("UTF-16 stream does not start with BOM").
_BYTE_ORDER_FROM_BOM = ("utf-16", "utf-32")
_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)

# Spreadsheets (a ZIP or OLE2 file that is a workbook) are read before these
# are looked for (see ingest.spreadsheets).
_SIGNATURES = (
    (spreadsheets.ZIP_MAGIC, errors.KIND_ZIP),
    (spreadsheets.OLE2_MAGIC, errors.KIND_OLE2),
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG image"),
    (b"GIF8", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"\x1f\x8b", "doubly gzip-compressed"),  # once is read (see open_reader)
)
# Control bytes that text practically never contains (tab, newlines, form
# feed and vertical tab excluded).
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))

_VISIBLE = re.compile(r"[^\s\ufeff]")

# A line that strict csv parsing always rejects, whatever state the parser is
# in at the start of a line (a new record, or inside a quoted field).
_CSV_POISON_LINE = '"x"x'
# A cell ="..." (Excel's text formula) is read as the text inside; lines
# without this mark skip the check.
_EXCEL_TEXT_MARK = '="'
_EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')
# Each resync after a stray quote reads the file again up to that point:
# at most this many per file, then swallowed lines stay in their bad row.
_MAX_RESYNCS = 100
# Readable records that end a stretch of damage (see _Damage).
_DAMAGE_GAP = 100
# Bounds on what a JSONL file can make the reader remember (keys per file).
_MAX_CACHED_KEYS = 10_000
# A JSON escape of a UTF-16 surrogate; a lone one cannot be stored as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Damage:
    """Counts a file's unreadable rows (those with an ``error``) as they are
    read, and fails the file once they are more than ``limit`` and more than
    half of the records read so far: a broken file then costs one clear
    message, not a violation per line.

    The message names where the damage starts: the first bad row after the
    last stretch of ``_DAMAGE_GAP`` or more readable records (so a few
    scattered bad rows earlier in the file do not hide where it went wrong).
    Only bad rows call ``add``; the readable ones cost nothing here.
    """

    __slots__ = ("limit", "count", "last", "start")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.last = 0
        self.start: tuple[int, int, str, str] = (0, 0, "", "")

    def add(self, number: int, line: int, records: int, hint: str, error: str) -> None:
        """A bad row: its number, the file line it starts on, the data
        records read so far (it included), what probably went wrong, and its
        own error message."""
        if not self.count or number - self.last > _DAMAGE_GAP:
            self.start = (number, line, hint, error)
        self.count += 1
        self.last = number
        if self.count > self.limit and self.count * 2 > records:
            row, line, hint, error = self.start
            at = errors.DAMAGE_AT_ROW if line == row else errors.DAMAGE_AT_ROW_AND_LINE
            where = at.format(row=row, line=line)
            raise FileError(
                errors.MOSTLY_MALFORMED.format(
                    malformed=self.count,
                    rows=records,
                    limit=self.limit,
                    where=where,
                    hint=hint,
                    error=error,
                )
            )


def _damage(max_malformed_rows: int | None) -> _Damage | None:
    return None if max_malformed_rows is None else _Damage(max_malformed_rows)


def open_reader(
    path: str | os.PathLike[str],
    *,
    fields: Sequence[str],
    required: Sequence[str] = (),
    format: str | None = None,
    encoding: str | None = None,
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
    reading; see the module docstring for what rows look like.
    ``column_map``: column names (or JSON keys) of the file → target fields,
    for columns not named as the fields are; matched as headers are.
    ``sheet``: which sheet of a workbook to read, by name or 0-based
    position (default: the first visible worksheet); text files ignore it.
    Workbooks are read by ingest.spreadsheets.
    """
    if max_field_chars < 1 or skip_rows < 0:
        raise ValueError("max_field_chars must be positive and skip_rows not negative")
    path = os.fspath(path)
    delimiter = delimiter_argument(delimiter)
    opened = _open_file(path, format, encoding, max_bytes)
    if isinstance(opened, _Workbook):
        return spreadsheets.open_workbook(
            path,
            format=opened.format,
            by_content=opened.by_content,
            fields=fields,
            required=required,
            sheet=sheet,
            max_field_chars=max_field_chars,
            skip_rows=skip_rows,
            column_map=column_map or {},
        )
    source, chosen_format, first_char = opened
    if chosen_format == CSV:
        return _open_csv(
            source,
            fields,
            required,
            delimiter,
            max_field_chars,
            skip_rows,
            column_map or {},
            max_malformed_rows,
        )
    if first_char == "[":
        raise FileError(errors.NOT_JSON_LINES)
    return _open_jsonl(
        source, fields, max_field_chars, skip_rows, column_map or {}, max_malformed_rows
    )


@dataclass(frozen=True, slots=True)
class _Workbook:
    format: str
    by_content: bool  # only its first bytes say it is one (see spreadsheets.open_workbook)


def _open_file(
    path: str,
    format: str | None,
    encoding: str | None,
    max_bytes: int | None,
    scan_bytes: int | None = None,
) -> _Workbook | tuple[_Source, str, str]:
    """The checks every file goes through before its header is looked for:
    a workbook, or text as (source, format, first visible character).
    ``scan_bytes``: decode only that much of a text file (see
    ``preview_file``); None checks all of it."""
    chosen_format = _format_argument(format)
    explicit_encoding = encoding_name(encoding)
    head = _read_head(path, max_bytes)
    workbook = spreadsheets.workbook_format(path, head, chosen_format)
    if workbook is not None:
        by_content = chosen_format is None and spreadsheets.ole2_not_named_xls(path, head)
        return _Workbook(workbook, by_content)
    if (
        chosen_format is not None
        and (found := spreadsheets.workbook_format(path, head, None)) is not None
    ):
        raise FileError(errors.WORKBOOK_GIVEN_AS_TEXT.format(found=found, given=chosen_format))
    compressed = head.startswith(_GZIP_MAGIC)
    if compressed:
        head = _read_head_gzip(path)
    _reject_signature(head)
    encoding, first_char = _decide_encoding(
        path, head, explicit_encoding, compressed, max_bytes, scan_bytes
    )
    chosen_format = chosen_format or _format_from_name(path) or _format_from_content(first_char)
    return _Source(path, encoding, compressed), chosen_format, first_char


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
    opened = _open_file(path, format, encoding, max_bytes, scan_bytes=PREVIEW_SCAN_BYTES)
    if isinstance(opened, _Workbook):
        return spreadsheets.preview_workbook(
            path,
            format=opened.format,
            by_content=opened.by_content,
            fields=fields,
            required=required,
            sheet=sheet,
            column_map=column_map or {},
            rows=rows,
        )
    source, chosen_format, first_char = opened
    if chosen_format == CSV:
        return _preview_csv(
            source, fields, required, delimiter, max_field_chars, column_map or {}, rows
        )
    if first_char == "[":
        raise FileError(errors.NOT_JSON_LINES)
    return _preview_jsonl(source, max_field_chars, rows)


def _preview_csv(
    source: _Source,
    fields: Sequence[str],
    required: Sequence[str],
    delimiter: str | None,
    max_field_chars: int,
    column_map: Mapping[str, str],
    rows: int,
) -> Preview:
    delimiter, cells, header_records = _find_csv_header(
        source, fields, required, delimiter, max_field_chars, column_map
    )
    header, width = tuple(cells), len(cells)
    sample: list[list[str]] = []
    with source.open(newline="") as text:
        lines = _CappedLines(text, _csv_line_cap(max_field_chars), replacement=_CSV_POISON_LINE)
        records = _until_csv_error(_csv_reader(lines, delimiter, max_field_chars))
        for record in itertools.islice(records, header_records, None):
            if not any(cell.strip() for cell in record) or tuple(trimmed_cells(record)) == header:
                continue
            record = [_unwrap_excel_text(cell) for cell in record[:width]]
            sample.append(record + [""] * (width - len(record)))
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


def _preview_jsonl(source: _Source, max_field_chars: int, rows: int) -> Preview:
    """The keys of the first ``rows`` objects (among the first lines), in
    the order they first appear, and each object's values under them."""
    keys: dict[str, None] = {}
    objects: list[dict[str, str]] = []
    with source.open(newline=None) as text:
        lines = _CappedLines(text, max_field_chars + 1, replacement=None)
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


# --- Arguments -------------------------------------------------------------


def _format_argument(format: str | None) -> str | None:
    if format is None:
        return None
    if format.strip().lower() in (CSV, JSONL, *spreadsheets.FORMATS):
        return format.strip().lower()
    raise FileError(errors.UNSUPPORTED_FORMAT.format(format=format))


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


def encoding_name(encoding: str | None) -> str | None:
    """The canonical name of a text codec (e.g. "UTF8" -> "utf-8"); an
    unknown name, or a codec that does not make text (rot13, base64),
    raises UNKNOWN_ENCODING. Uploads check the name with it before a run
    is made."""
    if encoding is None:
        return None
    try:
        # Constructing a wrapper is how io itself rejects non-text codecs
        # such as rot13 or base64.
        io.TextIOWrapper(io.BytesIO(), encoding=encoding)
        return codecs.lookup(encoding).name
    except LookupError:
        raise FileError(errors.UNKNOWN_ENCODING.format(encoding=encoding)) from None


# --- Whole-file checks -----------------------------------------------------


def _read_head(path: str, max_bytes: int | None) -> bytes:
    """The first bytes of the file, after checking that it exists, is not
    empty and is not over ``max_bytes``."""
    try:
        size = os.stat(path).st_size
        if max_bytes is not None and size > max_bytes:
            raise FileError(errors.TOO_LARGE.format(size=size, limit=max_bytes))
        if size == 0:
            raise FileError(errors.EMPTY_FILE)
        with open(path, "rb") as file:
            return file.read(HEAD_SIZE)
    except FileNotFoundError:
        raise FileError(errors.FILE_MISSING) from None


def _read_head_gzip(path: str) -> bytes:
    """The first bytes of a gzip-compressed file's content."""
    try:
        with gzip.open(path, "rb") as file:
            head = file.read(HEAD_SIZE)
    except _GZIP_ERRORS as exc:
        raise FileError(errors.BAD_GZIP.format(detail=exc)) from None
    if not head:
        raise FileError(errors.EMPTY_FILE)
    return head


def _open_binary(path: str, compressed: bool) -> IO[bytes]:
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _reject_signature(head: bytes) -> None:
    """Spreadsheets, archives, PDFs and images are common wrong uploads; name
    them rather than report undecodable bytes."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            raise FileError(errors.BINARY_FILE.format(kind=kind))


def _decide_encoding(
    path: str,
    head: bytes,
    explicit: str | None,
    compressed: bool = False,
    max_bytes: int | None = None,
    scan_bytes: int | None = None,
) -> tuple[str, str]:
    """Pick the encoding and check that the whole file decodes with it
    (and, compressed, that it decompresses, within ``max_bytes``); with
    ``scan_bytes``, only about that many of its first bytes.

    Returns the encoding and the first visible character; a file without
    one is empty, and that is raised here too.
    """
    encoding = explicit or _encoding_from_bom(head) or _utf16_from_nul_pattern(head)
    if encoding is None:
        _reject_nul_heavy(head)
        encoding, first_char = _utf8_or_cp1252(path, head, compressed, max_bytes, scan_bytes)
    else:
        if not _is_wide_unicode(encoding):
            _reject_nul_heavy(head)
        first_char = _scan_text(path, head, encoding, encoding, compressed, max_bytes, scan_bytes)
    if first_char is None:
        raise FileError(errors.EMPTY_FILE)
    return encoding, first_char


def _is_wide_unicode(encoding: str) -> bool:
    """UTF-16 and UTF-32 text is full of NUL bytes."""
    return encoding.startswith(("utf-16", "utf-32"))


def _encoding_from_bom(head: bytes) -> str | None:
    for bom, encoding, _ in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def _utf16_from_nul_pattern(head: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-Latin text has a NUL in every other byte,
    at odd offsets for little-endian, at even ones for big-endian."""
    sample = head[: min(len(head), 4096) // 2 * 2]
    half = len(sample) // 2
    if not half:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd * 10 >= half * 4 and even * 10 <= odd:
        return "utf-16-le"
    if even * 10 >= half * 4 and odd * 10 <= even:
        return "utf-16-be"
    return None


def _reject_nul_heavy(head: bytes) -> None:
    """Binary data has NULs and many other control bytes; a text file with a
    few NULs in it is still read (the validator quarantines those rows)."""
    if b"\0" not in head:
        return
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls >= 8 and controls * 20 > len(head):
        raise FileError(errors.BINARY_FILE.format(kind="binary"))


def _utf8_or_cp1252(
    path: str, head: bytes, compressed: bool, max_bytes: int | None, scan_bytes: int | None = None
) -> tuple[str, str | None]:
    """UTF-8 if the whole file is valid UTF-8, else cp1252 (Excel on Windows).

    A file that is UTF-8 but for a few bytes (text from two sources joined,
    a hand edit in another editor) is refused at its first bad byte: read as
    cp1252, every accented letter of its UTF-8 text would turn into two
    wrong ones ("Ã©" for "é"), on every row, without a word."""
    try:
        return "utf-8", _scan_text(path, head, "utf-8", "utf-8", compressed, max_bytes, scan_bytes)
    except _Undecodable as not_utf8:
        if _mostly_utf8(path, compressed, scan_bytes):
            raise FileError(not_utf8.message + errors.MIXED_ENCODINGS) from None
        return "cp1252", _scan_text(
            path, head, "cp1252", _FALLBACK_NAME, compressed, max_bytes, scan_bytes
        )


_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_ASCII = bytes(range(128))


def _mostly_utf8(path: str, compressed: bool, scan_bytes: int | None = None) -> bool:
    """Whether most of the file's bytes beyond ASCII (of its first
    ``scan_bytes``, if given) form UTF-8 sequences. In cp1252 text they
    hardly ever do (that would read "Ã©"): its accented letters stand
    alone, each an invalid UTF-8 byte."""
    in_sequences = beyond_ascii = scanned = 0
    with _open_binary(path, compressed) as file:
        while (scan_bytes is None or scanned < scan_bytes) and (block := file.read(BLOCK_SIZE)):
            scanned += len(block)
            beyond_ascii += len(block.translate(None, _ASCII))
            in_sequences += sum(
                match.end() - match.start() for match in _UTF8_SEQUENCE.finditer(block)
            )
    return in_sequences * 2 > beyond_ascii


class _Undecodable(FileError):
    """The file's bytes are not text in the encoding tried."""


def _scan_text(
    path: str,
    head: bytes,
    encoding: str,
    name: str,
    compressed: bool = False,
    max_bytes: int | None = None,
    scan_bytes: int | None = None,
) -> str | None:
    """Decode the whole file (or its first ``scan_bytes``, rounded up to a
    block) block by block, raising UNDECODABLE (under ``name``) at the
    first bad byte; return the first visible character. A compressed file
    is decompressed on the way, within ``max_bytes``.

    The BOM is skipped and the file decoded with the plain codec, so that
    reported offsets are offsets in the file (in the decompressed content).
    """
    codec, start = _codec_after_bom(encoding, head)
    if codec in _BYTE_ORDER_FROM_BOM:  # given by name, without its BOM
        raise _Undecodable(
            errors.UNDECODABLE.format(byte=head[0], offset=0, encoding=name)
            + errors.NO_BYTE_ORDER_MARK.format(encoding=encoding)
        )
    decoder = codecs.getincrementaldecoder(codec)("strict")
    first_char = None
    with _open_binary(path, compressed) as file:
        file.seek(start)
        offset = start
        while True:
            try:
                block = file.read(BLOCK_SIZE)
            except _GZIP_ERRORS as exc:
                if not compressed:
                    raise
                raise FileError(
                    errors.BAD_GZIP.format(detail=exc)
                ) from None  # damaged or cut short
            final = not block
            pending = _pending_bytes(decoder)
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                bad = max(offset - pending + exc.start, 0)
                raise _Undecodable(
                    errors.UNDECODABLE.format(byte=exc.object[exc.start], offset=bad, encoding=name)
                ) from None
            except UnicodeError as exc:  # a codec that names no position (idna: "label too long")
                raise _Undecodable(errors.CANNOT_DECODE.format(encoding=name, detail=exc)) from None
            if first_char is None:
                first_char = _first_visible(text)
            offset += len(block)
            if compressed and max_bytes is not None and offset > max_bytes:
                raise FileError(errors.TOO_LARGE_DECOMPRESSED.format(limit=max_bytes))
            del block, text  # before the next read: one block and its text in memory at a time
            if final or (scan_bytes is not None and offset >= scan_bytes):
                return first_char


def _first_visible(text: str) -> str | None:
    """The first character that is neither whitespace nor a BOM."""
    match = _VISIBLE.search(text)
    return match.group() if match else None


def _codec_after_bom(encoding: str, head: bytes) -> tuple[str, int]:
    """The codec that decodes what follows the BOM, and the BOM's length."""
    for bom, bom_encoding, codec in _BOMS:
        if bom_encoding == encoding and head.startswith(bom):
            return codec, len(bom)
    return encoding, 0


def _pending_bytes(decoder: codecs.IncrementalDecoder) -> int:
    """How many bytes of earlier blocks the decoder still holds (a sequence
    split across blocks); error positions count from those."""
    state = decoder.getstate()
    return len(state[0]) if isinstance(state, tuple) and isinstance(state[0], bytes) else 0


def _format_from_name(path: str) -> str | None:
    return _FORMAT_BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def _format_from_content(first_char: str | None) -> str:
    return JSONL if first_char == "{" else CSV


@dataclass(frozen=True, slots=True)
class _Source:
    path: str
    encoding: str
    compressed: bool = False

    def open(self, newline: str | None) -> io.TextIOWrapper:
        if self.compressed:
            return io.TextIOWrapper(
                _open_binary(self.path, True), encoding=self.encoding, newline=newline
            )
        return open(self.path, encoding=self.encoding, newline=newline, buffering=BLOCK_SIZE)


class _CappedLines:
    """The physical lines of a text stream, none longer than ``cap``.

    A longer line is read through and dropped, and ``replacement`` is yielded
    in its place, so one huge line never sits in memory whole. ``oversized``
    counts the replacements.
    """

    def __init__(
        self, text: io.TextIOWrapper, cap: int, replacement: str | None, watch: str | None = None
    ) -> None:
        self.oversized = 0
        # Set when a line holding ``watch`` was read; the consumer resets it.
        self.watched = False
        self._text = text
        self._cap = cap
        self._replacement = replacement
        self._watch = watch

    def __iter__(self) -> Iterator[str | None]:
        readline, cap, watch = self._text.readline, self._cap, self._watch
        while True:
            line = readline(cap)
            if not line:
                return
            if len(line) == cap and line[-1] not in "\r\n":
                self._drain_line()
                self.oversized += 1
                yield self._replacement
            else:
                if watch is not None and watch in line:
                    self.watched = True
                yield line

    def _drain_line(self) -> None:
        readline, cap = self._text.readline, self._cap
        while len(piece := readline(cap)) == cap and piece[-1] not in "\r\n":
            pass


# --- CSV -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CsvLayout:
    """Where the data starts and how its cells map onto target fields."""

    delimiter: str
    header_records: int  # records before the data: blank ones, then the header
    width: int  # header cells, not counting trailing blank ones
    names: tuple[str, ...]  # target field of each mapped cell, in file order
    positions: tuple[int, ...]  # index of each mapped cell
    pick: Callable[[list[str]], Sequence[str]] | None  # mapped cells of a row; None: all cells
    header: tuple[str, ...]  # the header's cells, trimmed
    header_starts: frozenset[str]  # a row starting so may repeat the header

    @staticmethod
    def of(
        delimiter: str,
        header_records: int,
        cells: list[str],
        names: list[str],
        positions: list[int],
    ) -> _CsvLayout:
        return _CsvLayout(
            delimiter=delimiter,
            header_records=header_records,
            width=len(cells),
            names=tuple(names),
            positions=tuple(positions),
            pick=_cell_picker(positions, len(cells)),
            header=tuple(cells),
            header_starts=frozenset((cells[0], "\ufeff" + cells[0])),  # a joined file's BOM
        )

    def values(self, row: list[str]) -> dict[str, str]:
        return dict(zip(self.names, row if self.pick is None else self.pick(row)))

    def partial_values(self, row: list[str]) -> dict[str, str]:
        """The values of the cells a short row has."""
        return {name: row[i] for name, i in zip(self.names, self.positions) if i < len(row)}


def _open_csv(
    source: _Source,
    fields: Sequence[str],
    required: Sequence[str],
    delimiter: str | None,
    max_field_chars: int,
    skip_rows: int,
    column_map: Mapping[str, str],
    max_malformed_rows: int | None = None,
) -> Reader:
    delimiter, cells, header_records = _find_csv_header(
        source, fields, required, delimiter, max_field_chars, column_map
    )
    field_by_key = target_field_by_key(fields, column_map)
    names, positions, unknown = map_header(cells, field_by_key, required, column_map)
    layout = _CsvLayout.of(delimiter, header_records, cells, names, positions)
    return Reader(
        format=CSV,
        encoding=source.encoding,
        delimiter=delimiter,
        columns=names,
        unknown_columns=unknown,
        rows=lambda: _csv_rows(
            source, layout, max_field_chars, skip_rows, _damage(max_malformed_rows)
        ),
        header_row=header_records,
    )


def _find_csv_header(
    source: _Source,
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
    return delimiter, cells, header_records


def _csv_line_cap(max_field_chars: int) -> int:
    """Longest physical line held in memory: room for several maximal fields."""
    return 4 * max_field_chars + 65_536


def _csv_reader(lines: _CappedLines, delimiter: str, max_field_chars: int) -> Any:
    """A strict reader: malformed quoting raises csv.Error (one bad row)
    instead of being silently patched up. Spaces after a delimiter are
    skipped (values are trimmed anyway), so a value quoted after one
    (``1, "Acme, Inc", DE``, as people and some tools write CSV) is read
    as quoted instead of splitting at its comma."""
    csv.field_size_limit(max_field_chars)  # fields of up to this many characters are read
    return csv.reader(
        lines,
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        strict=True,
        skipinitialspace=True,
    )


def _sniff_delimiter(source: _Source, max_field_chars: int) -> str:
    """The candidate found most often outside quotes in the header line;
    a comma when none is, or on a tie."""
    with source.open(newline="") as text:
        for line in _CappedLines(text, _csv_line_cap(max_field_chars), replacement=""):
            if line.strip(' \t\r\n"' + "".join(_DELIMITERS)):
                break
        else:
            return ","
    if line.startswith("\ufeff"):
        line = line[1:]
    unquoted = "".join(line.split('"')[::2])
    counts = sorted(((unquoted.count(d), d) for d in _DELIMITERS), reverse=True)
    (best, delimiter), (runner_up, _) = counts[0], counts[1]
    return delimiter if best > runner_up else ","


def _declared_delimiter(source: _Source) -> str | None:
    """The delimiter of a first line ``sep=X`` (``"sep=X"`` and any case too)."""
    with source.open(newline="") as text:
        line = text.readline(16)
    match = _EXCEL_SEP_LINE.fullmatch(line.removeprefix("\ufeff"))
    return match.group(1) if match else None


def _read_header(
    source: _Source, delimiter: str, max_field_chars: int, skip: int = 0
) -> tuple[list[str], int]:
    """The trimmed header cells without trailing blank ones, and how many
    records (``skip`` first ones and blank ones included) precede the data."""
    with source.open(newline="") as text:
        lines = _CappedLines(text, _csv_line_cap(max_field_chars), replacement=_CSV_POISON_LINE)
        reader = _csv_reader(lines, delimiter, max_field_chars)
        try:
            return first_header(reader, skip)
        except csv.Error as exc:
            detail = _csv_error_detail(exc, lines.oversized > 0, max_field_chars)
            raise FileError(errors.BAD_CSV_HEADER.format(detail=detail)) from None


def _header_below(
    source: _Source,
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
            lines = _CappedLines(text, _csv_line_cap(max_field_chars), replacement=_CSV_POISON_LINE)
            reader = _until_csv_error(_csv_reader(lines, delimiter, max_field_chars))
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


def _cell_picker(positions: list[int], width: int) -> Callable[[list[str]], Sequence[str]] | None:
    """A C-level getter of the mapped cells, or None when every cell is mapped
    in order (the row itself is then zipped with the names)."""
    if positions == list(range(width)):
        return None
    if not positions:
        return lambda row: ()
    if len(positions) == 1:
        return itemgetter(positions[0], positions[0])  # a tuple; zip with one name uses one
    return itemgetter(*positions)


def _csv_rows(
    source: _Source,
    layout: _CsvLayout,
    max_field_chars: int,
    skip_rows: int,
    damage: _Damage | None = None,
) -> Iterator[ReadRow]:
    """The data rows; a record that cannot be read costs only its first line
    (see ``_csv_records``): reading starts again on the line after it, up to
    ``_MAX_RESYNCS`` times per file."""
    first_row = layout.header_records + skip_rows + 1
    skip_lines, number = 0, None
    for resyncs in range(_MAX_RESYNCS + 1):
        with source.open(newline="") as text:
            lines = _CappedLines(
                text,
                _csv_line_cap(max_field_chars),
                replacement=_CSV_POISON_LINE,
                watch=_EXCEL_TEXT_MARK,
            )
            line_iter = iter(lines)
            for _ in itertools.islice(line_iter, skip_lines):
                pass
            reader = _csv_reader(line_iter, layout.delimiter, max_field_chars)
            if number is None:
                number = _skip_records(reader, layout.header_records)
            lines.watched = False
            records = _csv_records(
                reader,
                lines,
                number,
                layout,
                max_field_chars,
                resync=resyncs < _MAX_RESYNCS,
                damage=damage,
                line_offset=skip_lines,
            )
            while True:
                try:
                    row = next(records)
                except StopIteration as stop:
                    resume = stop.value
                    break
                if row.number >= first_row:
                    yield row
        if resume is None:
            return
        lines_read, number = resume
        skip_lines += lines_read


def _skip_records(reader: Iterator[list[str]], count: int) -> int:
    """Skip ``count`` records (malformed ones included); return how many there were."""
    skipped = 0
    while skipped < count:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass
        skipped += 1
    return skipped


def _csv_records(
    reader: Any,
    lines: _CappedLines,
    number: int,
    layout: _CsvLayout,
    max_field_chars: int,
    resync: bool,
    damage: _Damage | None = None,
    line_offset: int = 0,
) -> Generator[ReadRow, None, tuple[int, int] | None]:
    """The hot loop: a regular row costs a length check, a truth test and a
    dict; everything else (blank or ragged rows) goes to ``_irregular_row``.

    A record the csv module rejects after reading several lines (a stray
    quote swallows the lines up to the next quote) is one malformed row;
    with ``resync`` the generator then returns (lines read up to the end of
    that record's first line, rows numbered so far) for reading to start
    again on the next line, so no swallowed line is lost. Returns None at
    the end of the file.

    ``damage`` counts the bad rows (see ``_Damage``); ``line_offset``: the
    file lines before the first one ``reader`` read (a resync's skipped ones).
    """
    names, width, pick, header_starts = (
        layout.names,
        layout.width,
        layout.pick,
        layout.header_starts,
    )
    oversized = lines.oversized
    record_end = reader.line_num  # the physical line the last record ended on
    while True:
        try:
            for row in reader:
                number += 1
                if lines.watched:
                    lines.watched = False
                    row = [_unwrap_excel_text(cell) for cell in row]
                if len(row) == width and (row[0] or any(row)) and row[0] not in header_starts:
                    yield ReadRow(number, dict(zip(names, row if pick is None else pick(row))))
                elif (irregular := _irregular_row(number, row, layout)) is not None:
                    if irregular.error is not None and damage is not None:
                        damage.add(
                            number,
                            line_offset + record_end + 1,
                            number - layout.header_records,
                            errors.HINT_FIELD_COUNT,
                            irregular.error,
                        )
                    yield irregular
                record_end = (
                    reader.line_num
                )  # after the row: a bad row's record starts after the last end
            return None
        except csv.Error as exc:
            # One bad record; the csv reader resumes at the next physical line.
            number += 1
            replaced_line = lines.oversized > oversized
            oversized = lines.oversized
            too_big = replaced_line or _is_field_limit(exc)
            message = _csv_error_message(exc, replaced_line, max_field_chars)
            if damage is not None:
                hint = errors.HINT_TOO_LONG if too_big else errors.HINT_QUOTES
                damage.add(
                    number,
                    line_offset + record_end + 1,
                    number - layout.header_records,
                    hint,
                    message,
                )
            yield ReadRow(number, {}, message, TOO_LONG if too_big else MALFORMED_ROW)
            if resync and reader.line_num > record_end + 1:
                return record_end + 1, number
            record_end = reader.line_num


def _unwrap_excel_text(cell: str) -> str:
    """``="0123"`` is how files made for Excel keep leading zeros: Excel shows
    the text 0123, so that is the value read. Other formulas stay as written."""
    match = _EXCEL_TEXT.fullmatch(cell)
    return match.group(1).replace('""', '"') if match else cell


def _irregular_row(number: int, row: list[str], layout: _CsvLayout) -> ReadRow | None:
    """A row with another cell count, or one to skip (None): a line of only
    blanks, or of only the Ctrl-Z that old DOS tools end files with, or the
    header again.

    Extra cells that are empty (trailing delimiters, or cells under trailing
    blank header cells) are ignored.
    """
    if not any(row) or (len(row) == 1 and (row[0].isspace() or row[0] == _DOS_END_OF_FILE)):
        return None
    if _repeats_header(row, layout):
        return None
    found = len(row)
    while found > layout.width and not row[found - 1]:
        found -= 1
    if found == layout.width:
        return ReadRow(number, layout.values(row))
    message = errors.WRONG_FIELD_COUNT.format(expected=layout.width, found=found)
    return ReadRow(number, layout.partial_values(row), message)


def _repeats_header(row: list[str], layout: _CsvLayout) -> bool:
    """The header again, as when CSV files are joined end to end."""
    cells = trimmed_cells(row)
    while len(cells) > layout.width and not cells[-1]:
        cells.pop()
    return tuple(cells) == layout.header


def _csv_error_message(exc: csv.Error, replaced_line: bool, max_field_chars: int) -> str:
    """The row error for a record the csv module rejected; ``replaced_line``
    says an over-long line was replaced by the poison line."""
    if replaced_line or _is_field_limit(exc):
        return errors.FIELD_TOO_BIG.format(limit=max_field_chars)
    return errors.BAD_CSV_ROW.format(detail=_csv_error_detail(exc, False, max_field_chars))


def _csv_error_detail(exc: csv.Error, replaced_line: bool, max_field_chars: int) -> str:
    """The csv module's complaint in the words of the person who made the file."""
    if replaced_line or _is_field_limit(exc):
        return f"a value is longer than {max_field_chars:,} characters"
    message = str(exc)
    if message == "unexpected end of data":
        return "a quoted value is not closed before the end of the file (a stray quote?)"
    if message.endswith("expected after '\"'"):
        return "there is text after the closing quote of a quoted value"
    return message


def _is_field_limit(exc: csv.Error) -> bool:
    return str(exc).startswith("field larger than field limit")


# --- JSON Lines ------------------------------------------------------------


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


def _open_jsonl(
    source: _Source,
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
            source, keys, max_field_chars, skip_rows, _damage(max_malformed_rows)
        ),
    )


def _jsonl_rows(
    source: _Source,
    keys: _JsonKeys,
    max_field_chars: int,
    skip_rows: int,
    damage: _Damage | None = None,
) -> Iterator[ReadRow]:
    """One row per non-blank line (a lone Ctrl-Z counts as blank); a line
    over ``max_field_chars`` is not parsed. ``damage``: see ``_Damage``
    (records are lines here)."""
    too_big = errors.FIELD_TOO_BIG.format(limit=max_field_chars)
    with source.open(newline=None) as text:
        for number, line in enumerate(_CappedLines(text, max_field_chars + 1, replacement=None), 1):
            if line is None:
                row = ReadRow(number, {}, too_big, TOO_LONG)
            else:
                # A BOM: left by an explicit "utf-8" on a BOM file, or where joined files meet.
                line = line.removeprefix("\ufeff")
                if not line or line.isspace() or line.strip() == _DOS_END_OF_FILE:
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
                number, {}, errors.NOT_A_JSON_OBJECT.format(detail=f"found {_json_kind(obj)}")
            )
        if _SURROGATE_ESCAPE.search(line) and _has_lone_surrogate(obj):
            return ReadRow(
                number, {}, errors.NOT_A_JSON_OBJECT.format(detail=errors.LONE_SURROGATE)
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
                number, values, errors.NESTED_JSON_VALUE.format(fields=", ".join(nested))
            )
        return ReadRow(number, values)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} (column {exc.colno})"
    except RecursionError:
        detail = "it is nested too deeply"
    return ReadRow(number, {}, errors.NOT_A_JSON_OBJECT.format(detail=detail))


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
