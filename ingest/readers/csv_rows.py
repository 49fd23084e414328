"""Reading a CSV file's data rows, once ``ingest.readers.csv`` has found
its delimiter and header: one ``ReadRow`` per record, and a record that
cannot be read becomes a row with ``error`` set (the pipeline quarantines
it) instead of an exception.

Behaviour worth knowing (see the tests for each):

* Row numbers count records the way a spreadsheet numbers rows: the
  header is row 1, a record with quoted newlines is one row, and blank
  records are skipped but still numbered. So is a record that repeats the
  header (files joined end to end).
* A stray, unbalanced quote makes the csv module read on into one field.
  Reading is strict, so that field ends in an error: at the next quote
  (text after it), at the end of the file ("not closed"), or once it grows
  past ``max_field_chars``. The record becomes one malformed row and reading
  starts again on the line after the quote's line, so the lines it swallowed
  are read as rows (the file is read again up to there; at most
  ``MAX_RESYNCS`` times per file, after which they stay swallowed).
* A field over ``max_field_chars`` makes its row ``FIELD_TOO_BIG`` (rule
  code too_long) without being held in memory, and reading resumes at the
  next line, so a huge field on one line costs exactly its row. If the huge
  field is quoted and spans several lines, its other lines are read as rows
  of their own (usually malformed).
* A cell ``="0123"`` (Excel's way to keep leading zeros) is read as the
  text Excel shows, ``0123``; other formulas are read as written.
* The csv module has no per-reader field limit, so reading a CSV file sets
  the process-wide ``csv.field_size_limit`` to ``max_field_chars``.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any

from ingest import errors
from ingest.fields import MALFORMED_ROW, TOO_LONG
from ingest.readers.damage import Damage
from ingest.readers.headers import trimmed_cells
from ingest.readers.rows import ReadRow, as_read, line_as_read
from ingest.readers.text import DOS_END_OF_FILE, CappedLines, TextSource

# A line that strict csv parsing always rejects, whatever state the parser is
# in at the start of a line (a new record, or inside a quoted field).
CSV_POISON_LINE = '"x"x'
# A cell ="..." (Excel's text formula) is read as the text inside; lines
# without this mark skip the check.
_EXCEL_TEXT_MARK = '="'
_EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')
# Each resync after a stray quote reads the file again up to that point:
# at most this many per file, then swallowed lines stay in their bad row.
MAX_RESYNCS = 100


@dataclass(frozen=True, slots=True)
class CsvLayout:
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
    ) -> CsvLayout:
        return CsvLayout(
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


def csv_line_cap(max_field_chars: int) -> int:
    """Longest physical line held in memory: room for several maximal fields."""
    return 4 * max_field_chars + 65_536


def csv_reader(lines: Iterable[str], delimiter: str, max_field_chars: int) -> Any:
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


def read_rows(
    source: TextSource,
    layout: CsvLayout,
    max_field_chars: int,
    skip_rows: int,
    damage: Damage | None = None,
) -> Iterator[ReadRow]:
    """The data rows; a record that cannot be read costs only its first line
    (see ``_csv_records``): reading starts again on the line after it, up to
    ``MAX_RESYNCS`` times per file."""
    first_row = layout.header_records + skip_rows + 1
    skip_lines, number = 0, None
    bad: ReadRow | None = None  # the record that made reading start again
    for resyncs in range(MAX_RESYNCS + 1):
        with source.open(newline="") as text:
            lines = CappedLines(
                text,
                csv_line_cap(max_field_chars),
                replacement=CSV_POISON_LINE,
                watch=_EXCEL_TEXT_MARK,
            )
            line_iter = iter(lines)
            for _ in itertools.islice(line_iter, skip_lines):
                pass
            if bad is not None:
                if bad.number >= first_row:
                    # The last line skipped is the bad record's first.
                    first_line = lines.last_line
                    raw = line_as_read(first_line) if first_line is not None else None
                    yield replace(bad, raw=raw)
                bad = None
            reader = csv_reader(line_iter, layout.delimiter, max_field_chars)
            if number is None:
                number = _skip_records(reader, layout.header_records)
            lines.watched = False
            records = _csv_records(
                reader,
                lines,
                number,
                layout,
                max_field_chars,
                resync=resyncs < MAX_RESYNCS,
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
        lines_read, number, bad = resume
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
    lines: CappedLines,
    number: int,
    layout: CsvLayout,
    max_field_chars: int,
    resync: bool,
    damage: Damage | None = None,
    line_offset: int = 0,
) -> Generator[ReadRow, None, tuple[int, int, ReadRow] | None]:
    """The hot loop: a regular row costs a length check, a truth test and a
    dict; everything else (blank or ragged rows) goes to ``_irregular_row``.

    A record the csv module rejects after reading several lines (a stray
    quote swallows the lines up to the next quote) is one malformed row;
    with ``resync`` the generator then returns (lines read up to the end of
    that record's first line, rows numbered so far, that row) for reading
    to start again on the next line, so no swallowed line is lost. Returns
    None at the end of the file. A malformed row keeps its text as read
    (``ReadRow.raw``): its line, or for a record of several lines its first.

    ``damage`` counts the bad rows (see ``Damage``); ``line_offset``: the
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
                    row = [unwrap_excel_text(cell) for cell in row]
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
            bad = ReadRow(number, {}, message, TOO_LONG if too_big else MALFORMED_ROW)
            if resync and reader.line_num > record_end + 1:
                # Reading starts again after the record's first line, which
                # read_rows gives the row as its text as read.
                return record_end + 1, number, bad
            if reader.line_num == record_end + 1 and lines.last_line is not None:
                bad = replace(bad, raw=line_as_read(lines.last_line))
            yield bad
            record_end = reader.line_num


def unwrap_excel_text(cell: str) -> str:
    """``="0123"`` is how files made for Excel keep leading zeros: Excel shows
    the text 0123, so that is the value read. Other formulas stay as written."""
    match = _EXCEL_TEXT.fullmatch(cell)
    return match.group(1).replace('""', '"') if match else cell


def _irregular_row(number: int, row: list[str], layout: CsvLayout) -> ReadRow | None:
    """A row with another cell count, or one to skip (None): a line of only
    blanks, or of only the Ctrl-Z that old DOS tools end files with, or the
    header again.

    Extra cells that are empty (trailing delimiters, or cells under trailing
    blank header cells) are ignored.
    """
    if not any(row) or (len(row) == 1 and (row[0].isspace() or row[0] == DOS_END_OF_FILE)):
        return None
    if _repeats_header(row, layout):
        return None
    found = len(row)
    while found > layout.width and not row[found - 1]:
        found -= 1
    if found == layout.width:
        return ReadRow(number, layout.values(row))
    message = errors.WRONG_FIELD_COUNT.format(expected=layout.width, found=found)
    return ReadRow(
        number, layout.partial_values(row), message, raw=as_read(layout.delimiter.join(row))
    )


def _repeats_header(row: list[str], layout: CsvLayout) -> bool:
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
    return errors.BAD_CSV_ROW.format(detail=csv_error_detail(exc, False, max_field_chars))


def csv_error_detail(exc: csv.Error, replaced_line: bool, max_field_chars: int) -> str:
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
