"""The worker's own reconciler pass must not swallow a shutdown request."""

import os

import pytest
from rq.exceptions import StopRequested

from runs.execution import reconcile
from runs.execution.worker import ImportWorker


def idle_worker() -> ImportWorker:
    worker = ImportWorker.__new__(ImportWorker)  # no Redis needed for reconcile()
    worker._parent_pid = os.getpid()
    return worker


def test_a_sigterm_during_the_reconciler_pass_stops_the_worker(monkeypatch):
    """RQ's SIGTERM handler raises StopRequested (an Exception) wherever an
    idle worker is; inside the reconciler's guard it used to be logged as a
    failed pass, and the worker ran on until it was killed."""

    def interrupted():
        raise StopRequested

    monkeypatch.setattr(reconcile, "reconcile_runs", interrupted)
    with pytest.raises(StopRequested):
        idle_worker().reconcile()


def test_a_failed_reconciler_pass_is_logged_and_the_worker_goes_on(monkeypatch, caplog):
    def broken():
        raise RuntimeError("database away")

    monkeypatch.setattr(reconcile, "reconcile_runs", broken)
    idle_worker().reconcile()
    assert "reconciling runs failed" in caplog.text
