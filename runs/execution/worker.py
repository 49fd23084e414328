"""The RQ worker class for import jobs (settings.RQ["WORKER_CLASS"])."""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.db import connections
from rq.exceptions import StopRequested
from rq.worker import Worker

from runs.execution import reconcile
from runs.metrics_archive import fold_dead_process

logger = logging.getLogger(__name__)


class ImportWorker(Worker):
    """An RQ worker that also keeps import runs on track: it runs the
    reconciler (runs/execution/reconcile.py) when it starts and every
    IMPORTER_RECONCILE_SECONDS after, idle or busy, so a run whose worker
    died is resumed within IMPORTER_STALE_SECONDS + IMPORTER_RECONCILE_SECONDS
    as long as any worker lives; when only its work horse died, at once.

    It overrides as few of RQ's methods as it can, each calling RQ's own:

    - ``bootstrap``: reconcile once at start (runs left by a dead worker).
    - ``dequeue_timeout`` and ``heartbeat``: RQ's hooks while idle and while
      it watches a work horse; the reconciler runs from them on time.
    - ``handle_work_horse_killed``: RQ's hook for a horse that died; its
      partition is handed back at once instead of after the stale timeout.
    - ``fork_work_horse``: closes the parent's database connections first,
      so a forked child never shares the parent's database socket.
    - ``monitor_work_horse``: once RQ waited for a horse, its metric files
      are folded into the archive (a horse ends with os._exit); otherwise
      every job would leave a set of files behind for every scrape to read.
    - ``teardown``: the worker folds its own metric files (a worker of
      ``rqworker-pool`` ends with os._exit too, so no atexit handler runs).

    Everything else (dequeueing, job execution, results, shutdown on SIGTERM)
    is RQ's, unchanged."""

    _reconciled_at = float("-inf")
    _parent_pid: int | None = None

    def bootstrap(self, *args, **kwargs):
        super().bootstrap(*args, **kwargs)
        self._parent_pid = os.getpid()
        self.reconcile()

    @property
    def dequeue_timeout(self) -> int:
        """Wake up while idle often enough to reconcile on time."""
        return max(1, min(super().dequeue_timeout, settings.IMPORTER_RECONCILE_SECONDS))

    def heartbeat(self, *args, **kwargs):
        """RQ calls this while idle and while it watches a work horse."""
        super().heartbeat(*args, **kwargs)
        if time.monotonic() - self._reconciled_at >= settings.IMPORTER_RECONCILE_SECONDS:
            self.reconcile()

    def reconcile(self) -> None:
        if os.getpid() != self._parent_pid:
            return  # never from a work horse: its job is its business
        self._reconciled_at = time.monotonic()
        try:
            reconcile.reconcile_runs()
        except StopRequested:
            # SIGTERM while idle: RQ's handler raises this wherever the worker
            # is, here too; swallowed, the worker would run on until killed.
            raise
        except Exception:  # a failed pass must not kill the worker; the next one retries
            logger.exception("reconciling runs failed")

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        """RQ saw the work horse end without finishing its job (SIGKILL, the
        OOM killer, a segfault, the job timeout): hand its partition back
        now; waiting IMPORTER_STALE_SECONDS for its heartbeat to go stale
        would only lose time, since this worker knows it is dead."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        try:
            reconcile.reconcile_dead_job(
                job_id=job.id, func_name=job.func_name, args=tuple(job.args)
            )
        except Exception:  # the reconciler's stale path is still there
            logger.exception("handing back the job of a dead work horse failed")

    def fork_work_horse(self, job, queue):
        connections.close_all()
        return super().fork_work_horse(job, queue)

    def monitor_work_horse(self, job, queue, execution):
        """The horse has ended once this returns (RQ waited for it): fold its
        metric files into the archive (runs.scrape), or every
        job would leave a set of files behind. A horse exits with os._exit,
        so it cannot do it itself."""
        horse_pid = self.horse_pid
        super().monitor_work_horse(job, queue, execution)
        fold_dead_process(horse_pid)

    def teardown(self):
        """The end of work(): fold this worker's own files. A worker of
        `rqworker-pool` exits with os._exit, so no atexit handler runs."""
        super().teardown()
        fold_dead_process(os.getpid())
