"""A run's stored file, opened for reading through Django's storage API, so
``STORAGES`` may point at object storage: a storage without local paths
has the file streamed once into a temporary copy."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage
from django.db import transaction

from ingest import registry
from ingest.errors import FILE_MISSING, TOO_LARGE, FileError
from ingest.readers import Reader, open_reader
from ingest.services import reader_encoding
from runs import progress as live_progress
from runs.models import ImportRun


def run_reader(run: ImportRun) -> Reader:
    """Open the run's stored file; file-level problems raise FileError here,
    before any row is read, except a file of mostly malformed rows, which
    raises FileError while it is read (IMPORTER_MAX_MALFORMED_ROWS): from
    the first chunk, before anything is written, when the damage starts
    near the top of the file. The file is read through the storage API
    (see local_copy), so STORAGES may be object storage."""
    target = registry.get(run.target)
    params = run.ingest_params_json
    if not run.file.name:
        raise FileError(FILE_MISSING)
    encoding, default_encoding = reader_encoding(params=params)
    path, cleanup = local_copy(
        run.file.storage, run.file.name, max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES
    )
    try:
        reader = open_reader(
            path,
            fields=target.field_names,
            required=target.required_names,
            format=params.get("format") or None,
            encoding=encoding,
            default_encoding=default_encoding,
            delimiter=params.get("delimiter") or None,
            sheet=params.get("sheet") or None,
            max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES,
            max_field_chars=settings.IMPORTER_MAX_FIELD_CHARS,
            column_map=params.get("column_map") or None,
            max_malformed_rows=settings.IMPORTER_MAX_MALFORMED_ROWS,
        )
    except BaseException:
        cleanup()
        raise
    reader.call_on_close(cleanup)
    return reader


COPY_BLOCK = 1024 * 1024


def local_copy(
    storage: Storage, name: str, *, max_bytes: int | None = None
) -> tuple[str, Callable[[], None]]:
    """A local path of the stored file ``name`` and what to call once done
    with it. The readers open the file several times and seek in it, so:
    a storage with local paths (FileSystemStorage) gives its own path, no
    copy; any other (S3, ...) has the object streamed once, in 1 MiB
    blocks, into a temporary file the cleanup deletes. FileError
    FILE_MISSING when it is not stored, TOO_LARGE (as the reader says it)
    when it is over ``max_bytes``, before anything is copied."""
    if not storage.exists(name):
        raise FileError(FILE_MISSING)
    try:
        return storage.path(name), _nothing
    except NotImplementedError:
        pass
    size = storage.size(name)
    if max_bytes is not None and size > max_bytes:
        raise FileError(TOO_LARGE.format(size=size, limit=max_bytes))
    copy = tempfile.NamedTemporaryFile(prefix="importer-", suffix=Path(name).suffix)
    try:
        with storage.open(name, "rb") as stored:
            while block := stored.read(COPY_BLOCK):
                copy.write(block)
        copy.flush()
    except FileNotFoundError:
        copy.close()
        raise FileError(FILE_MISSING) from None
    except BaseException:
        copy.close()
        raise
    return copy.name, copy.close


def _nothing() -> None:
    pass


def note_detected(run: ImportRun, reader: Reader) -> None:
    """Keep what the reader detected on the run (a replay uses the same)."""
    params = run.ingest_params_json
    params["detected"] = {
        "format": reader.format,
        "encoding": reader.encoding,
        "delimiter": reader.delimiter,
        "columns": reader.columns,
        "unknown_columns": reader.unknown_columns,
        "header_row": reader.header_row,
        "sheet": reader.sheet,
    }
    if reader.format == "csv" and run.file and run.file.name:
        # For the run's live progress bar (the total is known only at the end).
        params["detected"]["rows_estimate"] = live_progress.rows_estimate(
            storage=run.file.storage, name=run.file.name, header_rows=reader.header_row or 1
        )
    ImportRun.objects.filter(pk=run.pk).update(ingest_params_json=params)


def note_keys_read(run: ImportRun, reader: Reader) -> None:
    """JSON Lines has no header: its keys are known once its rows are read.
    Keep them on the run as a header's columns are kept (``note_detected``
    ran before any row), so that unknown keys are named as unknown columns
    are. Every partition reads every row, so each finds the same keys."""
    if reader.format != "jsonl":
        return
    with transaction.atomic():
        params = (
            ImportRun.objects.select_for_update()
            .values_list("ingest_params_json", flat=True)
            .get(pk=run.pk)
        )
        params.setdefault("detected", {}).update(
            columns=reader.columns, unknown_columns=reader.unknown_columns
        )
        ImportRun.objects.filter(pk=run.pk).update(ingest_params_json=params)
