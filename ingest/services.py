"""Writes around sources and the parameters of an import: a source is
created on first use of its slug and remembers how its files look (its
profile); an upload's column map, encoding, delimiter, sheet and format are
checked here the way the readers take them. Admin, API, CLI and runs call
these."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ingest import errors, readers, registry
from ingest.errors import UsageError
from ingest.models import Source

RULESET_VERSION = "1"
FORMATS = readers.FORMATS

BAD_SOURCE = "A source must be a slug (letters, digits, - and _), got {slug!r}."

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def source_get_or_create(*, slug: str, name: str = "") -> Source:
    """The source of this slug; a new one is named ``name`` (else its slug)."""
    slug = (slug or "").strip()
    if not _SLUG.fullmatch(slug) or len(slug) > 64:
        raise UsageError(BAD_SOURCE.format(slug=slug))
    source, _ = Source.objects.get_or_create(slug=slug.lower(), defaults={"name": name or slug})
    return source


def column_map_clean(
    *, target: registry.Target, entries: Mapping[str, str] | Iterable[str] | None
) -> dict[str, str]:
    """An upload's column map, checked: column name in the file → target
    field, for columns not named as the fields are. Given as a mapping (the
    API's JSON object) or as ``column=field`` entries (CLI flags, the admin
    form's lines; split at the last ``=``). Field names are matched as
    headers are (``Country`` is ``country``)."""
    return _column_map_clean(
        field_names=target.field_names, target_name=target.name, entries=entries
    )


def profile_column_map_clean(
    *, entries: Mapping[str, str] | Iterable[str] | None
) -> dict[str, str]:
    """A source profile's column map, checked as an upload's, except that a
    source may send several targets: each field must be a field of one of
    them (the run's target is checked when a run uses the map)."""
    names = list(
        dict.fromkeys(
            name for target in registry.names() for name in registry.get(target).field_names
        )
    )
    return _column_map_clean(
        field_names=names, target_name=errors.COLUMN_MAP_ANY_TARGET, entries=entries
    )


def _column_map_clean(
    *,
    field_names: Iterable[str],
    target_name: str,
    entries: Mapping[str, str] | Iterable[str] | None,
) -> dict[str, str]:
    field_names = list(field_names)
    if not entries:
        return {}
    if isinstance(entries, Mapping):
        pairs = list(entries.items())
    else:
        pairs = []
        for entry in entries:
            column, equals, field = str(entry).rpartition("=")
            if not equals or not column.strip() or not field.strip():
                raise UsageError(errors.COLUMN_MAP_ENTRY.format(entry=entry))
            pairs.append((column, field))
    fields = {readers.normalize_header(name): name for name in field_names}
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for column, field in pairs:
        if not isinstance(column, str) or not isinstance(field, str) or not column.strip():
            raise UsageError(errors.COLUMN_MAP_NOT_OBJECT)
        if "\x00" in column:  # no header holds one, and PostgreSQL cannot store it
            raise UsageError(errors.COLUMN_MAP_NUL)
        column = column.strip()
        name = fields.get(readers.normalize_header(field))
        if name is None:
            raise UsageError(
                errors.COLUMN_MAP_FIELD.format(
                    column=column,
                    field=field.strip(),
                    target=target_name,
                    fields=", ".join(field_names),
                )
            )
        key = readers.normalize_header(column)
        if key in seen:
            raise UsageError(errors.COLUMN_MAP_REPEATED.format(column=column))
        seen.add(key)
        cleaned[column] = name
    return cleaned


def encoding_clean(*, encoding: str | None) -> str | None:
    """An upload's encoding, checked by name as the reader will read it: an
    unknown one is the caller's mistake (CLI exit 2, a form error), not a
    failed run."""
    return _as_the_reader_takes_it(encoding, readers.encoding_name)


def delimiter_clean(*, delimiter: str | None) -> str | None:
    """A delimiter checked as the reader will read it (one character, or a
    spelling of tab); the value is kept as given."""
    return _as_the_reader_takes_it(delimiter, readers.delimiter_argument)


def _as_the_reader_takes_it(value: str | None, check: Callable[[str], object]) -> str | None:
    """``value`` as given (None when empty), once the reader's own ``check``
    takes it; what the reader would fail the file for is the caller's usage
    error here."""
    if not value:
        return None
    try:
        check(value)
    except errors.FileError as exc:
        raise UsageError(exc.message) from None
    return value


def format_clean(*, format: str | None) -> str | None:
    if format and format not in FORMATS:
        raise UsageError(errors.UNSUPPORTED_FORMAT.format(format=format))
    return format or None


PROFILE_PARAMETERS = ("format", "encoding", "delimiter", "sheet", "column_map")


def source_profile_remember(
    *,
    source: Source,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    column_map: Mapping[str, str] | Iterable[str] | None = None,
) -> list[str]:
    """Save on the source's profile the parameters a caller gave (None or
    empty: not given, the profile keeps its value), each checked as an
    upload's. Only those columns are written, so two callers remembering
    different parameters do not undo each other. Returns their names."""
    given = {
        "format": format_clean(format=format),
        "encoding": encoding_clean(encoding=encoding),
        "delimiter": delimiter_clean(delimiter=delimiter),
        "sheet": sheet_clean(sheet=sheet),
        "column_map": profile_column_map_clean(entries=column_map) or None,
    }
    updates = {f"profile_{name}": value for name, value in given.items() if value is not None}
    if updates:
        Source.objects.filter(pk=source.pk).update(**updates)
        for field, value in updates.items():
            setattr(source, field, value)
    return [name for name in PROFILE_PARAMETERS if given[name] is not None]


def profile_value(*, source: Source, name: str, clean: Any) -> Any:
    """The profile's value of one parameter, checked as a caller's would be;
    a bad stored value is a usage error naming the source."""
    value = getattr(source, f"profile_{name}")
    try:
        return clean(value or None)
    except UsageError as exc:
        raise UsageError(
            errors.PROFILE_UNUSABLE.format(
                source=source.slug, name=name.replace("_", " "), error=exc.message
            )
        ) from None


def with_profile(*, target: registry.Target, source: Source, given: dict[str, Any]) -> list[str]:
    """Fill in ``given`` the parameters the caller left out (None or empty)
    from the source's profile, each checked as a caller's would be; returns
    the names of those taken from it (runs.services.run_create, and
    ``upload_params``)."""
    cleaners = {
        "format": lambda value: format_clean(format=value),
        "encoding": lambda value: encoding_clean(encoding=value),
        "delimiter": lambda value: delimiter_clean(delimiter=value),
        "sheet": lambda value: sheet_clean(sheet=value),
        "column_map": lambda value: profile_column_map(target=target, value=value),
    }
    profile_used = []
    for name in PROFILE_PARAMETERS:
        if given[name]:
            continue
        value = profile_value(source=source, name=name, clean=cleaners[name])
        if value:
            given[name] = value
            profile_used.append(name)
    return profile_used


def upload_params(
    *,
    target: str,
    source: str,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    column_map: Mapping[str, str] | Iterable[str] | None = None,
) -> dict[str, Any]:
    """The parameters a run of this upload would read its file with, as
    runs.services.run_create decides them (given, checked; else the
    source's profile's), without creating the source or the run: for the
    upload form, which looks at the file's header first. Keys:
    PROFILE_PARAMETERS, and ``profile_used`` (as on a run)."""
    target_spec = registry.get(target)
    given: dict[str, Any] = {
        "format": format_clean(format=format),
        "encoding": encoding_clean(encoding=encoding),
        "delimiter": delimiter_clean(delimiter=delimiter),
        "sheet": sheet_clean(sheet=sheet),
        "column_map": column_map_clean(target=target_spec, entries=column_map),
    }
    slug = (source or "").strip().lower()
    profile_used: list[str] = []
    if (source_obj := Source.objects.filter(slug=slug).first()) is not None:
        profile_used = with_profile(target=target_spec, source=source_obj, given=given)
    return {**given, "profile_used": profile_used}


def reader_encoding(*, params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The reader's ``encoding`` and ``default_encoding`` for a run's
    parameters (or ``upload_params``): an encoding the caller gave is read
    as given (but for a byte-order mark); one taken from the source's
    profile is what the source usually sends, a default the file's bytes
    may overrule (a UTF-8 file from a source remembered as cp1252)."""
    encoding = params.get("encoding") or None
    if "encoding" in params.get("profile_used", ()):
        return None, encoding
    return encoding, None


def profile_column_map(*, target: registry.Target, value: Any) -> dict[str, str] | None:
    if value is not None and not isinstance(value, Mapping):  # a JSON column holds anything
        raise UsageError(errors.COLUMN_MAP_NOT_OBJECT)
    return column_map_clean(target=target, entries=value) or None


def sheet_clean(*, sheet: str | None) -> str | None:
    """An upload's sheet (a name, or a 0-based position), checked as the
    reader will read it: a NUL or an over-long name is the caller's
    mistake. Whether the workbook has that sheet is known only when the
    file is read (the run then fails, listing its sheets)."""
    try:
        cleaned = readers.sheet_argument(sheet)
    except errors.FileError as exc:
        raise UsageError(exc.message) from None
    return None if cleaned is None else str(cleaned)
