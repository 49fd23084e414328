"""Column-wise checks of a chunk's rows (issue 22).

The row check (``fields.compile_row_check``) costs about 10 µs a row in
Python. Here a chunk's values are held as columns (polars: Rust kernels and
regexes over a whole column) and each field's common shapes are checked at
once. A row every field of which is surely valid gets its clean values from
the columns; every other row goes through the row check, which stays the one
source of every error message.

"Surely" is the contract: a shape not mirrored here exactly (a non-ASCII
e-mail address, an uncommon date-time, a Decimal, a field type of another
app) is not vouched for, and the row check decides. A vouched row's clean
values equal the row check's, types included (tests/ingest/test_columns.py
holds the two to that). The patterns are those of ``ingest.fields``, read
from there, so the two cannot drift apart.

Everything costly (expressions, regexes, reference sets) is built once per
run, in ``ColumnCheck.__init__``: a chunk costs a few eager ``select`` and
``with_columns`` calls and no planning of its own, which an earlier attempt
paid for every chunk (bench/PROFILE.md, sixth round). What stays per row in
Python: the hash and the national phone numbers (once per distinct value).
``check`` gives each vouched row's clean values as a dict; the column-wise
engine's lane (``ingest.steps.lane``) takes them as columns
(``check_frame``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import polars as pl

from ingest import fields as rules

# polars works on a pool of threads, which a fork does not copy: a process
# forked from one that had polars loaded (RQ's default worker forking a
# work horse from a test process, say) would wait for them forever. Such a
# child leaves every chunk to the row check (``runs_here``). The worker of
# runs.execution never loads polars itself: its horses load it after the
# fork, and use it.
_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def runs_here() -> bool:
    """Whether polars can run in this process (not forked after loading it)."""
    return not _forked


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_MIN_MICROS = (dt.datetime.min.replace(tzinfo=dt.UTC) - _EPOCH) // _MICROSECOND
_MAX_MICROS = (dt.datetime.max.replace(tzinfo=dt.UTC) - _EPOCH) // _MICROSECOND
_INT64 = (-(2**63), 2**63 - 1)
_NOT_A_VALUE = object()


@dataclass(slots=True)
class Columns:
    """A chunk's trimmed values, a column per field in field order (None or
    a missing value is ""), and each row's payload hash."""

    frame: pl.DataFrame
    hashes: list[str]


def _pattern(regex: Any, flags: str = "") -> str:
    """A pattern of ``ingest.fields`` as a whole-value Rust regex, of the
    same text. Only patterns of ASCII classes and literals come here, which
    Python's engine and Rust's read alike."""
    return f"^{flags}(?:{regex.pattern})$"


def _char_class(chars: str) -> str:
    """A Rust regex class of exactly these characters."""
    return "[" + "".join(f"\\x{{{ord(char):x}}}" for char in chars) + "]"


_CONTROL = rules._CONTROL.pattern
_EMAIL = _pattern(rules._ASCII_EMAIL)
_URL = _pattern(rules._ASCII_URL)
_COUNTRY = "^[A-Za-z]{2}$"
_INTEGER = _pattern(rules._INTEGER)
_GROUPED_THOUSANDS = _pattern(rules._GROUPED_THOUSANDS)
# _ISO_DATE is case-insensitive for its T, Z and UTC: none of these letters
# has a case fold outside ASCII, in Python's tables or Rust's.
_ISO_DATE = _pattern(rules._ISO_DATE, "(?i)")
_PHONE_PUNCTUATION = _char_class("".join(map(chr, rules._PHONE_PUNCTUATION)))
_PHONE_DIGITS = "^[0-9]{7,15}$"
# The date-times vouched for: YYYY-MM-DD, alone (midnight, UTC) or then T
# (or t, or a space) and HH:MM, then :SS with up to six decimals of a second
# or nothing (spreadsheets write times without their seconds), then Z, an
# offset ±HH:MM, " UTC" or nothing (UTC). datetime.fromisoformat reads every
# one of them. ``_datetime`` writes each as YYYY-MM-DDTHH:MM:SS and what
# followed: then every field sits at a fixed place but the decimals, and the
# offset is the last six characters when the sixth from the end is a sign.
_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]| [Uu][Tt][Cc])?)?$"
)
# Boolean words are ASCII; a longer or other value is not vouched for.
_WORD = "^[A-Za-z0-9]{1,5}$"
_ASCII = "^[\\x00-\\x7f]*$"


@dataclass(frozen=True, slots=True)
class _Mirror:
    """One field's check, column-wise, for the non-empty trimmed values.

    ``valid`` is true where the value is surely valid, and ``clean`` is then
    its clean value, as a column (``to_python`` turns it into the row check's
    Python values); ``text`` when that is a str. ``ascii``: a valid value is
    ASCII (its length is then its length in bytes, which costs less).
    ``limit``, when set, returns the largest clean value accepted now (a date
    not in the future, a timestamp's skew): compared per chunk, outside the
    expressions built once. A phone number with a region is cleaned in
    Python: ``national`` marks those rows, ``region`` is the region's clean
    value.
    """

    clean: pl.Expr
    valid: pl.Expr
    to_python: Callable[[pl.Series], list[Any]] = pl.Series.to_list
    text: bool = False
    ascii: bool = False
    limit: Callable[[], Any] | None = None
    national: pl.Expr | None = None
    region: pl.Expr | None = None


class _Plan:
    """A check's expressions, evaluated in levels. Polars' eager ``select``
    shares no subexpression between two outputs, so what several use is a
    part, computed once, as a column of its own, one level after the parts
    it uses (``with_columns`` per level)."""

    def __init__(self) -> None:
        self.levels: list[list[pl.Expr]] = []
        self._level_of: dict[str, int] = {}

    def part(self, expr: pl.Expr) -> pl.Expr:
        # Named as no field is (a field's name is an identifier).
        name = f"\x1f{len(self._level_of)}"
        uses = [self._level_of.get(root, -1) for root in expr.meta.root_names()]
        level = max(uses, default=-1) + 1
        if level == len(self.levels):
            self.levels.append([])
        self.levels[level].append(expr.alias(name))
        self._level_of[name] = level
        return pl.col(name)

    def run(self, frame: pl.DataFrame) -> pl.DataFrame:
        for level in self.levels:
            frame = frame.with_columns(level)
        return frame


# A mirror is built from the field, its trimmed value (an expression),
# ``_Plan.part`` and the (wrapped) mirrors of the fields before it.
Part = Callable[[pl.Expr], pl.Expr]


def _text(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    """Plain text (Text, ExternalId, Reference): valid unless it holds a
    control character (a lone surrogate never reaches a column)."""
    return _Mirror(clean=value, valid=~value.str.contains(_CONTROL), text=True)


def _email(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    at = part(value.str.find("@", literal=True))
    clean = pl.concat_str([value.str.slice(0, at), value.str.slice(at).str.to_lowercase()])
    return _Mirror(clean=clean, valid=value.str.contains(_EMAIL), text=True, ascii=True)


def _url(field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]) -> _Mirror:
    bare = ~value.str.contains("://", literal=True) & ~value.str.contains("@", literal=True)
    url = part(pl.when(bare).then(pl.concat_str([pl.lit("https://"), value])).otherwise(value))
    valid = url.str.contains(_URL)
    if field.max_length is not None:
        valid = valid & (url.str.len_bytes() <= field.max_length)
    return _Mirror(clean=url, valid=valid, text=True, ascii=True)


def _country(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    code = part(value.str.to_uppercase())
    valid = value.str.contains(_COUNTRY) & code.is_in(sorted(rules.COUNTRY_CODES))
    return _Mirror(clean=code, valid=valid, text=True, ascii=True)


@functools.cache
def _calling_code() -> str:
    """A regex of the digits a ``+`` number ``Phone.clean`` takes by its
    shape starts with: a known calling code (they are prefix-free), not
    followed by a 0 phonenumbers would take for a trunk prefix."""
    codes = {prefix[:length] for prefix, length in rules._CALLING_CODE_LENGTH.items()}
    starts = sorted(f"{code}[1-9]" if rules._reads_a_trunk_prefix(code) else code for code in codes)
    return f"^(?:{'|'.join(starts)})"


def _phone(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    """A ``+`` number by its shape, as ``Phone.clean``'s cheap path; a
    national number is parsed in Python with the row's region, once per
    distinct (number, region) of a chunk (``_national``)."""
    assert isinstance(field, rules.Phone)
    digits = part(
        value.str.slice(1)
        .str.replace("(0)", "", literal=True, n=1)
        .str.replace_all(_PHONE_PUNCTUATION, "")
    )
    shaped = part(
        value.str.starts_with("+")
        & digits.str.contains(_PHONE_DIGITS)
        & digits.str.contains(_calling_code())
    )
    clean = pl.when(shaped).then(pl.concat_str([pl.lit("+"), digits]))
    region = earlier.get(field.region_field) if field.region_field else None
    if region is None or not region.text or region.national is not None:
        return _Mirror(clean=clean, valid=shaped, text=True)
    # The region field comes first (``earlier``): the row check reads its
    # clean value, as here. NUL is refused before any parse.
    national = (
        ~value.str.starts_with("+")
        & ~value.str.contains("\x00", literal=True)
        & region.clean.is_not_null()
    )
    return _Mirror(
        clean=clean, valid=shaped | national, text=True, national=national, region=region.clean
    )


def _integer(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    """``_INTEGER`` but not ``_GROUPED_THOUSANDS``, within 64 bits (a longer
    number is left to the row check) and the field's limits."""
    assert isinstance(field, rules.Integer)
    number = part(value.str.extract(_INTEGER, 1).cast(pl.Int64, strict=False))
    valid = number.is_not_null() & ~value.str.contains(_GROUPED_THOUSANDS)
    low, high = _INT64
    if field.min_value is not None:
        if field.min_value > high:
            valid = pl.lit(False)
        elif field.min_value > low:
            valid = valid & (number >= field.min_value)
    if field.max_value is not None:
        if field.max_value < low:
            valid = pl.lit(False)
        elif field.max_value < high:
            valid = valid & (number <= field.max_value)
    return _Mirror(clean=number, valid=valid, ascii=True)


def _date(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    assert isinstance(field, rules.Date)
    # The date is the first ten characters of whatever _ISO_DATE matches;
    # polars reads year 0, which Python has not.
    day = part(value.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    valid = value.str.contains(_ISO_DATE) & (day >= dt.date.min)
    limit = None if field.allow_future else rules.utc_today
    return _Mirror(clean=day, valid=valid, ascii=True, limit=limit)


def _datetime(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    """``parse_datetime`` for the shapes of ``_DATETIME``, as microseconds
    since the epoch in UTC (``_datetimes`` makes them Python datetimes)."""
    # Written out in full first: a date alone at midnight, HH:MM with :00.
    full = part(
        pl.when(value.str.len_bytes() == 10)
        .then(pl.concat_str([value, pl.lit("T00:00:00")]))
        .when(value.str.slice(16, 1) != ":")
        .then(pl.concat_str([value.str.slice(0, 16), pl.lit(":00"), value.str.slice(16)]))
        .otherwise(value)
    )
    local = (
        full.str.slice(0, 19)
        .str.replace("[t ]", "T", n=1)
        .str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
        .cast(pl.Int64)
    )
    fraction = full.str.extract(r"^.{19}\.([0-9]+)", 1).str.pad_end(6, "0")
    sign = full.str.slice(-6, 1)
    offset = (_number(full, -5, 2) * 3600 + _number(full, -2, 2) * 60) * 1_000_000
    offset = pl.when(sign == "+").then(offset).when(sign == "-").then(-offset).otherwise(0)
    utc = part(local + fraction.cast(pl.Int64, strict=False).fill_null(0) - offset)
    # Year 0 and 10000, which polars reads and Python has not, are out.
    valid = value.str.contains(_DATETIME) & utc.is_between(_MIN_MICROS, _MAX_MICROS)
    return _Mirror(clean=utc, valid=valid, ascii=True, to_python=_datetimes)


def _number(value: pl.Expr, offset: int, length: int) -> pl.Expr:
    return value.str.slice(offset, length).cast(pl.Int64, strict=False)


def _datetimes(micros: pl.Series) -> list[dt.datetime | None]:
    """Microseconds since the epoch as datetimes with tzinfo ``dt.UTC``, as
    ``parse_datetime`` makes them: polars' own would carry a ZoneInfo, and
    fromisoformat of "…+00:00" (UTC's singleton) is the cheapest way there."""
    text = (pl.from_epoch(micros, time_unit="us").cast(pl.String) + "+00:00").to_list()
    if micros.null_count():
        return [None if value is None else dt.datetime.fromisoformat(value) for value in text]
    return list(map(dt.datetime.fromisoformat, text))


def _timestamp(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    mirror = _datetime(field, value, part, earlier)
    return _Mirror(
        clean=mirror.clean,
        valid=mirror.valid,
        ascii=True,
        to_python=_datetimes,
        limit=lambda: (rules.latest_allowed() - _EPOCH) // _MICROSECOND,
    )


def _boolean(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror:
    word = part(value.str.to_lowercase())
    valid = value.str.contains(_WORD) & word.is_in(sorted(rules._TRUE_WORDS | rules._FALSE_WORDS))
    return _Mirror(clean=word.is_in(sorted(rules._TRUE_WORDS)), valid=valid, ascii=True)


def _choice(
    field: rules.Field, value: pl.Expr, part: Part, earlier: Mapping[str, _Mirror]
) -> _Mirror | None:
    """The value as written, else an ASCII value in any case (for ASCII,
    ``casefold`` is ``lower``). Only choices all of str or all of int (a
    column holds one type); a key with NUL in it is refused before the look-up."""
    assert isinstance(field, rules.Choice)
    kept = [choice for choice, _ in field.choices]
    if all(type(choice) is str for choice in kept):
        dtype: Any = pl.String
    elif all(type(choice) is int and _INT64[0] <= choice <= _INT64[1] for choice in kept):
        dtype = pl.Int64
    else:
        return None
    exact = {key: choice for key, choice in field.exact.items() if "\x00" not in key}
    folded = {key: choice for key, choice in field.folded.items() if "\x00" not in key}
    as_written = value.replace_strict(exact, default=None, return_dtype=dtype)
    any_case = value.str.to_lowercase().replace_strict(folded, default=None, return_dtype=dtype)
    clean = part(pl.coalesce(as_written, pl.when(value.str.contains(_ASCII)).then(any_case)))
    return _Mirror(clean=clean, valid=clean.is_not_null(), text=dtype == pl.String)


# Each mirror by the ``clean`` it mirrors: a subclass that keeps the method
# is checked alike, one that overrides it is not vouched for. Decimal is not
# mirrored (its clean keeps the value's own exponent).
_MIRRORS: dict[Callable[..., Any], Callable[..., _Mirror | None]] = {
    rules.Field.clean: _text,
    rules.Email.clean: _email,
    rules.URL.clean: _url,
    rules.Country.clean: _country,
    rules.Phone.clean: _phone,
    rules.Integer.clean: _integer,
    rules.Date.clean: _date,
    rules.DateTime.clean: _datetime,
    rules.Timestamp.clean: _timestamp,
    rules.Boolean.clean: _boolean,
    rules.Choice.clean: _choice,
}


_BLAKE2B = hashlib.blake2b(digest_size=16)


def _hashes(joined: list[bytes]) -> list[str]:
    """``fields.trimmed_hash`` of each row's values, joined and encoded:
    copying a fresh hasher costs two thirds of making one."""
    hashes = []
    for values in joined:
        hasher = _BLAKE2B.copy()
        hasher.update(values)
        hashes.append(hasher.hexdigest())
    return hashes


class ColumnCheck:
    """A target's fields, checked column-wise: built once per run."""

    def __init__(self, fields: Sequence[rules.Field]) -> None:
        self.names = [field.name for field in fields]
        # Plain dicts are read with one itemgetter a row (a tuple of values).
        self._values: Callable[[Any], tuple[Any, ...]] | None = (
            itemgetter(*self.names) if len(self.names) > 1 else None
        )
        self._trim = [
            pl.col(name).str.strip_chars(rules._BLANK).fill_null("") for name in self.names
        ]
        # The trimmed values joined as trimmed_hash joins them, as UTF-8.
        self._join = pl.concat_str([pl.col(name) for name in self.names], separator="\x1f").cast(
            pl.Binary
        )
        self._plan = _Plan()
        self._mirrors: list[_Mirror] = []
        part = self._plan.part
        outputs: list[pl.Expr] = []
        oks: list[pl.Expr] = []
        earlier: dict[str, _Mirror] = {}
        for index, field in enumerate(fields):
            value = pl.col(field.name)
            build = _MIRRORS.get(type(field).clean)
            mirror = build(field, value, part, earlier) if build is not None else None
            if mirror is None:  # a row with this field is never vouched for
                self._mirrors, oks = [], [pl.lit(False)]
                break
            empty = part(value == "")
            valid = mirror.valid
            if field.max_length is not None:
                length = value.str.len_bytes() if mirror.ascii else value.str.len_chars()
                valid = valid & (length <= field.max_length)
            oks.append(part(valid & ~empty if field.required else valid | empty))
            national = region = None
            if mirror.national is not None and mirror.region is not None:
                national = part(pl.when(~empty & mirror.national).then(value))
                region = part(pl.when(national.is_not_null()).then(mirror.region))
                outputs += [national.alias(f"n{index}"), region.alias(f"r{index}")]
            mirror = _Mirror(
                clean=part(pl.when(~empty).then(mirror.clean)),
                valid=valid,
                to_python=mirror.to_python,
                text=mirror.text,
                limit=mirror.limit,
                national=national,
                region=region,
            )
            self._mirrors.append(mirror)
            earlier.setdefault(field.name, mirror)
            outputs.append(mirror.clean.alias(f"c{index}"))
        outputs.append(pl.all_horizontal(oks).fill_null(False).alias("ok"))
        self._outputs = outputs

    def read(self, payloads: Sequence[Mapping[str, Any]]) -> Columns | None:
        """The chunk's trimmed values held column-wise, with each row's
        payload hash (``fields.trimmed_hash`` of them). None when the chunk
        cannot be held in columns: a value neither str nor None (the row
        check reads its str()), a lone surrogate (polars holds UTF-8)."""
        if not self.names or len(set(self.names)) != len(self.names):
            return None
        if self._values is not None and all(payload.__class__ is dict for payload in payloads):
            try:
                columns: list[Sequence[Any]] = list(zip(*map(self._values, payloads)))
            except KeyError:
                columns = []
        else:
            columns = []
        if not columns:
            columns = [[payload.get(name) for payload in payloads] for name in self.names]
        try:
            raw = pl.DataFrame(
                [
                    pl.Series(name, column, dtype=pl.String)
                    for name, column in zip(self.names, columns)
                ]
            )
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            return None
        frame = raw.select(self._trim)
        joined = frame.select(self._join).to_series().to_list()
        return Columns(frame=frame, hashes=_hashes(joined))

    def check(self, columns: Columns, indexes: Sequence[int]) -> list[dict[str, Any] | None]:
        """For each row at ``indexes`` (positions in the chunk ``read`` was
        given): its clean values when every field of the row is surely valid,
        equal to the row check's, else None (the row check decides)."""
        result: list[dict[str, Any] | None] = [None] * len(indexes)
        if not self._mirrors or len(indexes) == 0:
            return result
        frame = columns.frame
        if len(indexes) != frame.height or list(indexes) != list(range(frame.height)):
            frame = frame[list(indexes)]
        positions, vouched = self._vouched(frame)
        names = self.names
        values = [vouched.values(index) for index in range(len(names))]
        rows = [dict(zip(names, clean)) for clean in zip(*values)]
        for position, row in zip(positions, rows):
            result[position] = row
        return result

    def check_frame(self, columns: Columns) -> tuple[list[int], Vouched]:
        """The rows of the whole chunk that every field vouches for (their
        positions, ascending) and their clean values, left in polars: what
        ``check`` gives as dicts, for callers that keep the chunk in columns.
        Python values are made only for the fields read (``Vouched.values``)."""
        if not self._mirrors or columns.frame.height == 0:
            return [], Vouched(pl.DataFrame(), [], self.names)
        return self._vouched(columns.frame)

    def _vouched(self, frame: pl.DataFrame) -> tuple[list[int], Vouched]:
        out = self._plan.run(frame).select(self._outputs)
        ok = out.get_column("ok")
        for index, mirror in enumerate(self._mirrors):
            if mirror.limit is not None:
                # Compared in polars: a value the row check refuses (year 0)
                # has no Python form.
                later = (out.get_column(f"c{index}") > mirror.limit()).fill_null(False)
                if later.any():
                    ok = ok & ~later
        everything = ok.all()
        vouched = out if everything else out.filter(ok)
        positions = list(range(frame.height)) if everything else ok.arg_true().to_list()
        refused: set[int] = set()
        for index, mirror in enumerate(self._mirrors):
            if mirror.national is not None:
                numbers = mirror.to_python(vouched.get_column(f"c{index}"))
                refused.update(_national(vouched, index, numbers))
                vouched = vouched.with_columns(pl.Series(f"c{index}", numbers, dtype=pl.String))
        if refused:
            kept = [at for at in range(len(positions)) if at not in refused]
            positions = [positions[at] for at in kept]
            vouched = vouched[kept]
        return positions, Vouched(vouched, self._mirrors, self.names)


class Vouched:
    """The clean values of the vouched rows of a chunk, column ``c{i}`` of
    ``frame`` for field ``i``; ``values(i)`` as the row check's Python
    values (made once per field)."""

    def __init__(self, frame: pl.DataFrame, mirrors: Sequence[_Mirror], names: Sequence[str]):
        self.frame = frame
        self._mirrors = mirrors
        self._index = {name: index for index, name in enumerate(names)}
        self._values: dict[int, list[Any]] = {}

    def column(self, index: int) -> pl.Series:
        return self.frame.get_column(f"c{index}")

    def subset(self, positions: list[int]) -> Vouched:
        """These rows only (positions among the vouched rows, ascending)."""
        kept = Vouched(self.frame[positions], self._mirrors, list(self._index))
        kept._values = {
            index: [values[at] for at in positions] for index, values in self._values.items()
        }
        return kept

    def values(self, index: int) -> list[Any]:
        values = self._values.get(index)
        if values is None:
            if self.frame.height == 0:
                return []
            values = self._values[index] = self._mirrors[index].to_python(self.column(index))
        return values

    def iso_utc(self, index: int) -> list[str | None] | None:
        """A date-time field's values (held as microseconds since the epoch
        in UTC) as ISO 8601 text to the microsecond, as
        ``datetime.isoformat(timespec="microseconds")`` writes a UTC time,
        None where empty; None for a field of another type."""
        if self.frame.height == 0:
            return []
        if self._mirrors[index].to_python is not _datetimes:
            return None
        micros = self.column(index)
        return (
            pl.from_epoch(micros, time_unit="us")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
            .to_list()
        )

    def by_name(
        self, replaced: Mapping[str, list[Any]] | None = None
    ) -> Mapping[str, Sequence[Any]]:
        """Each field's Python values by field name, made as they are read;
        ``replaced``: other values for some fields (a reference's record ids)."""
        return _LazyValues(self, replaced or {})


class _LazyValues(Mapping[str, Sequence[Any]]):
    def __init__(self, vouched: Vouched, replaced: Mapping[str, list[Any]]) -> None:
        self._vouched = vouched
        self._replaced = replaced

    def __getitem__(self, name: str) -> Sequence[Any]:
        replaced = self._replaced.get(name)
        if replaced is not None:
            return replaced
        return self._vouched.values(self._vouched._index[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._vouched._index)

    def __len__(self) -> int:
        return len(self._vouched._index)


def _national(vouched: pl.DataFrame, index: int, numbers: list[Any]) -> list[int]:
    """Clean the national phone numbers of field ``index`` among the vouched
    rows with ``fields._e164``, once per distinct (number, region), into
    ``numbers`` (the field's clean values); returns the rows it refuses."""
    national = vouched.get_column(f"n{index}")
    if national.null_count() == len(national):
        return []
    known: dict[tuple[str, str], str | None] = {}
    refused = []
    for at, number, region in zip(
        national.is_not_null().arg_true().to_list(),
        national.drop_nulls().to_list(),
        vouched.get_column(f"r{index}").drop_nulls().to_list(),
        strict=True,
    ):
        e164 = known.get((number, region), _NOT_A_VALUE)
        if e164 is _NOT_A_VALUE:
            try:
                e164 = rules._e164(number, region)
            except Exception:  # FieldError, or a parser's bug: the row check says which
                e164 = None
            known[number, region] = e164
        if e164 is None:
            refused.append(at)
        else:
            numbers[at] = e164
    return refused
