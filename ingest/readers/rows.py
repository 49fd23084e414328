"""What every reader yields: ``ReadRow``, one record as read, and
``Reader``, the rows of a checked file (CSV, JSON Lines and
spreadsheets alike)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.fields import MALFORMED_ROW


@dataclass(slots=True)
class ReadRow:
    """One record as read from the file, before any validation."""

    number: int
    values: dict[str, str]
    error: str | None = None
    # The rule code the pipeline quarantines an ``error`` row under: a field
    # over ``max_field_chars`` is too_long, anything else malformed_row.
    code: str = MALFORMED_ROW
    # A malformed row's text as read (``as_read``), kept on its violation so
    # that a steward can fix the row from what the file said.
    raw: str | None = None


# Where a malformed row's text goes in its violation's payload (no field is
# named so), and how much of it is kept.
AS_READ_KEY = "_as_read"
AS_READ_CHARS = 2000


def as_read(text: str) -> str:
    """A malformed row's text as kept: at most ``AS_READ_CHARS`` of it."""
    return text if len(text) <= AS_READ_CHARS else text[: AS_READ_CHARS - 1] + "\u2026"


def line_as_read(line: str) -> str:
    """A malformed row's physical line as kept: ``as_read``, without its line break."""
    return as_read(line.rstrip("\r\n"))


@dataclass(frozen=True, slots=True)
class Preview:
    """The start of a file, as the upload form shows it to match columns:
    the header's cells as found (title lines skipped; JSON Lines: the keys
    of the first objects) and the first data rows, one cell per column."""

    format: str
    encoding: str
    delimiter: str | None
    columns: list[str]
    rows: list[list[str]]
    header_row: int | None = None
    sheet: str | None = None  # spreadsheets: the sheet read, and the worksheets to choose from
    sheets: list[str] = field(default_factory=list)


class Reader:
    """The rows of a checked file; iterate it (more than once if needed).

    Each iteration opens the file again, so a reader that is never iterated
    holds no file open; ``close`` closes the files of unfinished iterations.
    """

    def __init__(
        self,
        *,
        format: str,
        encoding: str,
        delimiter: str | None,
        columns: list[str],
        unknown_columns: list[str],
        rows: Callable[[], Iterator[ReadRow]],
        header_row: int | None = None,
        sheet: str | None = None,
    ) -> None:
        self.format = format
        self.encoding = encoding
        self.delimiter = delimiter
        self.columns = columns
        self.unknown_columns = unknown_columns
        self.header_row = header_row  # CSV and spreadsheets: the header's row number
        self.sheet = sheet  # spreadsheets: the name of the sheet read
        self._rows = rows
        self._iterations: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closed = False
        self._on_close: list[Callable[[], object]] = []

    def __iter__(self) -> Iterator[ReadRow]:
        if self._closed:
            raise ValueError("The reader is closed.")
        rows = self._rows()
        self._iterations.add(rows)
        return rows

    def close(self) -> None:
        """Close unfinished iterations, and let go of what the reader kept
        for its first one (a spreadsheet reader's loaded sheet)."""
        self._closed = True
        self._rows = _closed
        for rows in list(self._iterations):
            rows.close()
        while self._on_close:
            self._on_close.pop()()

    def call_on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the reader is closed (e.g. to delete the
        local copy of a stored file it reads)."""
        self._on_close.append(callback)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Reader {self.format} encoding={self.encoding!r} "
            f"delimiter={self.delimiter!r} columns={self.columns!r}>"
        )


def _closed() -> Iterator[ReadRow]:
    raise ValueError("The reader is closed.")
