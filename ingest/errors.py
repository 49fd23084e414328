"""One domain error base; the texts are constants so tests, the admin, the
API and the CLI all show the same words."""

from __future__ import annotations

from typing import Any


class ImporterError(Exception):
    """Base of every error the importer raises on purpose."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def __str__(self) -> str:
        return self.message


class FileError(ImporterError):
    """A problem with the file as a whole: the run fails and writes nothing."""


class UsageError(ImporterError):
    """A caller asked for something that cannot be done (unknown target, ...)."""


class StateConflict(UsageError):
    """A well-formed request that the object's current state refuses (a
    finished run cancelled, a violation no longer open edited): the API
    answers 409 Conflict, not 400, since the same request may succeed
    against another object or later."""


# File-level messages.
EMPTY_FILE = "The file is empty."
NO_HEADER = "The file has no header row."
DUPLICATE_HEADER = "The header names these columns more than once: {columns}."
MISSING_COLUMNS = "The file is missing required column(s): {columns}."
COLUMN_MAP_ABSENT = "The column map names column(s) the header does not have: {columns}."
COLUMN_MAP_FIELD_TWICE = "The column map sends more than one column to {field}: {columns}."
UNDECODABLE = (
    "The file is not readable text: byte 0x{byte:02x} at byte offset {offset} "
    "cannot be decoded as {encoding}."
)
MIXED_ENCODINGS = (
    " The rest of the file is UTF-8: it mixes two encodings. Save it as UTF-8 in one piece,"
    " or give the encoding it should be read with."
)
NO_BYTE_ORDER_MARK = (
    " Read as {encoding}, a file must start with a byte-order mark, and this one does not:"
    " give the byte order instead ({encoding}-le or {encoding}-be)."
)
GIVEN_ENCODING = (
    " The encoding was given as {encoding} (by the upload or the source's profile):"
    " leave it out to have it detected, or give the one the file was saved in."
)
UTF16_GIVEN_AS = (
    "The file is not readable as {encoding}: it looks like UTF-16 text ({found}), with a NUL"
    " byte beside each letter. The encoding was given as {encoding}: give {found} instead, or"
    " leave it out to have it detected."
)
CANNOT_DECODE = "The file is not readable text: it cannot be decoded as {encoding} ({detail})."
BINARY_FILE = (
    "This is a {kind} file, not CSV, JSON Lines or a spreadsheet (xlsx, xls, ods); "
    "export it as CSV and upload that."
)
MARKUP_FILE = (
    "This is {kind}, not CSV, JSON Lines or a spreadsheet (xlsx, xls, ods), whatever its name "
    "says (some systems export web pages and XML with an .xls name); open it in Excel and save "
    "it as Excel Workbook (.xlsx) or CSV, and upload that."
)
XLSB_FILE = (
    "This is an Excel Binary Workbook (.xlsb), which cannot be read: open it in Excel and save it"
    " as Excel Workbook (.xlsx) (File > Save As) or CSV, and upload that."
)
KIND_HTML = "an HTML page"
KIND_XML = "an XML file (such as an Excel 2003 XML spreadsheet)"
KIND_ZIP = "ZIP (not an Excel or OpenDocument workbook)"
KIND_OLE2 = "Microsoft Office 97-2003 (not an Excel workbook)"
UNSUPPORTED_FORMAT = "Unsupported format {format!r}; use csv, jsonl, xlsx, xls or ods."
TOO_LARGE = "The file is {size:,} bytes, over the limit of {limit:,} bytes."
TOO_LARGE_DECOMPRESSED = "The compressed file holds over {limit:,} bytes, the limit."
BAD_GZIP = "The gzip-compressed file is damaged or cut short ({detail})."
UNKNOWN_ENCODING = (
    "Unknown encoding {encoding!r}: give a Python codec name such as utf-8, cp1252,"
    " latin-1 or utf-16-le, or leave it out to have it detected."
)
BAD_DELIMITER = "The delimiter must be a single character, got {delimiter!r}."
DELIMITER_SEEMS_WRONG = (
    "With the delimiter {given!r} the header is one column, {header!r}, which looks separated"
    " by {found!r}: give that delimiter, or leave it out to have it detected."
)
FILE_MISSING = "The stored file for this run is missing."
# Too many unreadable rows: the file fails rather than flood the DQ inbox.
MOSTLY_MALFORMED = (
    "Most of this file cannot be read: {malformed:,} of its first {rows:,} rows are malformed "
    "(more than {limit:,} and more than half), so the import stopped instead of quarantining "
    "each of them. The damage starts at {where}: {hint}. That row: {error}"
)
DAMAGE_AT_ROW = "row {row}"
DAMAGE_AT_ROW_AND_LINE = "row {row} (line {line} of the file)"
HINT_QUOTES = (
    "quotes there do not pair up as CSV needs them to (a quote that is never closed, "
    'or a quote inside a quoted value that is not doubled as "")'
)
HINT_FIELD_COUNT = (
    "rows there have another number of fields than the header (another delimiter, "
    "or another file joined on?)"
)
HINT_TOO_LONG = "a value there runs on past the length limit (a quote that is never closed?)"
HINT_JSON = "lines there are not JSON objects with one value per field"

# Row-level messages for malformed rows.
WRONG_FIELD_COUNT = "Expected {expected} fields, found {found}."
NOT_A_JSON_OBJECT = "Line is not a JSON object: {detail}"
FIELD_TOO_BIG = "A field is longer than {limit:,} characters; the row was not read."

# Added for ingest.readers.
BAD_CSV_HEADER = "The header row is not valid CSV: {detail}."
BAD_CSV_ROW = "The row is not valid CSV: {detail}."
NOT_JSON_LINES = "The file holds a JSON array, not JSON Lines; put one JSON object on each line."
NOT_JSON_LINES_FIRST_LINE = (
    "The file does not look like JSON Lines (one JSON object on each line): its first line, "
    "{line!r}, is not JSON."
)
LOOKS_LIKE_CSV = (
    " It looks like CSV, with a header row: to import it as CSV, give the format csv"
    " (--format csv on the command line) or name the file .csv."
)
LOOKS_LIKE_JSON_LINES = (
    "The file looks like JSON Lines, not CSV: its first line is a JSON object. To import it as "
    "JSON Lines, give the format jsonl (--format jsonl on the command line) or name the file "
    ".jsonl."
)
JSON_OVER_SEVERAL_LINES = (
    "The file holds JSON objects spread over several lines (pretty-printed JSON), not JSON Lines; "
    "put each JSON object on one line (jq -c does that) and upload that."
)
LONE_SURROGATE = "a \\u escape is half of a UTF-16 surrogate pair, which is not text"
NESTED_JSON_VALUE = "A JSON object or array stands where one value belongs, in field(s): {fields}."

# Column map messages (usage: the run is not created).
COLUMN_MAP_ENTRY = "Write a column map entry as 'column in the file=field', got {entry!r}."
COLUMN_MAP_FIELD = "The column map sends {column!r} to {field!r}, which is not a field of {target}; its fields: {fields}."
COLUMN_MAP_REPEATED = "The column map names the column {column!r} more than once."
COLUMN_MAP_NOT_OBJECT = "The column map must be a JSON object of column names to field names."
COLUMN_MAP_NUL = "A column name in the column map holds a NUL character."
COLUMN_MAP_ANY_TARGET = "any target"

# Source profiles (runs.services.run_create, source_profile_remember).
PROFILE_UNUSABLE = (
    "The saved profile of source {source!r} has a bad {name}: {error} "
    "Correct it on the source's admin page, or give the {name} with the upload."
)

# Spreadsheets (ingest.readers.spreadsheets).
PASSWORD_PROTECTED = (
    "The workbook is password-protected, so it cannot be read. Save a copy without the password "
    "(or export the sheet as CSV) and upload that."
)
SPREADSHEET_UNREADABLE = (
    "The file cannot be read as a spreadsheet: it is damaged, cut short or not really a workbook "
    "({detail}). Save it again from the spreadsheet program, or export the sheet as CSV, and upload that."
)
SHEET_NOT_FOUND = (
    "The workbook has no sheet {sheet!r}. Its sheets, by position counting from 0: {sheets}. "
    "Give a sheet's name or its position."
)
SHEET_READ_BY_DEFAULT = (
    " The sheet read was {sheet!r}, the first visible one, as no sheet was chosen; the workbook's"
    " sheets, by position counting from 0: {sheets}. Choose the sheet to read: --sheet NAME on the"
    " command line (the upload form and the API take a sheet too)."
)
WORKBOOK_GIVEN_AS_TEXT = (
    "This file is a spreadsheet ({found}), but the format given is {given}: "
    "leave the format out (or give {found}) to read it as the spreadsheet it is."
)
NO_WORKSHEET = "The workbook has no worksheet to read (only charts or macros)."
BAD_SHEET = "A sheet is given by its name or its position (0 for the first): at most {limit} characters, no NUL."

# Column matching in the upload form (ingest.matching, runs.staging).
MATCH_REQUIRED_UNMATCHED = "Choose a column for each required field: {fields}."
MATCH_FIELD_TWICE = "{field} is chosen for more than one column: {columns}."
MATCH_NAMED_AS_FIELD = (
    "This column is named as the field {field}, so it is always read as {field}: "
    "choose {field} or another field for it."
)
MATCH_BLANK_COLUMN = "A column without a name cannot be read as a field."
STAGED_UPLOAD_GONE = (
    "This upload is no longer available (already imported, or kept longer than "
    "{minutes} minutes): upload the file again."
)
