"""A file of mostly unreadable rows fails as a whole, while it is read,
instead of costing a violation per line. Shared by the CSV and JSON Lines
readers, which count their bad rows here.

With ``max_malformed_rows``, once more than that many rows, and more than
half of the records read so far, had an ``error``, iterating raises
``FileError`` (MOSTLY_MALFORMED) naming the row and line where that
stretch of bad rows starts, instead of yielding a row for each. The count
covers the whole file whoever reads it (every partition of a run reads all
of it), so every reader of one file stops at the same row.
"""

from __future__ import annotations

from ingest import errors
from ingest.errors import FileError

# Readable records that end a stretch of damage (see Damage).
_DAMAGE_GAP = 100


class Damage:
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


def damage_counter(max_malformed_rows: int | None) -> Damage | None:
    """A fresh count for one pass over the file; None: no limit."""
    return None if max_malformed_rows is None else Damage(max_malformed_rows)
