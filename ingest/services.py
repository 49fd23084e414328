"""Writes around import runs. Admin, API, CLI and jobs call these; they never
re-implement them."""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from redis.exceptions import RedisError

from dq.mappings import value_mappings_for
from ingest import (
    errors,
    inprocess,
    locks,
    metrics,
    quarantine,
    readers,
    registry,
    runner,
    spreadsheets,
    survivorship,
)
from ingest.errors import ImporterError, StateConflict, UsageError
from ingest.models import Source
from runs.models import ImportRun, RunPartition

logger = logging.getLogger(__name__)

QUEUE_NAME = "imports"
RULESET_VERSION = "1"
FORMATS = ("csv", "jsonl", *spreadsheets.FORMATS)

BAD_SOURCE = "A source must be a slug (letters, digits, - and _), got {slug!r}."
CANNOT_CANCEL = "Run {run_id} is {status}; only queued or running runs can be cancelled."
NOT_DRY_RUN = "Run {run_id} is not a finished dry run."
NO_FILE_TO_REPLAY = "Run {run_id} has no stored file to replay."
CRASHED = "The import stopped on an unexpected error ({error}); see the worker log for details."

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_SAFE_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def source_get_or_create(*, slug: str) -> Source:
    slug = (slug or "").strip()
    if not _SLUG.fullmatch(slug) or len(slug) > 64:
        raise UsageError(BAD_SOURCE.format(slug=slug))
    source, _ = Source.objects.get_or_create(slug=slug.lower(), defaults={"name": slug})
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


def _profile_value(*, source: Source, name: str, clean: Any) -> Any:
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


def _with_profile(*, target: registry.Target, source: Source, given: dict[str, Any]) -> list[str]:
    """Fill in ``given`` the parameters the caller left out (None or empty)
    from the source's profile, each checked as a caller's would be; returns
    the names of those taken from it."""
    cleaners = {
        "format": lambda value: format_clean(format=value),
        "encoding": lambda value: encoding_clean(encoding=value),
        "delimiter": lambda value: delimiter_clean(delimiter=value),
        "sheet": lambda value: sheet_clean(sheet=value),
        "column_map": lambda value: _profile_column_map(target=target, value=value),
    }
    profile_used = []
    for name in PROFILE_PARAMETERS:
        if given[name]:
            continue
        value = _profile_value(source=source, name=name, clean=cleaners[name])
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
    run_create decides them (given, checked; else the source's profile's),
    without creating the source or the run: for the upload form, which
    looks at the file's header first. Keys: PROFILE_PARAMETERS."""
    target_spec = registry.get(target)
    given: dict[str, Any] = {
        "format": format_clean(format=format),
        "encoding": encoding_clean(encoding=encoding),
        "delimiter": delimiter_clean(delimiter=delimiter),
        "sheet": sheet_clean(sheet=sheet),
        "column_map": column_map_clean(target=target_spec, entries=column_map),
    }
    slug = (source or "").strip().lower()
    if (source_obj := Source.objects.filter(slug=slug).first()) is not None:
        _with_profile(target=target_spec, source=source_obj, given=given)
    return given


def _profile_column_map(*, target: registry.Target, value: Any) -> dict[str, str] | None:
    if value is not None and not isinstance(value, Mapping):  # a JSON column holds anything
        raise UsageError(errors.COLUMN_MAP_NOT_OBJECT)
    return column_map_clean(target=target, entries=value) or None


def sheet_clean(*, sheet: str | None) -> str | None:
    """An upload's sheet (a name, or a 0-based position), checked as the
    reader will read it: a NUL or an over-long name is the caller's
    mistake. Whether the workbook has that sheet is known only when the
    file is read (the run then fails, listing its sheets)."""
    try:
        cleaned = spreadsheets.sheet_argument(sheet)
    except errors.FileError as exc:
        raise UsageError(exc.message) from None
    return None if cleaned is None else str(cleaned)


def stored_file_name(original_filename: str) -> str:
    """A server-side name: never the client's, but keep a harmless extension."""
    extension = os.path.splitext(original_filename)[1].lower()
    if not _SAFE_EXTENSION.fullmatch(extension):
        extension = ""
    return f"{uuid.uuid4().hex}{extension}"


def _display_name(filename: str) -> str:
    """The client's file name, kept for display only: its last path part
    (/ or \\), without control characters (PostgreSQL refuses NUL; line
    breaks would forge log lines) or undecodable bytes of a CLI path, at
    most 255 characters."""
    name = re.split(r"[\\/]", filename)[-1].encode("utf-8", "replace").decode("utf-8")
    return _CONTROL_CHARACTERS.sub("", name)[:255]


def _hash_file(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def run_create(
    *,
    target: str,
    source: str,
    file: IO[bytes],
    filename: str,
    dry_run: bool = False,
    created_by: AbstractBaseUser | None = None,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    kind: str = ImportRun.Kind.UPLOAD,
    parent_run: ImportRun | None = None,
    extra_params: dict[str, Any] | None = None,
    column_map: Mapping[str, str] | Iterable[str] | None = None,
    remember: bool = False,
) -> ImportRun:
    """Store the file under a server-side name with its sha256 and create a
    queued run. A file over the size limit gives a failed run, nothing stored.
    A parameter the caller leaves out (None or empty) is taken from the
    source's profile, if it has one (``profile_used`` in the run's
    parameters); with ``remember`` the given ones are saved on the profile."""
    target_spec = registry.get(target)
    format = format_clean(format=format)
    column_map = column_map_clean(target=target_spec, entries=column_map)
    encoding = encoding_clean(encoding=encoding)
    sheet = sheet_clean(sheet=sheet)
    if remember:
        delimiter = delimiter_clean(delimiter=delimiter)
    source_obj = source_get_or_create(slug=source)
    given = {
        "format": format,
        "encoding": encoding,
        "delimiter": delimiter,
        "sheet": sheet,
        "column_map": column_map,
    }
    profile_used = _with_profile(target=target_spec, source=source_obj, given=given)
    if remember:  # after the profile's values were checked: a refused upload saves nothing
        source_profile_remember(
            source=source_obj,
            format=format,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            column_map=column_map,
        )
    format, encoding, delimiter, sheet = (
        given["format"],
        given["encoding"],
        given["delimiter"],
        given["sheet"],
    )
    column_map = given["column_map"] or {}
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    run = ImportRun(
        target=target_spec.name,
        source=source_obj,
        kind=kind,
        dry_run=dry_run,
        original_filename=_display_name(filename),
        file_size=size,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
        parent_run=parent_run,
        ingest_params_json={
            "target": target_spec.name,
            "source": source_obj.slug,
            "format": format or "",
            "encoding": encoding or "",
            "delimiter": delimiter or "",
            "sheet": sheet or "",
            "column_map": column_map,
            "ruleset_version": RULESET_VERSION,
            "survivorship_policy_version": survivorship.POLICY_VERSION,
            "code_version": settings.IMPORTER_CODE_VERSION,
            # The source's remembered replacements (dq value mappings), as of
            # now: a replay copies these parameters, so it applies the same.
            "value_mappings": value_mappings_for(source_id=source_obj.pk, target=target_spec.name),
            # The parameters above taken from the source's profile (the
            # caller gave none); a replay copies the values, not the profile.
            "profile_used": profile_used,
            **(extra_params or {}),
        },
    )
    if size > settings.IMPORTER_MAX_UPLOAD_BYTES:
        run.status = ImportRun.Status.FAILED
        run.error_message = errors.TOO_LARGE.format(
            size=size, limit=settings.IMPORTER_MAX_UPLOAD_BYTES
        )
        run.finished_at = timezone.now()
        run.save()
        run_finished(run=run)
        return run
    run.file_sha256 = _hash_file(file)
    run.ingest_params_json["file_sha256"] = run.file_sha256
    run.file.save(stored_file_name(filename), File(file), save=False)
    run.save()
    return run


QUEUE_DOWN = (
    "Run {run_id} stays queued: the queue is unreachable ({error}). "
    "A worker enqueues it again once the queue is back."
)


def run_enqueue(*, run: ImportRun) -> None:
    """Put the run on the imports queue once the surrounding transaction has
    committed (a worker must find the run). Without Redis the job runs
    in-process at that moment."""
    if run.status != ImportRun.Status.QUEUED:
        return

    def enqueue() -> None:
        job_id = _job_id(f"import-run-{run.pk}")
        metrics.observe_run_enqueued(
            run, job_id=job_id
        )  # before: in-process, the job runs right away
        try:
            run_enqueue_job(run.pk, job_id=job_id)
        except RedisError as exc:
            # The run and its file are committed: it stays queued, and a
            # worker's reconciler enqueues it again once Redis answers
            # (ingest/reconcile.py). The upload is not refused for it.
            logger.warning(QUEUE_DOWN.format(run_id=run.pk, error=exc))

    transaction.on_commit(enqueue)


def run_enqueue_job(run_id: int, *, job_id: str | None = None) -> None:
    """A new job for a run (also the reconciler's, for a lost one)."""
    job_id = job_id or _job_id(f"import-run-{run_id}")
    # Before the enqueue: the job may defer the run (job_id DEFERRED) before
    # this process gets to write anything after it.
    ImportRun.objects.filter(pk=run_id).update(job_id=job_id)
    try:
        get_queue().enqueue("ingest.jobs.execute_run", run_id, job_id=job_id)
    except RedisError:
        # No job was made: the run keeps no job id (the reconciler's sign of
        # a lost job), unless its job already changed it.
        ImportRun.objects.filter(pk=run_id, job_id=job_id).update(job_id="")
        raise


def partition_enqueue_job(run_id: int, index: int) -> None:
    """A job for one partition of a planned run (also the reconciler's)."""
    job = get_queue().enqueue(
        "ingest.jobs.execute_partition",
        run_id,
        index,
        job_id=_job_id(f"import-run-{run_id}-p{index}"),
    )
    RunPartition.objects.filter(run_id=run_id, index=index).update(job_id=job.id)


def _job_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def get_queue() -> Any:
    """The imports queue: RQ's with REDIS_URL, else this process's own
    (ingest/inprocess.py: a background thread in a web process, the caller
    elsewhere)."""
    if settings.IMPORTER_SYNC_JOBS:
        return inprocess.InProcessQueue()
    return django_rq.get_queue(QUEUE_NAME)


LEASE_BUSY = "busy"
LEASE_POLL_SECONDS = 0.5
# The job_id of a run whose job found its (source, target) busy and returned:
# the run stays queued, and whoever finishes the pair's running run enqueues
# it (run_enqueue_next), or the reconciler does should that be lost.
DEFERRED = "deferred"
# Deadlocks PostgreSQL broke up, or lost connections, in one partition, each
# retried from its checkpoint.
CHUNK_RETRIES = 8
CHUNK_RETRY_PAUSE_S = 0.1  # doubled at each retry, at most CHUNK_RETRY_PAUSE_MAX_S: 16 s in all
CHUNK_RETRY_PAUSE_MAX_S = 5.0


def run_start(*, run_id: int) -> ImportRun | None:
    """Claim a queued run for this worker (compare-and-set); None when it is
    no longer queued (cancelled, or taken by another worker) or while it
    must wait for its turn (another run of the same source and target is
    running, or an older one is queued)."""
    claimed = _claim(run_id)
    return claimed if isinstance(claimed, ImportRun) else None


def _pair_busy(run: ImportRun, *, in_order: bool = True) -> bool:
    """Another run of the run's (source, target) goes first: one is running,
    or (``in_order``) one created before it is still queued: runs of a pair
    that wait for workers run in creation order."""
    pair = ImportRun.objects.filter(source_id=run.source_id, target=run.target).exclude(pk=run.pk)
    ahead = Q(status=ImportRun.Status.RUNNING)
    if in_order:
        older = Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk)
        ahead |= Q(older, status=ImportRun.Status.QUEUED)
    return pair.filter(ahead).exists()


def _claim(run_id: int, *, defer: bool = False, in_order: bool = True) -> ImportRun | str | None:
    """The claim, under the (source, target) lease: two runs of one source
    into one target never run at once, and runs that wait for workers run
    in creation order, so the second of two identical uploads sees the
    first one's id map and skips every row (``in_order=False``: a caller
    running its own run waits for a running one only). With ``defer``, a run that must wait is marked DEFERRED
    under the lease, so the run_enqueue_next of the run it waits for (which
    takes the lease too) cannot miss it."""
    with transaction.atomic():
        run = (
            ImportRun.objects.filter(pk=run_id)
            .only("source_id", "target", "status", "created_at")
            .first()
        )
        if run is None or run.status != ImportRun.Status.QUEUED:
            return None  # cancelled (also while it waited), or taken
        locks.run_lease(run.source_id, run.target)
        now = timezone.now()
        if _pair_busy(run, in_order=in_order):
            if defer:
                ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
                    job_id=DEFERRED, heartbeat_at=now
                )
            return LEASE_BUSY
        claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
            status=ImportRun.Status.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    if not claimed:
        return None
    run = ImportRun.objects.select_related("source").get(pk=run_id)
    metrics.observe_run_started(run)
    return run


def _claim_when_free(run_id: int) -> ImportRun | None:
    """Wait for the run's turn: for ``--sync`` and in-process jobs (no
    Redis), where the waiting process is the run's own caller, not a worker
    other jobs need. It waits for a running run of the pair only, not for
    older queued ones: those may wait for a worker that is not there (or a
    caller that died), and this caller is running its run now. The wait
    beats the queued run's heartbeat (the reconciler leaves it alone) and
    reconciles now and then, so a dead holder cannot block it for ever; a
    cancel ends it."""
    from ingest import reconcile

    last_reconcile = time.monotonic()
    while (claimed := _claim(run_id, in_order=False)) == LEASE_BUSY:
        ImportRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
        if time.monotonic() - last_reconcile >= settings.IMPORTER_RECONCILE_SECONDS:
            reconcile.reconcile_runs()
            last_reconcile = time.monotonic()
        time.sleep(LEASE_POLL_SECONDS)
    return claimed


def run_enqueue_next(*, source_id: int, target: str) -> None:
    """After a run of (source, target) ended: when no run of the pair runs,
    enqueue the oldest queued one if it was deferred. Under the lease, so a
    job deferring a run at the same moment is seen (see _claim). A queued
    run that was not deferred has a job of its own, or a ``--sync`` caller
    waiting for it; a lost one is the reconciler's."""
    with transaction.atomic():
        locks.run_lease(source_id, target)
        pair = ImportRun.objects.filter(source_id=source_id, target=target)
        if pair.filter(status=ImportRun.Status.RUNNING).exists():
            return
        head = (
            pair.filter(status=ImportRun.Status.QUEUED)
            .order_by("created_at", "pk")
            .values_list("pk", "job_id")
            .first()
        )
        if head is None or head[1] != DEFERRED:
            return
        job_id = _job_id(f"import-run-{head[0]}")
        if not ImportRun.objects.filter(pk=head[0], job_id=DEFERRED).update(job_id=job_id):
            return

        def enqueue() -> None:
            try:
                get_queue().enqueue("ingest.jobs.execute_run", head[0], job_id=job_id)
            except RedisError as exc:
                logger.warning(QUEUE_DOWN.format(run_id=head[0], error=exc))

        transaction.on_commit(enqueue)


def run_execute(
    *, run_id: int, in_process: bool = False, progress: runner.Progress | None = None
) -> ImportRun | None:
    """Claim a run, check its file and split it into partition jobs; a
    single partition (small files, dry runs) runs right here. With
    ``in_process`` (``--sync``) every partition runs right here, one after
    the other, and the run is finished on return. Every outcome, including a
    crash, ends with the run in a finished state and its message kept; a dead
    worker's run is resumed by the reconciler. ``progress`` is told the rows
    of each chunk done here (``import_file --sync`` shows them)."""
    # Only a caller that runs its jobs itself may wait for its turn: the
    # worker thread, like an RQ worker, must never wait for jobs behind it.
    if in_process or inprocess.mode() == "sync":
        run = _claim_when_free(run_id)
    elif (run := _claim(run_id, defer=True)) == LEASE_BUSY:
        # Never hold a worker waiting for another job (the running run's
        # partition jobs may be behind this one on the queue).
        logger.info("run %s deferred: another run of its source and target goes first", run_id)
        return None
    if run is None:
        logger.info("run %s is not queued any more; nothing to do", run_id)
        return None
    try:
        with runner.Heartbeat(run_id=run.pk):
            reader = runner.run_reader(run)
            reader.close()
            runner.note_detected(run, reader)
    except ImporterError as exc:
        return run_mark_failed(run_id=run.pk, message=exc.message)
    except Exception as exc:
        logger.exception("run %s crashed", run.pk)
        return run_mark_failed(run_id=run.pk, message=CRASHED.format(error=type(exc).__name__))
    partitions = runner.plan_partitions(run)
    with transaction.atomic():
        RunPartition.objects.bulk_create(
            [
                RunPartition(run=run, index=index, heartbeat_at=timezone.now())
                for index in range(partitions)
            ],
            ignore_conflicts=True,
        )
        ImportRun.objects.filter(pk=run.pk).update(
            partitions=partitions, heartbeat_at=timezone.now()
        )
    if partitions == 1 or in_process:
        for index in range(partitions):
            run_execute_partition(run_id=run.pk, index=index, progress=progress)
        return ImportRun.objects.get(pk=run.pk)
    for index in range(partitions):
        transaction.on_commit(functools.partial(partition_enqueue_job, run.pk, index))
    return ImportRun.objects.get(pk=run.pk)


def run_execute_partition(
    *, run_id: int, index: int, progress: runner.Progress | None = None
) -> ImportRun | None:
    """Claim one partition of a running run (compare-and-set, so a job
    delivered twice runs once) and import it from its checkpoint; the last
    partition to finish finishes the run. None when there was nothing to do."""
    claimed = RunPartition.objects.filter(
        run_id=run_id,
        index=index,
        status=RunPartition.Status.PENDING,
        run__status=ImportRun.Status.RUNNING,
    ).update(
        status=RunPartition.Status.RUNNING, attempt=F("attempt") + 1, heartbeat_at=timezone.now()
    )
    if not claimed:
        logger.info("run %s partition %s is not pending; nothing to do", run_id, index)
        return None
    part = RunPartition.objects.get(run_id=run_id, index=index)
    run = ImportRun.objects.get(pk=run_id)
    with runner.Heartbeat(run_id=run.pk, partition_id=part.pk, attempt=part.attempt):
        for retry in itertools.count():
            try:
                if retry:
                    part.refresh_from_db()  # its checkpoint, as committed
                cancelled = runner.import_partition(run, part, progress=progress)
                break
            except (runner.LostLease, runner.RunStopped):
                logger.warning(
                    "run %s partition %s: taken over or stopped elsewhere", run_id, index
                )
                return None
            except ImporterError as exc:
                return run_mark_failed(run_id=run.pk, message=exc.message)
            except Exception as exc:
                if runner.is_retryable(exc) and retry < CHUNK_RETRIES:
                    logger.warning(
                        "run %s partition %s: %s; resuming from its checkpoint", run_id, index, exc
                    )
                    if runner.is_connection_lost(exc):
                        connection.close()  # the next query connects again
                    # Let the other partitions' chunks commit, or the database come back.
                    time.sleep(min(CHUNK_RETRY_PAUSE_S * 2**retry, CHUNK_RETRY_PAUSE_MAX_S))
                    continue
                logger.exception("run %s crashed", run.pk)
                return run_mark_failed(
                    run_id=run.pk, message=CRASHED.format(error=type(exc).__name__)
                )
    return _partition_done(run=run, part=part, cancelled=cancelled)


def _partition_done(*, run: ImportRun, part: RunPartition, cancelled: bool) -> ImportRun | None:
    """Count the partition done; the one that completes the count finishes
    the run (exactly once, whatever order partitions end in)."""
    with transaction.atomic():
        done = RunPartition.objects.filter(
            pk=part.pk, attempt=part.attempt, status=RunPartition.Status.RUNNING
        ).update(status=RunPartition.Status.DONE, finished_at=timezone.now())
        if not done:
            return None
        ImportRun.objects.filter(pk=run.pk).update(partitions_done=F("partitions_done") + 1)
        # The row is locked by the update above until commit: counts are exact.
        last = ImportRun.objects.filter(pk=run.pk, partitions_done__gte=F("partitions")).exists()
    if not last:
        return ImportRun.objects.get(pk=run.pk)
    return run_finish(run_id=run.pk)


def run_finish(*, run_id: int) -> ImportRun:
    """Move a run whose partitions are all done to its finished status."""
    run = ImportRun.objects.get(pk=run_id)
    runner.save_results(run)
    status = runner.finished_status(run)
    rows_total = run.inserted + run.updated + run.unchanged + run.skipped + run.quarantined
    finished = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING).update(
        status=status, rows_total=rows_total, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if finished:
        run_finished(run=run)
    return run


def run_finished(*, run: ImportRun) -> None:
    """Called exactly once, by whoever moved the run into a finished state:
    the one place for what follows a run (log line, metrics, remediation)."""
    metrics.observe_run_finished(run)
    if run.kind == ImportRun.Kind.REMEDIATION:
        quarantine.remediation_run_finished(run=run)
    run_enqueue_next(source_id=run.source_id, target=run.target)


def run_mark_failed(*, run_id: int, message: str) -> ImportRun:
    """Fail a run that is not finished yet (compare-and-set: once). Rows its
    chunks committed stay, and are counted; a replay completes the run."""
    marked = (
        ImportRun.objects.filter(pk=run_id)
        .exclude(status__in=ImportRun.FINISHED)
        .update(
            status=ImportRun.Status.FAILED,
            error_message=message,
            finished_at=timezone.now(),
            rows_total=F("inserted")
            + F("updated")
            + F("unchanged")
            + F("skipped")
            + F("quarantined"),
        )
    )
    run = ImportRun.objects.get(pk=run_id)
    if marked:
        try:
            runner.save_results(run)
        except Exception:  # the results file is a convenience; the failure must be recorded
            logger.exception("run %s: could not save the results of its committed rows", run_id)
        run_finished(run=run)
    return run


def run_cancel(*, run: ImportRun) -> ImportRun:
    """A queued run is cancelled at once; a running one stops cleanly after
    its current chunk (rows already committed stay)."""
    cancelled = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    if cancelled:
        run.refresh_from_db()
        run_finished(run=run)
        return run
    requested = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
        cancel_requested=True
    )
    run.refresh_from_db()
    if not requested:
        raise StateConflict(CANNOT_CANCEL.format(run_id=run.pk, status=run.status))
    return run


def run_replay(
    *,
    run: ImportRun,
    created_by: AbstractBaseUser | None = None,
    dry_run: bool | None = None,
    kind: str = ImportRun.Kind.REPLAY,
    enqueue: bool = True,
) -> ImportRun:
    """A new run of the same stored file with the same parameters. With
    ``enqueue=False`` the caller executes it (``replay_run --sync``)."""
    if not run.file:
        raise StateConflict(NO_FILE_TO_REPLAY.format(run_id=run.pk))
    params = {key: value for key, value in run.ingest_params_json.items() if key != "detected"}
    params["replay_of"] = run.pk
    params["code_version"] = settings.IMPORTER_CODE_VERSION
    replay = ImportRun.objects.create(
        target=run.target,
        source_id=run.source_id,
        kind=kind,
        dry_run=run.dry_run if dry_run is None else dry_run,
        file=run.file.name,
        original_filename=run.original_filename,
        file_size=run.file_size,
        file_sha256=run.file_sha256,
        ingest_params_json=params,
        parent_run=run,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    if enqueue:
        run_enqueue(run=replay)
    return replay


def run_for_real(*, run: ImportRun, created_by: AbstractBaseUser | None = None) -> ImportRun:
    """Enqueue the same stored file as a standard run after a dry run."""
    if not run.dry_run or run.status not in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL):
        raise StateConflict(NOT_DRY_RUN.format(run_id=run.pk))
    return run_replay(run=run, created_by=created_by, dry_run=False, kind=ImportRun.Kind.UPLOAD)
