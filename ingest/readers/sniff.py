"""What a text file is, decided from its bytes before any row is read: a
binary file uploaded by mistake (named by its magic bytes), a gzip file
(read as the file inside it), and the encoding (a BOM, whatever encoding
was given; else the one given; else UTF-16 without a BOM; else UTF-8
beyond ASCII, or the source's remembered encoding, or cp1252), checked
by decoding the whole file once, block by block.

* A gzip-compressed file (``orgs.csv.gz``) is read as the file inside it,
  streamed; decompressed, it must stay under ``max_bytes`` too, and a
  damaged one fails as a whole, before any row is read.
* UTF-16 and UTF-32 need their byte order: given by name without a BOM,
  the file is refused with a message saying so.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import io
import os
import re
from typing import NamedTuple

from ingest import errors
from ingest.errors import FileError
from ingest.readers import spreadsheets
from ingest.readers.text import BLOCK_SIZE, GZIP_ERRORS, open_binary

# Magic bytes, BOMs and NUL patterns are looked for in this much of the start.
HEAD_SIZE = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

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
# are looked for (see ingest.readers.spreadsheets).
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


# --- The first bytes -------------------------------------------------------


def read_head(path: str, max_bytes: int | None) -> bytes:
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


def read_head_gzip(path: str) -> bytes:
    """The first bytes of a gzip-compressed file's content."""
    try:
        with gzip.open(path, "rb") as file:
            head = file.read(HEAD_SIZE)
    except GZIP_ERRORS as exc:
        raise FileError(errors.BAD_GZIP.format(detail=exc)) from None
    if not head:
        raise FileError(errors.EMPTY_FILE)
    return head


def reject_signature(head: bytes) -> None:
    """Spreadsheets, archives, PDFs and images are common wrong uploads; name
    them rather than report undecodable bytes."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            raise FileError(errors.BINARY_FILE.format(kind=kind))


# How an HTML page or an XML document starts (lower-cased, after any BOM
# and whitespace); some systems send those named .xls, and read as CSV
# they would fail on "missing required columns".
_MARKUP_STARTS = (
    (("<!doctype html", "<html", "<head", "<body", "<table", "<meta"), errors.KIND_HTML),
    (("<?xml",), errors.KIND_XML),
)


def reject_markup(head: bytes, encoding: str, first_char: str) -> None:
    """Name an HTML page or an XML document rather than read it as CSV;
    ``head`` is the file's first bytes, in ``encoding``."""
    if first_char != "<":
        return
    try:
        start = head[:1024].decode(encoding, errors="ignore")
    except UnicodeError:  # a codec that cannot ignore errors (idna); read as given
        return
    start = start.lstrip("\ufeff \t\r\n").lower()
    for starts, kind in _MARKUP_STARTS:
        if start.startswith(starts):
            raise FileError(errors.MARKUP_FILE.format(kind=kind))


# --- The encoding ----------------------------------------------------------


def decide_encoding(
    path: str,
    head: bytes,
    explicit: str | None,
    compressed: bool = False,
    max_bytes: int | None = None,
    scan_bytes: int | None = None,
    default: str | None = None,
) -> tuple[str, str]:
    """Pick the encoding and check that the whole file decodes with it
    (and, compressed, that it decompresses, within ``max_bytes``); with
    ``scan_bytes``, only about that many of its first bytes.

    A byte-order mark decides, whatever encoding was given: it is
    unambiguous, and Excel's "CSV UTF-8" starts with one whichever
    encoding a source usually sends. Without one, ``explicit`` (the
    caller's choice) is read as given. ``default`` (the source's
    remembered encoding) is what the source usually sends, not an order:
    UTF-16 known by its NULs, or UTF-8 beyond ASCII, is read as what it
    is (see _utf8_or_default); else the file is read as ``default``.

    Returns the encoding and the first visible character; a file without
    one is empty, and that is raised here too.
    """
    bom = _encoding_from_bom(head)
    given = None if bom else explicit
    if given is not None and not _is_wide_unicode(given):
        _reject_utf16_given_as(head, given)
    encoding = bom or given or _utf16_from_nul_pattern(head)
    if not _is_wide_unicode(encoding or default or ""):
        _reject_nul_heavy(head)
    if encoding is not None:
        first_char = _scan_as(path, head, encoding, given, compressed, max_bytes, scan_bytes)
    elif default is not None:
        encoding, first_char = _utf8_or_default(
            path, head, default, compressed, max_bytes, scan_bytes
        )
    else:
        encoding, first_char = _utf8_or_cp1252(path, head, compressed, max_bytes, scan_bytes)
    if first_char is None:
        raise FileError(errors.EMPTY_FILE)
    return encoding, first_char


def _scan_as(
    path: str,
    head: bytes,
    encoding: str,
    given: str | None,
    compressed: bool,
    max_bytes: int | None,
    scan_bytes: int | None,
) -> str | None:
    """``_scan_text`` in ``encoding``; where the caller or the source's
    profile ``given`` it (not a BOM or the NUL pattern), an undecodable
    file's message says so."""
    try:
        return _scan_text(
            path, head, encoding, encoding, compressed, max_bytes, scan_bytes
        ).first_char
    except _Undecodable as wrong:
        if given is None:
            raise
        raise FileError(wrong.message + errors.GIVEN_ENCODING.format(encoding=given)) from None


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


def _reject_utf16_given_as(head: bytes, given: str) -> None:
    """UTF-16 given as a single-byte encoding: say so, rather than call it
    binary for its NULs (a NUL in every other byte is no text in those)."""
    if (found := _utf16_from_nul_pattern(head)) is not None:
        raise FileError(errors.UTF16_GIVEN_AS.format(encoding=given, found=found))


def _reject_nul_heavy(head: bytes) -> None:
    """Binary data has NULs and many other control bytes; a text file with a
    few NULs in it is still read (the validator quarantines those rows)."""
    if b"\0" not in head:
        return
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls >= 8 and controls * 20 > len(head):
        raise FileError(errors.BINARY_FILE.format(kind="binary"))


def _utf8_or_default(
    path: str,
    head: bytes,
    default: str,
    compressed: bool,
    max_bytes: int | None,
    scan_bytes: int | None,
) -> tuple[str, str | None]:
    """UTF-8 if the file is valid UTF-8 and holds more than ASCII, else
    ``default``, read as given.

    Text in cp1252 (or any other single-byte encoding) practically never
    forms UTF-8's multi-byte sequences, so such a file is UTF-8 whatever
    the source sent before: read as cp1252, its "é" would be stored as
    "Ã©" on every row, without a word. ASCII alone reads the same in
    either, and is left to the default."""
    try:
        scanned = _scan_text(path, head, "utf-8", "utf-8", compressed, max_bytes, scan_bytes)
    except _Undecodable:
        pass
    else:
        if not scanned.only_ascii:
            return "utf-8", scanned.first_char
        if _reads_ascii_as_ascii(default):  # the same text: no second pass over the file
            return default, scanned.first_char
    return default, _scan_as(path, head, default, default, compressed, max_bytes, scan_bytes)


@functools.cache
def _reads_ascii_as_ascii(encoding: str) -> bool:
    """Whether ``encoding`` decodes every ASCII byte as that character
    (cp1252, latin-1, cp850: yes; UTF-16, UTF-7, EBCDIC: no)."""
    ascii_bytes = bytes(range(128))
    try:
        return ascii_bytes.decode(encoding) == ascii_bytes.decode("ascii")
    except UnicodeDecodeError:
        return False


def _utf8_or_cp1252(
    path: str, head: bytes, compressed: bool, max_bytes: int | None, scan_bytes: int | None = None
) -> tuple[str, str | None]:
    """UTF-8 if the whole file is valid UTF-8, else cp1252 (Excel on Windows).

    A file that is UTF-8 but for a few bytes (text from two sources joined,
    a hand edit in another editor) is refused at its first bad byte: read as
    cp1252, every accented letter of its UTF-8 text would turn into two
    wrong ones ("Ã©" for "é"), on every row, without a word."""
    try:
        scanned = _scan_text(path, head, "utf-8", "utf-8", compressed, max_bytes, scan_bytes)
        return "utf-8", scanned.first_char
    except _Undecodable as not_utf8:
        if _mostly_utf8(path, compressed, scan_bytes):
            raise FileError(not_utf8.message + errors.MIXED_ENCODINGS) from None
        return "cp1252", _scan_text(
            path, head, "cp1252", _FALLBACK_NAME, compressed, max_bytes, scan_bytes
        ).first_char


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
    with open_binary(path, compressed) as file:
        while (scan_bytes is None or scanned < scan_bytes) and (block := file.read(BLOCK_SIZE)):
            scanned += len(block)
            beyond_ascii += len(block.translate(None, _ASCII))
            in_sequences += sum(
                match.end() - match.start() for match in _UTF8_SEQUENCE.finditer(block)
            )
    return in_sequences * 2 > beyond_ascii


class _Undecodable(FileError):
    """The file's bytes are not text in the encoding tried."""


class _Scanned(NamedTuple):
    """What decoding the file found: its first visible character (None:
    none), and whether all its text is ASCII."""

    first_char: str | None
    only_ascii: bool


def _scan_text(
    path: str,
    head: bytes,
    encoding: str,
    name: str,
    compressed: bool = False,
    max_bytes: int | None = None,
    scan_bytes: int | None = None,
) -> _Scanned:
    """Decode the whole file (or its first ``scan_bytes``, rounded up to a
    block) block by block, raising UNDECODABLE (under ``name``) at the
    first bad byte; return what it found. A compressed file
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
    only_ascii = True
    with open_binary(path, compressed) as file:
        file.seek(start)
        offset = start
        while True:
            try:
                block = file.read(BLOCK_SIZE)
            except GZIP_ERRORS as exc:
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
            only_ascii = only_ascii and text.isascii()
            offset += len(block)
            if compressed and max_bytes is not None and offset > max_bytes:
                raise FileError(errors.TOO_LARGE_DECOMPRESSED.format(limit=max_bytes))
            del block, text  # before the next read: one block and its text in memory at a time
            if final or (scan_bytes is not None and offset >= scan_bytes):
                return _Scanned(first_char, only_ascii)


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
