"""Retention of a run's stored files: the uploaded file (every row's values)
and the results file (a dry run's would-be records). Both can hold personal
data, so they are deleted once the run is older than the retention
(``IMPORTER_RETAIN_UPLOADS_DAYS``, ``IMPORTER_RETAIN_RESULTS_DAYS``);
``manage.py purge_personal_data`` calls these from cron.

The run itself stays, with its counters, name, size and sha256 of the file:
only the field that pointed at the file is emptied, so the admin and the API
show the run as before and a replay answers ``NO_FILE_TO_REPLAY``.

A replay shares its parent's stored file (same name): a file is deleted only
when every run that points at it is finished and past the retention, so a
queued, running or recent run never loses its file. Files go through the
field's storage (local disk or S3 alike). The file is deleted before the
run forgets it: a crash in between leaves a run pointing at nothing, which
the next purge clears, so a purge never leaves a file nobody can find.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import cast

from django.db.models import FileField, Q
from django.utils import timezone

from ingest.errors import UsageError
from runs.models import ImportRun

logger = logging.getLogger(__name__)

BAD_RETENTION = "The retention must be a number of days of 0 or more, got {days}."
RETENTION_TOO_LONG = (
    "The retention of {days} days reaches back before the year 1; give at most {limit} days."
)
UPLOADS, RESULTS = "uploads", "results"
_FIELDS = {UPLOADS: "file", RESULTS: "results_file"}
BATCH = 500


@dataclass
class FilesPurged:
    """What a purge of one kind of file removed (or, in a dry run, would remove)."""

    kind: str
    days: int
    runs: int = 0  # runs that no longer point at a file
    files: int = 0  # distinct stored files deleted
    bytes: int = 0
    kept: int = 0  # old files kept: a queued, running or recent run shares them
    failed: int = 0  # files the storage refused to delete (left as they were)


def retention_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime:
    """What is older than this is past a retention of ``days``: the one check
    of a retention every purge uses (a negative one, or one reaching back
    before the year 1, is a usage error, never an OverflowError)."""
    if days < 0:
        raise UsageError(BAD_RETENTION.format(days=days))
    now = now or timezone.now()
    try:
        return now - dt.timedelta(days=days)
    except OverflowError:
        limit = (now - dt.datetime.min.replace(tzinfo=now.tzinfo)).days
        raise UsageError(RETENTION_TOO_LONG.format(days=days, limit=limit)) from None


def _expired(cutoff: dt.datetime) -> Q:
    """Finished before the cutoff (a run cancelled while queued may have no finish time)."""
    return Q(status__in=ImportRun.FINISHED) & (
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)
    )


def run_files_purge(
    *, kind: str, older_than_days: int, dry_run: bool = False, now: dt.datetime | None = None
) -> FilesPurged:
    """Delete the stored files of ``kind`` (``uploads`` or ``results``) of runs
    finished more than ``older_than_days`` ago and empty the runs' field.
    Idempotent: a second call finds nothing left to do."""
    field = _FIELDS[kind]
    cutoff = retention_cutoff(days=older_than_days, now=now)
    expired = _expired(cutoff)
    storage = cast(FileField, ImportRun._meta.get_field(field)).storage
    result = FilesPurged(kind=kind, days=older_than_days)
    candidates = ImportRun.objects.filter(expired).exclude(**{field: ""})
    last = ""
    while True:
        # Keyset pages over the names: rows emptied on the way never shift them.
        names = list(
            candidates.filter(**{f"{field}__gt": last})
            .order_by(field)
            .values_list(field, flat=True)
            .distinct()[:BATCH]
        )
        if not names:
            return result
        last = names[-1]
        in_use = set(
            ImportRun.objects.filter(**{f"{field}__in": names})
            .exclude(expired)
            .values_list(field, flat=True)
        )
        result.kept += len(in_use)
        deleted = []
        for name in names:
            if name in in_use:
                continue
            exists = storage.exists(name)
            size = storage.size(name) if exists else 0
            if exists and not dry_run:
                try:
                    storage.delete(name)
                except OSError as exc:
                    result.failed += 1
                    logger.error("could not delete %s %s: %s", kind, name, type(exc).__name__)
                    continue
            deleted.append(name)
            result.files += int(exists)
            result.bytes += size
        if deleted:
            runs = candidates.filter(**{f"{field}__in": deleted})
            result.runs += runs.count() if dry_run else runs.update(**{field: ""})
