"""A checked text file, read again by each pass over it: the CSV and JSON
Lines readers open it through ``TextSource`` (decompressing a gzip file on
the way) and take its lines through ``CappedLines``.

Memory stays flat whatever the file size: files are read in blocks, rows
are yielded one at a time, and no physical line is held in memory beyond a
cap derived from ``max_field_chars``.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

# Files are read (and validated) in blocks of this size.
BLOCK_SIZE = 1 << 20
# What reading a damaged or cut gzip stream raises.
GZIP_ERRORS = (OSError, EOFError, zlib.error)
# What old DOS tools end a file with; a line of only this is blank.
DOS_END_OF_FILE = "\x1a"


def open_binary(path: str, compressed: bool) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if compressed else open(path, "rb")


@dataclass(frozen=True, slots=True)
class TextSource:
    """The file, once its encoding is known: each ``open`` starts a new pass."""

    path: str
    encoding: str
    compressed: bool = False

    def open(self, newline: str | None) -> io.TextIOWrapper:
        if self.compressed:
            return io.TextIOWrapper(
                open_binary(self.path, True), encoding=self.encoding, newline=newline
            )
        return open(self.path, encoding=self.encoding, newline=newline, buffering=BLOCK_SIZE)


Replacement = TypeVar("Replacement", bound=str | None)


class CappedLines(Generic[Replacement]):
    """The physical lines of a text stream, none longer than ``cap``.

    A longer line is read through and dropped, and ``replacement`` is yielded
    in its place, so one huge line never sits in memory whole. ``oversized``
    counts the replacements.
    """

    def __init__(
        self,
        text: io.TextIOWrapper,
        cap: int,
        replacement: Replacement,
        watch: str | None = None,
    ) -> None:
        self.oversized = 0
        # Set when a line holding ``watch`` was read; the consumer resets it.
        self.watched = False
        self._text = text
        self._cap = cap
        self._replacement = replacement
        self._watch = watch
        # The last line yielded (None when it was the replacement): the text
        # of a one-line record the csv module refused.
        self.last_line: str | None = None

    def __iter__(self) -> Iterator[str | Replacement]:
        readline, cap, watch = self._text.readline, self._cap, self._watch
        while True:
            line = readline(cap)
            if not line:
                return
            if len(line) == cap and line[-1] not in "\r\n":
                self._drain_line()
                self.oversized += 1
                self.last_line = None
                yield self._replacement
            else:
                if watch is not None and watch in line:
                    self.watched = True
                self.last_line = line
                yield line

    def _drain_line(self) -> None:
        readline, cap = self._text.readline, self._cap
        while len(piece := readline(cap)) == cap and piece[-1] not in "\r\n":
            pass
