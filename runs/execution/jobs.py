"""RQ jobs: take ids (the database holds everything else), call one service.

A job never raises into RQ: RQ keeps a raised exception's traceback, with
its message, in the job's result (``rq:results:<job id>``), and a message
may quote a row's values or the database's address. What the services do
not turn into a failed run themselves (the database gone for longer than
the chunk retries, even while the run is claimed or marked failed) is
logged with its type and stack only, and the job ends normally: the run or
partition is left as it stands, and the reconciler resumes it (a stale
heartbeat, or a pending partition whose job is gone) once the database is
back.
"""

from __future__ import annotations

import logging

from runs.execution import runner

logger = logging.getLogger(__name__)


def execute_run(run_id: int) -> str | None:
    try:
        run = runner.run_execute(run_id=run_id)
    except Exception:
        logger.exception("run %s: the job stopped; the reconciler resumes the run", run_id)
        return None
    return run.status if run is not None else None


def execute_partition(run_id: int, index: int) -> str | None:
    try:
        run = runner.run_execute_partition(run_id=run_id, index=index)
    except Exception:
        logger.exception(
            "run %s partition %s: the job stopped; the reconciler resumes it", run_id, index
        )
        return None
    return run.status if run is not None else None
