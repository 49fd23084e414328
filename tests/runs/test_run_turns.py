"""Whose turn it is among runs of one (source, target): one at a time, in
creation order; a job that must wait defers its run and returns, and the end
of the run before it enqueues it. In-process jobs (``IMPORTER_SYNC_JOBS``);
tests/reliability/test_worker_stalls.py runs the same with real workers."""

import datetime as dt

import pytest
from django.utils import timezone

from runs import services
from runs.execution import leases, reconcile, runner
from runs.models import ImportRun
from tests.importing import create_run

pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"external_id,name,country\nT-1,Turn 1,DE\nT-2,Turn 2,DE\n"


@pytest.fixture(autouse=True)
def in_process_jobs(settings):
    settings.IMPORTER_SYNC_JOBS = True


def defer(settings, run: ImportRun) -> None:
    """What a worker's job does with a run whose turn it is not."""
    settings.IMPORTER_SYNC_JOBS = False  # a worker's job: it defers instead of waiting
    assert runner.run_execute(run_id=run.pk) is None
    settings.IMPORTER_SYNC_JOBS = True
    run.refresh_from_db()
    assert (run.status, run.job_id) == (ImportRun.Status.QUEUED, leases.DEFERRED)


def test_runs_of_one_source_and_target_are_claimed_in_creation_order():
    older, newer, other_source = (
        create_run(CSV),
        create_run(CSV),
        create_run(CSV, source="erp"),
    )
    assert leases.run_start(run_id=newer.pk) is None  # the older one is still queued
    assert leases.run_start(run_id=other_source.pk) is not None
    assert leases.run_start(run_id=older.pk) is not None
    assert leases.run_start(run_id=newer.pk) is None  # the older one runs


def test_a_deferred_run_is_enqueued_when_the_run_before_it_ends(settings):
    holder, deferred, fresh = (
        create_run(CSV),
        create_run(CSV),
        create_run(CSV),
    )
    assert leases.run_start(run_id=holder.pk) is not None
    defer(settings, deferred)
    services.run_mark_failed(run_id=holder.pk, message="stopped by the test")
    deferred.refresh_from_db()
    assert deferred.status == ImportRun.Status.SUCCEEDED  # enqueued, so run here (in-process jobs)
    assert deferred.started_at >= ImportRun.objects.get(pk=holder.pk).finished_at
    fresh.refresh_from_db()
    assert (
        fresh.status == ImportRun.Status.QUEUED
    )  # not deferred: it has a job (or a --sync caller) of its own


def test_a_run_cancelled_while_it_waits_for_its_turn_stops_waiting(monkeypatch):
    """``--sync`` and in-process jobs wait for their turn in their own
    process; a cancel ends the wait."""
    holder, waiting = create_run(CSV), create_run(CSV)
    assert leases.run_start(run_id=holder.pk) is not None
    services.run_cancel(run=waiting)
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) > 20:
            raise AssertionError("still waiting for a run that was cancelled")

    monkeypatch.setattr(runner.time, "sleep", sleep)
    assert runner.run_execute(run_id=waiting.pk, in_process=True) is None


def test_the_reconciler_enqueues_a_deferred_run_only_when_it_is_its_turn(settings):
    """The safety net for a lost hand-over: the first deferred run of the
    pair is enqueued again; the one behind it is left to the hand-over."""
    holder, first, second = (
        create_run(CSV),
        create_run(CSV),
        create_run(CSV),
    )
    assert leases.run_start(run_id=holder.pk) is not None
    defer(settings, first)
    defer(settings, second)
    long_ago = timezone.now() - dt.timedelta(minutes=10)
    ImportRun.objects.filter(pk=holder.pk).update(
        status=ImportRun.Status.CANCELLED
    )  # ended, hand-over lost
    ImportRun.objects.filter(pk__in=[first.pk, second.pk]).update(
        created_at=long_ago, heartbeat_at=long_ago
    )
    ImportRun.objects.filter(pk=second.pk).update(created_at=long_ago + dt.timedelta(seconds=1))

    report = reconcile.reconcile_runs()
    assert report.reenqueued_jobs == [leases.DEFERRED]  # the first; it ran here and handed over
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == ImportRun.Status.SUCCEEDED
    assert second.started_at >= first.finished_at


def test_a_sync_import_does_not_wait_behind_an_older_run_nobody_runs(monkeypatch):
    """``--sync`` runs its run now: an older queued run of the pair (its job
    lost, no worker running, or a ``--sync`` caller that died) must not hold
    it back for ever; only a running one would."""
    stale, mine = create_run(CSV), create_run(CSV)

    def sleep(seconds):
        raise AssertionError("waited behind a queued run that nobody runs")

    monkeypatch.setattr(runner.time, "sleep", sleep)
    assert runner.run_execute(run_id=mine.pk, in_process=True).status == ImportRun.Status.SUCCEEDED
    stale.refresh_from_db()
    assert stale.status == ImportRun.Status.QUEUED
