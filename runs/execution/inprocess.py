"""Jobs without Redis (the embedded default, DESIGN "Embedded default").

With no REDIS_URL there is no RQ worker, so jobs run in this process, in one
of two ways (``settings.IMPORTER_JOBS``):

* ``"thread"``: a process that serves requests (runserver, gunicorn, the
  test live server) hands each job to one background worker thread, so an
  upload answers at once and never waits for its import. Any other process
  (a management command such as ``import_file`` or ``reconcile_runs``) runs
  the job right away in the caller, as it must finish before the process
  exits. A process counts as serving requests once Django's
  ``request_started`` has fired in it (see ``IngestConfig.ready``).
* ``"sync"``: every job runs right away in the caller (the tests' default).

Jobs are enqueued from ``transaction.on_commit`` (ingest/services.py), so the
thread only ever sees committed runs. The worker thread is a daemon: if the
process dies, a run it had not started stays queued and a run it was running
keeps a stale heartbeat; ``manage.py reconcile_runs`` enqueues or resumes
both (runs/execution/reconcile.py), as for a lost RQ job.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

MODES = ("rq", "thread", "sync")

# Set by the first request this process serves (IngestConfig.ready).
_serving = False
_lock = threading.Lock()
_jobs: queue.Queue[tuple[str, tuple[Any, ...], str | None]] = queue.Queue()
_worker: threading.Thread | None = None


@dataclass(frozen=True)
class Job:
    """What ``enqueue`` returns: the job's id, as an RQ job has."""

    id: str | None


def mark_serving(**_: Any) -> None:
    """``request_started`` receiver: this process serves requests."""
    global _serving
    _serving = True


def mode() -> str:
    """How jobs run in this process now: "rq", "thread" or "sync"."""
    if not settings.IMPORTER_SYNC_JOBS:
        return "rq"
    if settings.IMPORTER_JOBS == "thread" and _serving:
        return "thread"
    return "sync"


class InProcessQueue:
    """The part of an RQ queue the services use (``enqueue``), for jobs run
    in this process: on the worker thread, or at once in the caller."""

    def enqueue(self, func: str, *args: Any, job_id: str | None = None, **_: Any) -> Job:
        if mode() == "thread":
            _ensure_worker()
            _jobs.put((func, args, job_id))
        else:
            _perform(func, args, job_id)
        return Job(id=job_id)


def _perform(func: str, args: tuple[Any, ...], job_id: str | None) -> None:
    """Run one job. A raising job is logged, as an RQ worker would keep it
    failed; it never stops the caller or the worker thread (the jobs mark
    their run failed themselves, runs/execution/jobs.py). As RQ's synchronous queue
    did, anything but an interrupt or exit counts as the job failing."""
    try:
        import_string(func)(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        logger.exception("in-process job %s %s%r failed", job_id or "", func, args)


def _ensure_worker() -> None:
    """Start the worker thread on the first enqueue (once per process)."""
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="importer-jobs", daemon=True)
            _worker.start()


def _work() -> None:
    """The worker thread: one job at a time, in the order enqueued. Its
    database connections are its own (Django's are per thread) and closed
    after each job, so none is left open, or broken, between jobs."""
    while True:
        func, args, job_id = _jobs.get()
        try:
            _perform(func, args, job_id)
        finally:
            connections.close_all()
            _jobs.task_done()
