"""Runs a claimed ImportRun: streams its rows through the pipeline chunk by
chunk and keeps the run's counters and status true.

A standard run commits each chunk together with the run's counters, so a
crash loses at most the chunk under way and ``rows_processed`` is a
checkpoint. A dry run does the same work inside one transaction that is
rolled back at the end; its quarantined rows and counters are written after.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ingest import registry
from ingest.errors import FILE_MISSING, FileError
from ingest.models import Source
from ingest.pipeline import ChunkProcessor, Counts
from ingest.quarantine import RemediationSink, Sink, SpooledSink, ViolationSink
from ingest.readers import ReadRow, open_reader
from ingest.results import Ledger
from runs.models import ImportRun

logger = logging.getLogger(__name__)


class _Rollback(Exception):
    """Raised at the end of a dry run to undo its writes."""


def chunked(rows: Iterable[ReadRow], size: int) -> Iterator[list[ReadRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def cancel_requested(run: ImportRun) -> bool:
    return ImportRun.objects.filter(pk=run.pk, cancel_requested=True).exists()


def read_file(run: ImportRun) -> Iterator[ReadRow]:
    """Open the run's stored file (file-level problems raise FileError here,
    before any row is read) and note what was detected on the run."""
    target = registry.get(run.target)
    params = run.ingest_params_json
    if not run.file or not os.path.exists(run.file.path):
        raise FileError(FILE_MISSING)
    reader = open_reader(
        run.file.path,
        fields=target.field_names,
        required=target.required_names,
        format=params.get("format") or None,
        encoding=params.get("encoding") or None,
        delimiter=params.get("delimiter") or None,
        max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES,
        max_field_chars=settings.IMPORTER_MAX_FIELD_CHARS,
    )
    params["detected"] = {
        "format": reader.format,
        "encoding": reader.encoding,
        "delimiter": reader.delimiter,
        "columns": reader.columns,
        "unknown_columns": reader.unknown_columns,
    }
    ImportRun.objects.filter(pk=run.pk).update(ingest_params_json=params)

    def rows() -> Iterator[ReadRow]:
        with reader:
            yield from reader

    return rows()


def sink_for(run: ImportRun, *, target: registry.Target, source: Source) -> Sink:
    """Where the run's quarantined rows go: a remediation run updates the
    violations it requeued instead of creating new ones."""
    if run.kind == ImportRun.Kind.REMEDIATION:
        return RemediationSink(run=run)
    return ViolationSink(run_id=run.pk, target=target.name, source_id=source.pk, dry_run=run.dry_run)


def import_rows(run: ImportRun, rows: Iterable[ReadRow], *, sink: Sink | None = None) -> tuple[Counts, bool]:
    """Import the rows into the run's target. Returns the counts and whether
    the run was cancelled on the way."""
    target = registry.get(run.target)
    source = Source.objects.get(pk=run.source_id)
    processor = ChunkProcessor(
        target=target, source=source, run_id=run.pk, imported_at=run.started_at or timezone.now()
    )
    sink = sink or sink_for(run, target=target, source=source)
    if run.dry_run:
        sink = SpooledSink(sink)
    ledger = Ledger(dry_run=run.dry_run)
    counts = Counts()
    cancelled = False
    chunks = chunked(rows, settings.IMPORTER_CHUNK_SIZE)
    try:
        if run.dry_run:
            try:
                with transaction.atomic():
                    for chunk in chunks:
                        if cancel_requested(run):
                            cancelled = True
                            break
                        results = processor.process(chunk)
                        sink.chunk_done(results)
                        ledger.chunk_done(results)
                        counts.add_rows(results)
                    raise _Rollback
            except _Rollback:
                pass
            with transaction.atomic():
                sink.finish()
                _save_counts(run, counts)
        else:
            for chunk in chunks:
                if cancel_requested(run):
                    cancelled = True
                    break
                with transaction.atomic():
                    results = processor.process(chunk)
                    sink.chunk_done(results)
                    chunk_counts = Counts().add_rows(results)
                    _add_counts(run, chunk_counts)
                ledger.chunk_done(results)
                counts.add(chunk_counts)
            sink.finish()
    finally:
        path = ledger.close()
    try:
        with open(path, "rb") as handle:
            run.results_file.save(f"run-{run.pk}-results.csv", File(handle), save=False)
        ImportRun.objects.filter(pk=run.pk).update(results_file=run.results_file.name)
    finally:
        os.unlink(path)
    return counts, cancelled


def _add_counts(run: ImportRun, counts: Counts) -> None:
    """Add one committed chunk's counts to the run: its checkpoint."""
    increments = {name: F(name) + value for name, value in counts.as_dict().items() if value}
    ImportRun.objects.filter(pk=run.pk).update(
        **increments,
        rows_processed=F("rows_processed") + counts.rows_total,
        heartbeat_at=timezone.now(),
    )


def _save_counts(run: ImportRun, counts: Counts) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        **counts.as_dict(), rows_processed=counts.rows_total, heartbeat_at=timezone.now()
    )


def finished_status(counts: Counts, *, cancelled: bool) -> str:
    if cancelled:
        return ImportRun.Status.CANCELLED
    if counts.quarantined:
        return ImportRun.Status.PARTIAL
    return ImportRun.Status.SUCCEEDED

