"""Runs the partitions of a claimed ImportRun: streams the rows through the
pipeline chunk by chunk, with a checkpoint that commits with every chunk.

A run is split into ``run.partitions`` partition jobs (one for small files
and dry runs). A row belongs to the partition its external id hashes to, so
every row with the same external id is imported by one job, in file order,
and each job's in-file duplicate tracker sees all of them.

Crash safety. PostgreSQL holds the truth: a standard partition commits each
chunk's writes, violations, results-ledger length and checkpoint (the last
row number done) in one transaction, together with the run's counters
(F() increments, so parallel partitions add up). A resumed partition reads
its file again, replays the rows up to the checkpoint through the pipeline
without writing (the in-file duplicate tracker is rebuilt exactly as it
was), and carries on after it. ``attempt`` fences a worker that was given
up for dead and comes back: its next checkpoint matches nothing and its
chunk rolls back. A dry run is one transaction, rolled back; resumed, it
starts again.
"""

from __future__ import annotations

import csv
import heapq
import itertools
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from ingest import registry
from ingest.errors import FILE_MISSING, TOO_LARGE, FileError
from ingest.fields import trim
from ingest.models import Source
from ingest.pipeline import ChunkProcessor, Counts
from ingest.quarantine import RemediationSink, Sink, SpooledSink, ViolationSink
from ingest.readers import Reader, ReadRow, open_reader
from ingest.results import Ledger
from ingest.seen import key64
from runs import progress as live_progress
from runs.models import ImportRun, RunPartition

logger = logging.getLogger(__name__)

# SQLSTATEs after which a chunk can simply be tried again.
# Deadlock detected, serialization failure, and out of shared memory: the
# lock table is full (each chunk holds an advisory lock per natural key until
# it commits, see resolve.lock_natural_keys), which passes once the other
# partitions' chunks commit.
RETRYABLE_SQLSTATES = ("40P01", "40001", "53200")
# The connection was lost: the server shut down or restarted (57P01-57P03,
# a failover, an operator's pg_terminate_backend) or the network failed
# (class 08). The chunk rolled back with the connection; a new connection
# resumes from the checkpoint.
CONNECTION_LOST_SQLSTATES = ("57P01", "57P02", "57P03")


class _Rollback(Exception):
    """Raised at the end of a dry run to undo its writes."""


class LostLease(Exception):
    """The reconciler gave this partition to another worker: stop at once."""


class RunStopped(Exception):
    """The run was finished elsewhere (failed, or cancelled while queued)."""


def chunked(rows: Iterable[ReadRow], size: int) -> Iterator[list[ReadRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def is_retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure PostgreSQL broke up, or a lost
    connection: the chunk rolled back and may be tried again."""
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES or is_connection_lost(exc)


def is_connection_lost(exc: BaseException) -> bool:
    """The database connection is gone (see CONNECTION_LOST_SQLSTATES); also
    a connection psycopg found closed, which carries no SQLSTATE."""
    if connection.vendor != "postgresql":
        return False
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in CONNECTION_LOST_SQLSTATES or sqlstate.startswith("08")
    raw = connection.connection  # None once Django closed it
    return isinstance(exc, (OperationalError, InterfaceError)) and (
        raw is None or raw.closed or raw.broken
    )


# --- The file ----------------------------------------------------------------


def run_reader(run: ImportRun) -> Reader:
    """Open the run's stored file; file-level problems raise FileError here,
    before any row is read, except a file of mostly malformed rows, which
    raises FileError while it is read (IMPORTER_MAX_MALFORMED_ROWS): from
    the first chunk, before anything is written, when the damage starts
    near the top of the file. The file is read through the storage API
    (see local_copy), so STORAGES may be object storage."""
    target = registry.get(run.target)
    params = run.ingest_params_json
    if not run.file:
        raise FileError(FILE_MISSING)
    path, cleanup = local_copy(
        run.file.storage, run.file.name, max_bytes=settings.IMPORTER_MAX_UPLOAD_BYTES
    )
    try:
        reader = open_reader(
            path,
            fields=target.field_names,
            required=target.required_names,
            format=params.get("format") or None,
            encoding=params.get("encoding") or None,
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
    if reader.format == "csv" and run.file:
        # For the run's live progress bar (the total is known only at the end).
        params["detected"]["rows_estimate"] = live_progress.rows_estimate(
            storage=run.file.storage, name=run.file.name, header_rows=reader.header_row or 1
        )
    ImportRun.objects.filter(pk=run.pk).update(ingest_params_json=params)


def plan_partitions(run: ImportRun) -> int:
    """How many partition jobs: one for dry runs (one transaction) and small
    files (a job's start-up would cost more than it saves)."""
    if run.dry_run or (run.file_size or 0) < settings.IMPORTER_PARTITION_MIN_BYTES:
        return 1
    return max(1, settings.IMPORTER_PARTITIONS)


def partition_of(external_id: str, partitions: int) -> int:
    """The partition of an external id, trimmed as the pipeline trims it."""
    if partitions == 1:
        return 0
    return key64(trim(external_id)[:255]) % partitions


def partition_rows(
    rows: Iterable[ReadRow], *, field: str, partitions: int, index: int
) -> Iterator[ReadRow]:
    if partitions == 1:
        yield from rows
        return
    for row in rows:
        if partition_of(row.values.get(field) or "", partitions) == index:
            yield row


def sink_for(run: ImportRun, *, target: registry.Target, source: Source) -> Sink:
    """Where the run's quarantined rows go: a remediation run updates the
    violations it requeued instead of creating new ones."""
    if run.kind == ImportRun.Kind.REMEDIATION:
        return RemediationSink(run=run)
    return ViolationSink(
        run_id=run.pk, target=target.name, source_id=source.pk, dry_run=run.dry_run
    )


# --- Heartbeat ---------------------------------------------------------------


class Heartbeat:
    """Touches the run's (and the partition's) heartbeat every
    IMPORTER_HEARTBEAT_SECONDS from a thread with its own connection, so a
    long chunk, a lock wait or a dry run's one long transaction never looks
    like a dead worker. Off on SQLite: one process writes there at a time,
    and the chunks' own commits beat."""

    def __init__(
        self, *, run_id: int, partition_id: int | None = None, attempt: int | None = None
    ) -> None:
        self.run_id = run_id
        self.partition_id = partition_id
        self.attempt = attempt
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if connection.vendor != "sqlite":
            self._thread = threading.Thread(
                target=self._beat, name=f"heartbeat-run-{self.run_id}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.IMPORTER_HEARTBEAT_SECONDS):
                try:
                    touch(run_id=self.run_id, partition_id=self.partition_id, attempt=self.attempt)
                except DatabaseError:
                    logger.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
                    connections.close_all()  # a lost connection: the next beat opens a new one
        finally:
            connections.close_all()


def touch(*, run_id: int, partition_id: int | None = None, attempt: int | None = None) -> None:
    now = timezone.now()
    ImportRun.objects.filter(pk=run_id).update(heartbeat_at=now)
    if partition_id is not None:
        RunPartition.objects.filter(pk=partition_id, attempt=attempt).update(heartbeat_at=now)


# --- One partition -------------------------------------------------------------


def ledger_path(run_id: int, index: int) -> Path:
    """A partition's results ledger, on MEDIA_ROOT (shared by every worker)."""
    return Path(settings.MEDIA_ROOT) / "results" / "parts" / f"run-{run_id}" / f"part-{index}.csv"


def _open_ledger(part: RunPartition) -> tuple[IO[str], Path]:
    """The partition's ledger, cut back to its checkpoint (lines written by
    a chunk that then rolled back are dropped)."""
    path = ledger_path(part.run_id, part.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.truncate(path, part.ledger_bytes)
    handle = open(path, "a", encoding="utf-8", newline="")
    return handle, path


def _checkpoint(part: RunPartition, *, last_row_number: int, rows: int, ledger_bytes: int) -> None:
    """Inside the chunk's transaction: fails (LostLease) when this worker no
    longer owns the partition, which rolls the chunk back."""
    moved = RunPartition.objects.filter(
        pk=part.pk, attempt=part.attempt, status=RunPartition.Status.RUNNING
    ).update(
        last_row_number=last_row_number,
        rows_processed=F("rows_processed") + rows,
        ledger_bytes=ledger_bytes,
        heartbeat_at=timezone.now(),
    )
    if not moved:
        raise LostLease


def _should_stop(run: ImportRun) -> bool:
    """True when a cancel was requested; RunStopped when the run is no
    longer running (failed by another partition, or by the reconciler)."""
    status, cancel = (
        ImportRun.objects.filter(pk=run.pk).values_list("status", "cancel_requested").get()
    )
    if status != ImportRun.Status.RUNNING:
        raise RunStopped
    return cancel


# Told the number of rows of each chunk done (read, checked, written or not).
Progress = Callable[[int], None]


def import_partition(
    run: ImportRun,
    part: RunPartition,
    *,
    sink: Sink | None = None,
    progress: Progress | None = None,
) -> bool:
    """Import one partition from its checkpoint on. Returns whether it
    stopped on a cancel request."""
    target = registry.get(run.target)
    source = Source.objects.get(pk=run.source_id)
    processor = ChunkProcessor(
        target=target,
        source=source,
        run_id=run.pk,
        imported_at=run.started_at or timezone.now(),
        dry_run=run.dry_run,
        value_mappings=run.ingest_params_json.get("value_mappings"),
    )
    sink = sink or sink_for(run, target=target, source=source)
    reader = run_reader(run)
    handle, _ = _open_ledger(part)
    ledger = Ledger(dry_run=run.dry_run, file=handle)
    rows = partition_rows(
        reader, field=target.external_id_field, partitions=run.partitions, index=part.index
    )
    chunks = chunked(rows, settings.IMPORTER_CHUNK_SIZE)
    try:
        with reader:
            if run.dry_run:
                return _dry_run(
                    run, part, processor, SpooledSink(sink), ledger, handle, chunks, progress
                )
            return _standard_run(run, part, processor, sink, ledger, handle, chunks, progress)
    finally:
        handle.close()


def _standard_run(run, part, processor, sink, ledger, handle, chunks, progress) -> bool:
    for chunk in chunks:
        done = [row for row in chunk if row.number <= part.last_row_number]
        if done:
            # Committed before a crash: rebuild the duplicate tracker only.
            processor.process(done, write=False)
            touch(run_id=run.pk, partition_id=part.pk, attempt=part.attempt)
            chunk = chunk[len(done) :]
            if not chunk:
                continue
        if _should_stop(run):
            sink.finish()
            return True
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            results = processor.process(chunk)
            sink.chunk_done(results)
            ledger.chunk_done(results)
            handle.flush()
            _checkpoint(
                part, last_row_number=chunk[-1].number, rows=len(chunk), ledger_bytes=handle.tell()
            )
            _add_counts(run, Counts().add_rows(results))
        part.last_row_number = chunk[-1].number
        part.ledger_bytes = handle.tell()
        if progress is not None:
            progress(len(chunk))
    sink.finish()
    return False


def _commit_without_waiting_for_disk() -> None:
    """On PostgreSQL, this chunk's commit does not wait for its WAL flush
    (about a quarter of a fresh import's time). Safe here: the chunk's rows,
    violations, id map, counters and checkpoint commit as one transaction, so
    a database crash can only lose the last few chunks whole, checkpoint
    included, and the reconciler resumes the run from the checkpoint that
    survived. Nothing outside the database is told a chunk is durable."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _dry_run(run, part, processor, sink, ledger, handle, chunks, progress) -> bool:
    counts = Counts()
    cancelled = False
    try:
        with transaction.atomic():
            for chunk in chunks:
                if _should_stop(run):
                    cancelled = True
                    break
                results = processor.process(chunk)
                sink.chunk_done(results)
                ledger.chunk_done(results)
                counts.add_rows(results)
                # Its counters commit only at the end: the page reads this meanwhile.
                live_progress.dry_run_progress_note(run_id=run.pk, rows=counts.rows_total)
                if progress is not None:
                    progress(len(chunk))
            raise _Rollback
    except _Rollback:
        pass
    handle.flush()
    with transaction.atomic():
        _checkpoint(part, last_row_number=0, rows=counts.rows_total, ledger_bytes=handle.tell())
        sink.finish()
        ImportRun.objects.filter(pk=run.pk).update(
            **counts.as_dict(), rows_processed=counts.rows_total, heartbeat_at=timezone.now()
        )
    return cancelled


def _add_counts(run: ImportRun, counts: Counts) -> None:
    """Add one committed chunk's counts to the run (atomically: partitions
    of one run commit in parallel)."""
    increments = {name: F(name) + value for name, value in counts.as_dict().items() if value}
    ImportRun.objects.filter(pk=run.pk).update(
        **increments,
        rows_processed=F("rows_processed") + counts.rows_total,
        heartbeat_at=timezone.now(),
    )


# --- The end of a run ----------------------------------------------------------


def finished_status(run: ImportRun) -> str:
    if run.cancel_requested:
        return ImportRun.Status.CANCELLED
    if run.quarantined:
        return ImportRun.Status.PARTIAL
    return ImportRun.Status.SUCCEEDED


def save_results(run: ImportRun) -> None:
    """Merge the partitions' ledgers, each in row order, into the run's
    results file, then remove them."""
    paths = [ledger_path(run.pk, index) for index in range(run.partitions)]
    paths = [path for path in paths if path.exists()]
    if not paths:
        return
    if len(paths) == 1:  # already in row order
        _store_results(run, paths[0])
    else:
        merged = _merge_ledgers(paths)
        try:
            _store_results(run, merged)
        finally:
            os.unlink(merged)
    for path in paths:
        path.unlink()
    try:
        paths[0].parent.rmdir()
    except OSError:
        pass


def _merge_ledgers(paths: list[Path]) -> Path:
    """One temporary file with the ledgers' lines merged in row order."""
    handles = [open(path, encoding="utf-8", newline="") for path in paths]
    try:
        readers = [csv.reader(handle) for handle in handles]
        headers = [next(reader, None) for reader in readers]
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", newline="", suffix=".csv", delete=False
        ) as out:
            writer = csv.writer(out)
            writer.writerow(next(header for header in headers if header))
            writer.writerows(heapq.merge(*readers, key=lambda line: int(line[0])))
    finally:
        for handle in handles:
            handle.close()
    return Path(out.name)


def _store_results(run: ImportRun, path: Path) -> None:
    with open(path, "rb") as results:
        run.results_file.save(f"run-{run.pk}-results.csv", File(results), save=False)
    ImportRun.objects.filter(pk=run.pk).update(results_file=run.results_file.name)
