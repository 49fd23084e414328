"""Writes around import runs: create, enqueue, finish, fail, cancel, replay.
Admin, API, CLI and jobs call these; they never re-implement them. Running
a run (claiming it, its partitions, retries, the reconciler) is
runs/execution/."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from dq.mappings import value_mappings_for
from ingest import errors, registry, survivorship
from ingest.errors import StateConflict
from ingest.services import (
    RULESET_VERSION,
    column_map_clean,
    delimiter_clean,
    encoding_clean,
    format_clean,
    sheet_clean,
    source_get_or_create,
    source_profile_remember,
    with_profile,
)
from runs import metrics
from runs.execution import leases, queue, results
from runs.models import ImportRun
from runs.signals import run_finished as run_finished_signal

logger = logging.getLogger(__name__)

CANNOT_CANCEL = "Run {run_id} is {status}; only queued or running runs can be cancelled."
NOT_DRY_RUN = "Run {run_id} is not a finished dry run."
NO_FILE_TO_REPLAY = "Run {run_id} has no stored file to replay."

_SAFE_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


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
    created_by: User | AnonymousUser | None = None,
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
    delimiter = delimiter_clean(delimiter=delimiter)
    sheet = sheet_clean(sheet=sheet)
    source_obj = source_get_or_create(slug=source)
    given: dict[str, Any] = {
        "format": format,
        "encoding": encoding,
        "delimiter": delimiter,
        "sheet": sheet,
        "column_map": column_map,
    }
    profile_used = with_profile(target=target_spec, source=source_obj, given=given)
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


def run_enqueue(*, run: ImportRun) -> None:
    """Put the run on the imports queue once the surrounding transaction has
    committed (a worker must find the run). Without Redis the job runs
    in-process at that moment."""
    if run.status != ImportRun.Status.QUEUED:
        return

    def enqueue() -> None:
        job_id = queue.new_job_id(f"import-run-{run.pk}")
        metrics.observe_run_enqueued(
            run, job_id=job_id
        )  # before: in-process, the job runs right away
        try:
            queue.run_enqueue_job(run.pk, job_id=job_id)
        except RedisError as exc:
            # The run and its file are committed: it stays queued, and a
            # worker's reconciler enqueues it again once Redis answers
            # (runs/execution/reconcile.py). The upload is not refused for it.
            logger.warning(queue.QUEUE_DOWN.format(run_id=run.pk, error=exc))

    transaction.on_commit(enqueue)


def run_finish(*, run_id: int) -> ImportRun:
    """Move a run whose partitions are all done to its finished status."""
    run = ImportRun.objects.get(pk=run_id)
    results.save_results(run)
    status = results.finished_status(run)
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
    the one place for what follows a run: its log line and metrics, the
    ``runs.signals.run_finished`` signal (dq releases what a remediation run
    did not reach), and the next deferred run of its source and target."""
    metrics.observe_run_finished(run)
    run_finished_signal.send(sender=ImportRun, run=run)
    leases.run_enqueue_next(source_id=run.source_id, target=run.target)


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
            results.save_results(run)
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
    created_by: User | AnonymousUser | None = None,
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


def run_for_real(*, run: ImportRun, created_by: User | AnonymousUser | None = None) -> ImportRun:
    """Enqueue the same stored file as a standard run after a dry run."""
    if not run.dry_run or run.status not in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL):
        raise StateConflict(NOT_DRY_RUN.format(run_id=run.pk))
    return run_replay(run=run, created_by=created_by, dry_run=False, kind=ImportRun.Kind.UPLOAD)
