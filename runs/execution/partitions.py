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

import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, cast

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from dq.sinks import DryRunSink, RemediationSink, Sink, ViolationSink
from ingest import registry
from ingest.fields import trim
from ingest.models import Source
from ingest.pipeline import ChunkProcessor, Counts, Row, WritePolicy, write_policy
from ingest.readers import Reader, ReadRow
from ingest.results import Ledger
from ingest.seen import key64
from runs import progress as live_progress
from runs.execution import files, results
from runs.execution.collector import fewer_collections
from runs.models import ImportRun, RunPartition

logger = logging.getLogger(__name__)


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


_END = object()


class ReadAhead:
    """A partition's chunks, each read as the pipeline takes it
    (``ChunkProcessor.read``), with the next one worked on early when
    asked (``work_ahead``): the pipeline asks while PostgreSQL stores a
    chunk's new records and then their id map, so that reading the file
    and checking its next chunk overlap with the server's work instead of
    following it (``ChunkProcessor.process``'s ``meanwhile``). An error
    reading that next chunk is raised when the chunk is asked for, so the
    chunk being written commits first, as without reading ahead."""

    def __init__(
        self, chunks: Iterator[list[Row]], check: Callable[[list[Row]], None] | None = None
    ) -> None:
        self._chunks = chunks
        self._check = check
        self._ahead: object = None  # None, the next chunk, _END or the error reading it
        self._checked = False

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> list[Row]:
        ahead, self._ahead = self._ahead, None
        self._checked = False
        if ahead is None:
            return next(self._chunks)
        if ahead is _END:
            raise StopIteration
        if isinstance(ahead, Exception):
            raise ahead
        return cast(list[Row], ahead)

    def work_ahead(self) -> None:
        """The next piece of work on the next chunk: read it, then check it
        (``check``); nothing once both are done."""
        if self._ahead is None:
            try:
                self._ahead = next(self._chunks, _END)
            except Exception as exc:
                self._ahead = exc
        elif self._check is not None and not self._checked and isinstance(self._ahead, list):
            self._checked = True
            try:
                self._check(self._ahead)
            except Exception:  # checked again, and raised, when the chunk is processed
                logger.debug("checking a chunk ahead failed", exc_info=True)


# --- Partitions ---------------------------------------------------------------


def plan_partitions(run: ImportRun) -> int:
    """How many partition jobs: one for dry runs (one transaction) and small
    files (a job's start-up would cost more than it saves)."""
    if (
        write_policy(dry_run=run.dry_run).rolls_back
        or (run.file_size or 0) < settings.IMPORTER_PARTITION_MIN_BYTES
    ):
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


def sink_for(
    run: ImportRun, *, target: registry.Target, source: Source, policy: WritePolicy
) -> Sink:
    """Where the run's quarantined rows go: a remediation run updates the
    violations it requeued instead of creating new ones; a dry run keeps its
    own apart."""
    if run.kind == ImportRun.Kind.REMEDIATION:
        return RemediationSink(run=run)
    if policy.violations_apart:
        return DryRunSink(run_id=run.pk, target=target.name, source_id=source.pk)
    return ViolationSink(run_id=run.pk, target=target.name, source_id=source.pk)


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
    if partition_id is not None and attempt is not None:
        RunPartition.objects.filter(pk=partition_id, attempt=attempt).update(heartbeat_at=now)


# --- One partition -------------------------------------------------------------


def _open_ledger(part: RunPartition) -> tuple[IO[str], Path]:
    """The partition's ledger, cut back to its checkpoint (lines written by
    a chunk that then rolled back are dropped)."""
    path = results.ledger_path(part.run_id, part.index)
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
    progress: Progress | None = None,
    reader: Reader | None = None,
) -> bool:
    """Import one partition from its checkpoint on. Returns whether it
    stopped on a cancel request. ``reader``: the run's file, already opened
    and checked (a run of one partition is read once)."""
    target = registry.get(run.target)
    source = Source.objects.get(pk=run.source_id)
    policy = write_policy(dry_run=run.dry_run)
    processor = ChunkProcessor(
        target=target,
        source=source,
        run_id=run.pk,
        imported_at=run.started_at or timezone.now(),
        policy=policy,
        value_mappings=run.ingest_params_json.get("value_mappings"),
        engine=settings.IMPORTER_ENGINE,
    )
    sink = sink_for(run, target=target, source=source, policy=policy)
    reader = reader or files.run_reader(run)
    handle, _ = _open_ledger(part)
    ledger = Ledger(policy=policy, file=handle)
    rows = partition_rows(
        reader, field=target.external_id_field, partitions=run.partitions, index=part.index
    )
    chunks = ReadAhead(
        map(processor.read, chunked(rows, settings.IMPORTER_CHUNK_SIZE)), processor.check_ahead
    )
    try:
        with reader, fewer_collections():
            run_chunks = _dry_run if policy.rolls_back else _standard_run
            stopped = run_chunks(run, part, processor, sink, ledger, handle, chunks, progress)
            files.note_keys_read(run, reader)
            return stopped
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
            results = processor.process(chunk, meanwhile=chunks.work_ahead)
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
                results = processor.process(chunk, meanwhile=chunks.work_ahead)
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
