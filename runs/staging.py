"""Uploads whose header does not name the target's required fields: the
upload form's second step, where a person matches the file's columns to
the target's fields before the run is made.

The run's status set is fixed (DESIGN.md), so no run exists while the
columns are being matched. The file is stored once, under ``staged/``
through the storage API (local disk or S3 alike), and the form carries a
signed token naming it, the user, and what the form was given; the run is
then created from that stored file (never uploaded again) with the chosen
column map, and the staged copy deleted. A staged file nobody imports is
deleted once older than ``IMPORTER_STAGED_UPLOAD_SECONDS``, by the next
staging (or ``staged_uploads_purge``, which purge_personal_data runs too);
its token stops working then too.

A file whose header names every required field (given the column map the
upload or the source's profile gives) goes straight to a run, as before;
so does one the reader refuses as a whole (the run fails with its message).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core import signing
from django.core.files.storage import default_storage
from django.utils import timezone

from ingest import errors, matching, readers, registry
from ingest import services as ingest_services
from ingest.errors import FileError, UsageError
from ingest.models import Source
from ingest.readers import Preview, headers
from ingest.readers.jsonl import JSONL
from runs import services
from runs.execution.files import local_copy
from runs.models import ImportRun

logger = logging.getLogger(__name__)

STAGED_DIR = "staged"
_SALT = "runs.staging.upload"
# A form shows at most this many columns to match (each is a form field,
# and Django refuses a POST of more than DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_MATCH_COLUMNS = 300


@dataclass(frozen=True)
class Upload:
    """What the upload form was given besides the file, as it was given
    (empty: left out; run_create then takes the source's profile)."""

    target: str
    source: str
    dry_run: bool = False
    format: str = ""
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    # column -> field (``column=field`` lines too, until upload_accept checks them)
    column_map: Any = field(default_factory=dict)
    remember: bool = False


@dataclass(frozen=True)
class StagedUpload:
    """A stored upload waiting for its columns to be matched."""

    token: str
    name: str  # in the default storage
    filename: str  # the client's, for display and the run
    upload: Upload
    default_sheet: str = ""  # the sheet the upload's own parameters read (workbooks)


@dataclass(frozen=True)
class ColumnMatching:
    """What the matching form shows: the file's start and the suggestions."""

    staged: StagedUpload | None
    preview: Preview
    matching: matching.Matching
    target: registry.Target
    truncated: int = 0  # columns past MAX_MATCH_COLUMNS, not shown

    @property
    def columns(self) -> list[str]:
        return self.preview.columns[:MAX_MATCH_COLUMNS]


def upload_accept(
    *,
    file: IO[bytes],
    filename: str,
    upload: Upload,
    created_by: User | AnonymousUser | None = None,
) -> ImportRun | ColumnMatching:
    """The upload form's first step: the run (created as run_create makes
    it), or, when the file's header does not name every required field,
    the file staged and what to show to match its columns. A column map
    given as ``column=field`` lines is checked as run_create checks it."""
    upload = _checked(upload)
    found = _matching_for_upload(file=file, filename=filename, upload=upload)
    if found is None:
        file.seek(0)
        return services.run_create(
            target=upload.target,
            source=upload.source,
            file=file,
            filename=filename,
            dry_run=upload.dry_run,
            created_by=created_by,
            format=upload.format or None,
            encoding=upload.encoding or None,
            delimiter=upload.delimiter or None,
            sheet=upload.sheet or None,
            column_map=upload.column_map,
            remember=upload.remember,
        )
    staged_uploads_purge()
    name = default_storage.save(f"{STAGED_DIR}/{services.stored_file_name(filename)}", file)
    payload = {
        "name": name,
        "filename": filename,
        "user": getattr(created_by, "pk", None),
        "upload": asdict(upload),
        "default_sheet": found.preview.sheet or "",
    }
    staged = StagedUpload(
        token=signing.dumps(payload, salt=_SALT, compress=True),
        name=name,
        filename=filename,
        upload=upload,
        default_sheet=found.preview.sheet or "",
    )
    return ColumnMatching(staged, found.preview, found.matching, found.target, found.truncated)


def staged_upload_get(*, token: str, user: User | AnonymousUser | None) -> StagedUpload:
    """The staged upload a form's token names, for the user who staged it;
    STAGED_UPLOAD_GONE when the token is not one of ours, expired, another
    user's, or its file was imported (deleted) already."""
    gone = UsageError(errors.STAGED_UPLOAD_GONE.format(minutes=_max_age() // 60))
    try:
        payload = signing.loads(token, salt=_SALT, max_age=_max_age())
    except signing.BadSignature:
        raise gone from None
    if payload.get("user") != getattr(user, "pk", None):
        raise gone
    if not default_storage.exists(payload["name"]):
        raise gone
    return StagedUpload(
        token=token,
        name=payload["name"],
        filename=payload["filename"],
        upload=Upload(**payload["upload"]),
        default_sheet=payload.get("default_sheet", ""),
    )


def staged_upload_matching(*, staged: StagedUpload, sheet: str | None = None) -> ColumnMatching:
    """The matching of a staged upload, for ``sheet`` (a workbook's sheet
    name; None: the one the upload's parameters read). FileError when that
    sheet cannot be read (no header, say)."""
    upload = staged.upload if not sheet else _with_sheet(staged.upload, sheet)
    with _stored_path(staged.name) as path:
        found = _matching_for_path(path=path, upload=upload, always=True)
    assert found is not None
    return ColumnMatching(staged, found.preview, found.matching, found.target, found.truncated)


def staged_upload_import(
    *,
    shown: ColumnMatching,
    choices: Sequence[str | None],
    remember: bool,
    created_by: User | AnonymousUser | None = None,
) -> ImportRun:
    """The run of a staged upload (``shown``: its matching as the person
    saw it, sheet included) with the chosen field for each column (None:
    not imported), checked against the header as the reader will read it;
    the staged file is deleted once the run holds its own copy. Raises
    matching.ChoicesInvalid for choices that cannot be imported,
    UsageError for what the header refuses."""
    staged, target, columns = shown.staged, shown.target, shown.columns
    assert staged is not None
    column_map = matching.choices_check(
        columns=columns,
        choices=list(choices)[: len(columns)],
        fields=target.field_names,
        required=target.required_names,
    )
    if shown.preview.format != JSONL:
        field_by_key = headers.target_field_by_key(target.field_names, column_map)
        try:
            headers.map_header(
                shown.preview.columns, field_by_key, target.required_names, column_map
            )
        except FileError as exc:
            raise UsageError(exc.message) from None
    upload = staged.upload
    sheet = shown.preview.sheet
    if sheet and sheet != staged.default_sheet:
        upload = _with_sheet(upload, sheet)
    with default_storage.open(staged.name, "rb") as stored:
        run = services.run_create(
            target=upload.target,
            source=upload.source,
            file=stored,
            filename=staged.filename,
            dry_run=upload.dry_run,
            created_by=created_by,
            format=upload.format or None,
            encoding=upload.encoding or None,
            delimiter=upload.delimiter or None,
            sheet=upload.sheet or None,
            column_map=column_map,
            remember=remember,
        )
    _delete(staged.name)
    return run


def staged_uploads_purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> int:
    """Delete staged files older than IMPORTER_STAGED_UPLOAD_SECONDS (their
    tokens have expired); returns how many (``dry_run``: would be, nothing
    deleted). Also run by purge_personal_data."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=_max_age())
    try:
        _, names = default_storage.listdir(STAGED_DIR)
    except FileNotFoundError:
        return 0
    deleted = 0
    for filename in names:
        name = f"{STAGED_DIR}/{filename}"
        try:
            if default_storage.get_modified_time(name) < cutoff:
                if not dry_run:
                    default_storage.delete(name)
                deleted += 1
        except (OSError, NotImplementedError):
            logger.warning("could not purge the staged upload %s", name, exc_info=True)
    return deleted


def matching_for_file(*, path: str, upload: Upload) -> ColumnMatching | None:
    """The suggestions for a local file whose header misses required
    fields (import_file prints them), else None."""
    found = _matching_for_path(path=path, upload=_checked(upload))
    if found is None:
        return None
    return ColumnMatching(None, found.preview, found.matching, found.target, found.truncated)


def run_unknown_columns(*, run: ImportRun) -> tuple[list[matching.Suggestion], int]:
    """The columns of a run's file that it did not import (the reader's
    ``detected.unknown_columns``), each with the field the column matching
    would give it (None: none; the fields the run read are taken), for
    import_file to name; at most MAX_MATCH_COLUMNS of them, and how many
    more there are."""
    detected = run.ingest_params_json.get("detected") or {}
    unknown = [str(column) for column in detected.get("unknown_columns") or []]
    if not unknown:
        return [], 0
    target = registry.get(run.target)
    read = set(detected.get("columns") or [])
    found = matching.suggest(
        columns=unknown[:MAX_MATCH_COLUMNS],
        fields=[name for name in target.field_names if name not in read],
        synonyms=target.column_synonyms,
    )
    return found.suggestions, len(unknown) - len(found.suggestions)


# --- helpers ------------------------------------------------------------------


def _checked(upload: Upload) -> Upload:
    """The upload with its column map checked as run_create checks it."""
    target = registry.get(upload.target)
    entries = ingest_services.column_map_clean(target=target, entries=upload.column_map)
    return _with(upload, column_map=entries)


def _with(upload: Upload, **changes: Any) -> Upload:
    return Upload(**{**asdict(upload), **changes})


def _with_sheet(upload: Upload, sheet: str) -> Upload:
    return _with(upload, sheet=sheet)


def _max_age() -> int:
    return settings.IMPORTER_STAGED_UPLOAD_SECONDS


def _delete(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:  # the expiry purge gets it later
        logger.warning("could not delete the staged upload %s", name, exc_info=True)


def _matching_for_upload(
    *, file: IO[bytes], filename: str, upload: Upload
) -> ColumnMatching | None:
    with _local_path(file, filename) as path:
        return _matching_for_path(path=path, upload=upload)


def _matching_for_path(*, path: str, upload: Upload, always: bool = False) -> ColumnMatching | None:
    """The preview and suggestions of the file at ``path``, read with the
    parameters a run of ``upload`` would use; None (unless ``always``)
    when its header names every required field, or the reader refuses the
    file as a whole (the run then fails with the reader's message)."""
    target = registry.get(upload.target)
    params = ingest_services.upload_params(
        target=upload.target,
        source=upload.source,
        format=upload.format or None,
        encoding=upload.encoding or None,
        delimiter=upload.delimiter or None,
        sheet=upload.sheet or None,
        column_map=upload.column_map,
    )
    column_map = params["column_map"] or {}
    encoding, default_encoding = ingest_services.reader_encoding(params=params)
    hints = matching.header_hints(fields=target.field_names, synonyms=target.column_synonyms)
    try:
        preview = readers.preview_file(
            path,
            fields=target.field_names,
            required=target.required_names,
            format=params["format"],
            encoding=encoding,
            default_encoding=default_encoding,
            delimiter=params["delimiter"],
            sheet=params["sheet"],
            # Synonyms help find the header below title lines; only the
            # run's own map decides whether it names the required fields.
            column_map={**hints, **column_map},
            max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES,
            max_field_chars=settings.IMPORTER_MAX_FIELD_CHARS,
        )
    except FileError:
        if always:
            raise
        return None
    if not always and not _misses_required(preview, target, column_map):
        return None
    columns = preview.columns[:MAX_MATCH_COLUMNS]
    found = matching.suggest(
        columns=columns,
        fields=target.field_names,
        required=target.required_names,
        given=upload.column_map,
        remembered=_remembered(upload.source),
        synonyms=target.column_synonyms,
    )
    return ColumnMatching(None, preview, found, target, len(preview.columns) - len(columns))


def _misses_required(preview: Preview, target: registry.Target, column_map: dict) -> bool:
    """The header names too few required fields (a column without a name
    counts for none: the reader does not read it)."""
    if not preview.columns:
        return False
    field_by_key = headers.target_field_by_key(target.field_names, column_map)
    named = headers.names_required(preview.columns, field_by_key, target.required_names)
    return named < len(target.required_names)


def _remembered(slug: str) -> dict[str, str]:
    """The source's profile column map (it may hold other targets' fields:
    matching ignores those)."""
    source = Source.objects.filter(slug=slug.strip().lower()).only("profile_column_map").first()
    value = source.profile_column_map if source is not None else None
    if not isinstance(value, dict):
        return {}
    return {str(column): str(name) for column, name in value.items()}


@contextmanager
def _local_path(file: IO[bytes], filename: str) -> Iterator[str]:
    """A local path of an uploaded file: Django's own temporary file when it
    streamed to disk, else a temporary copy (a small, in-memory upload)
    named with the upload's extension, which the readers look at."""
    path = getattr(file, "temporary_file_path", None)
    if path is not None:
        yield path()
        return
    extension = os.path.splitext(services.stored_file_name(filename))[1]
    with tempfile.NamedTemporaryFile(prefix="importer-", suffix=extension) as copy:
        file.seek(0)
        shutil.copyfileobj(file, copy)
        copy.flush()
        file.seek(0)
        yield copy.name


@contextmanager
def _stored_path(name: str) -> Iterator[str]:
    """A local path of a stored file (runs.execution.files.local_copy: the
    storage's own path on local disk, a temporary copy from object storage)."""
    try:
        path, cleanup = local_copy(
            default_storage, name, max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES
        )
    except FileError:
        raise UsageError(errors.STAGED_UPLOAD_GONE.format(minutes=_max_age() // 60)) from None
    try:
        yield path
    finally:
        cleanup()
