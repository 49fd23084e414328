"""Crash safety in one process: a run killed between chunks is resumed by
the reconciler from its checkpoint and ends exactly like a clean run; a
worker given up for dead cannot commit; a run that cannot be resumed is
failed and a replay completes it. The kill is simulated here (an exception
no handler catches, like SIGKILL stops everything); tests/reliability/
test_chaos.py kills real workers."""

import contextlib
import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from core.models import Organization
from ingest import pipeline
from runs import services
from runs.execution import leases, reconcile
from runs.execution import partitions as runner
from runs.execution import runner as run_runner
from runs.models import ImportRun, RunPartition
from tests.importing import create_run
from tests.reliability.helpers import core_checksum, counters, wipe_imports

pytestmark = pytest.mark.django_db(transaction=True)


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the import catches it."""


def org_file() -> bytes:
    """Rows with what a resume must get right across a checkpoint: exact
    repeats (skipped), the same id with other values (duplicate_in_file),
    invalid rows, and the same natural key under two external ids."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "name", "country", "registration_number", "employees"])
    for i in range(1, 31):
        writer.writerow([f"E-{i}", f"Firm {i}", "DE", f"HRB {1000 + i}", i])
    writer.writerow(["E-3", "Firm 3", "DE", "HRB 1003", 3])  # exact repeat: skipped
    writer.writerow(["E-5", "Other name", "DE", "HRB 1005", 5])  # duplicate_in_file
    writer.writerow(["E-99", "Twin of 7", "DE", "HRB 1007", 7])  # same natural key as E-7
    writer.writerow(["E-100", "", "XX", "", -1])  # invalid
    writer.writerow(["E-1", "Firm 1", "DE", "HRB 1001", 1])  # exact repeat of the first row
    writer.writerow(["E-12", "Firm 12 renamed", "DE", "HRB 1012", 12])  # duplicate_in_file, late
    return out.getvalue().encode()


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.IMPORTER_CHUNK_SIZE = 4
    settings.IMPORTER_SYNC_JOBS = True
    settings.IMPORTER_MAX_ATTEMPTS = 3


def partitioned(settings, partitions: int) -> None:
    settings.IMPORTER_PARTITIONS = partitions
    settings.IMPORTER_PARTITION_MIN_BYTES = 0 if partitions > 1 else 1 << 40


def kill_after(monkeypatch, chunks: int) -> None:
    """The worker dies while writing its chunks+1-th chunk."""
    real = pipeline.ChunkProcessor.process
    written = {"chunks": 0}

    def process(self, rows, write=True, **options):
        if write:
            written["chunks"] += 1
            if written["chunks"] > chunks:
                raise Killed
        return real(self, rows, write=write, **options)

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", process)


def worker_back(monkeypatch, settings) -> None:
    """The kill is over: the import runs as it would on a worker that lives,
    with the test's settings (those of ``small_chunks``)."""
    monkeypatch.undo()
    settings.IMPORTER_CHUNK_SIZE = 4
    settings.IMPORTER_SYNC_JOBS = True


def silence_heartbeats(run_id: int) -> None:
    """Let time pass: the dead worker's heartbeats are over a minute old."""
    old = timezone.now() - dt.timedelta(minutes=10)
    ImportRun.objects.filter(pk=run_id).update(heartbeat_at=old)
    RunPartition.objects.filter(run_id=run_id).update(heartbeat_at=old)


def ledger_lines(run: ImportRun) -> list[list[str]]:
    """The results file without record ids (they differ between databases)."""
    with run.results_file.open("r") as handle:
        text = handle.read()
    text = text.decode() if isinstance(text, bytes) else text
    lines = list(csv.reader(io.StringIO(text)))
    at = lines[0].index("record_id")
    return [line[:at] + line[at + 1 :] for line in lines]


def clean_run(settings, partitions: int = 1):
    partitioned(settings, partitions)
    run = run_runner.run_execute(run_id=create_run(org_file()).pk)
    run = ImportRun.objects.get(pk=run.pk)
    assert run.status == ImportRun.Status.PARTIAL, run.error_message
    result = core_checksum(), counters(run), ledger_lines(run)
    wipe_imports()
    return result


@pytest.mark.parametrize("partitions", [1, 3])
@pytest.mark.parametrize("kill_after_chunks", [0, 1, 3])
def test_a_killed_run_resumes_from_its_checkpoint_and_equals_a_clean_run(
    settings, monkeypatch, partitions, kill_after_chunks
):
    expected = clean_run(settings, partitions)
    partitioned(settings, partitions)
    run = create_run(org_file())
    kill_after(monkeypatch, kill_after_chunks)
    # Partition jobs run through RQ's in-process queue, which catches even
    # this; a single partition runs inside run_execute.
    with contextlib.suppress(Killed):
        run_runner.run_execute(run_id=run.pk)
    worker_back(monkeypatch, settings)
    partitioned(settings, partitions)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING
    if partitions == 1:
        assert run.rows_processed == 4 * kill_after_chunks

    assert not reconcile.reconcile_runs()  # heartbeats are fresh: the worker may be alive
    silence_heartbeats(run.pk)
    report = reconcile.reconcile_runs()  # without Redis, a resumed partition runs right here
    assert report.resumed_partitions or report.reenqueued_jobs

    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL
    assert (core_checksum(), counters(run), ledger_lines(run)) == expected
    assert run.rows_processed == run.rows_total == 36
    assert run.partitions_done == run.partitions == partitions


def test_run_finished_is_called_exactly_once_per_run_also_with_partitions(settings, monkeypatch):
    partitioned(settings, 3)
    calls = []
    real = services.run_finished
    monkeypatch.setattr(
        services, "run_finished", lambda *, run: calls.append(run.pk) or real(run=run)
    )
    run = create_run(org_file())
    run_runner.run_execute(run_id=run.pk)
    assert calls == [run.pk]
    assert RunPartition.objects.filter(run=run, status=RunPartition.Status.DONE).count() == 3


def test_the_same_external_id_keeps_file_order_whatever_the_partitions(settings):
    partitioned(settings, 4)
    content = b"external_id,name,country\n" + b"".join(
        f"X-{i % 3},Name {i},DE\n".encode() for i in range(40)
    )
    # Every row of an id after its first has other values: duplicate_in_file,
    # found only if all of that id's rows meet in one partition, in order.
    run = run_runner.run_execute(run_id=create_run(content).pk)
    run.refresh_from_db()
    assert (run.inserted, run.quarantined) == (3, 37)
    assert sorted(Organization.objects.values_list("name", flat=True)) == [
        "Name 0",
        "Name 1",
        "Name 2",
    ]


def test_a_worker_given_up_for_dead_cannot_commit_another_chunk(monkeypatch):
    run = create_run(org_file())
    real = pipeline.ChunkProcessor.process
    seen = {"chunks": 0}

    def process(self, rows, write=True, **options):
        seen["chunks"] += 1
        if seen["chunks"] == 2:  # meanwhile the reconciler gave the partition to another worker
            RunPartition.objects.filter(run=run).update(attempt=99)
        return real(self, rows, write=write, **options)

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", process)
    assert run_runner.run_execute(run_id=run.pk).status == ImportRun.Status.RUNNING
    run.refresh_from_db()
    assert run.rows_processed == 4  # the second chunk rolled back
    assert Organization.objects.count() == 4


def test_a_run_that_keeps_dying_is_failed_and_a_replay_completes_it(settings, monkeypatch):
    expected_checksum, _, _ = clean_run(settings)
    run = create_run(org_file())
    kill_after(monkeypatch, 2)
    with pytest.raises(Killed):
        run_runner.run_execute(run_id=run.pk)
    for _ in range(settings.IMPORTER_MAX_ATTEMPTS - 1):
        silence_heartbeats(run.pk)
        assert reconcile.reconcile_runs().resumed_partitions  # resumed, and killed again at once
    silence_heartbeats(run.pk)
    report = reconcile.reconcile_runs()
    assert report.failed_runs == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.error_message.startswith("The worker died")
    assert run.rows_total == run.rows_processed == 8  # what it committed, counted
    worker_back(monkeypatch, settings)
    replay = services.run_replay(run=run)
    replay = run_runner.run_execute(run_id=replay.pk) or ImportRun.objects.get(pk=replay.pk)
    replay.refresh_from_db()
    assert replay.status == ImportRun.Status.PARTIAL
    assert core_checksum() == expected_checksum


def test_a_run_that_died_while_being_planned_is_queued_again(settings, monkeypatch):
    run = create_run(org_file())
    monkeypatch.setattr(runner, "plan_partitions", lambda run: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        run_runner.run_execute(run_id=run.pk)
    worker_back(monkeypatch, settings)
    run.refresh_from_db()
    assert (run.status, run.partitions, run.attempts) == (ImportRun.Status.RUNNING, 0, 1)
    silence_heartbeats(run.pk)
    assert reconcile.reconcile_runs().requeued_runs == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.attempts, run.inserted) == (ImportRun.Status.PARTIAL, 2, 30)


def test_a_queued_run_whose_job_was_lost_is_enqueued_again():
    run = create_run(org_file())  # created, but its enqueue never happened
    ImportRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    report = reconcile.reconcile_runs()
    assert report.reenqueued_jobs
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL


def test_runs_of_one_source_and_target_are_claimed_one_at_a_time():
    first, second = create_run(org_file()), create_run(org_file())
    other_source = create_run(org_file(), source="erp")
    assert leases.run_start(run_id=first.pk) is not None
    assert leases.run_start(run_id=second.pk) is None  # busy: waits for the first
    assert leases.run_start(run_id=other_source.pk) is not None
    second.refresh_from_db()
    assert second.status == ImportRun.Status.QUEUED


def test_reconcile_runs_command_reports_what_it_did(capsys):
    from django.core.management import call_command

    call_command("reconcile_runs", "--json")
    assert capsys.readouterr().out.strip() == (
        '{"resumed_partitions": [], "requeued_runs": [], "reenqueued_jobs": [], "failed_runs": []}'
    )


@pytest.mark.parametrize("kill_after_chunks", [0, 2])
def test_a_dry_run_killed_midway_starts_again_and_equals_a_clean_dry_run(
    settings, monkeypatch, kill_after_chunks
):
    """A dry run is one transaction, rolled back: killed, nothing of it
    stayed (no core rows, no violations, no results), and the resumed job
    runs it again from the first row."""
    from dq.models import Violation

    partitioned(settings, 1)
    clean = run_runner.run_execute(run_id=create_run(org_file(), dry_run=True).pk)
    clean = ImportRun.objects.get(pk=clean.pk)
    expected = counters(clean), ledger_lines(clean), Violation.objects.filter(run=clean).count()
    wipe_imports()

    run = create_run(org_file(), dry_run=True)
    kill_after(monkeypatch, kill_after_chunks)
    with pytest.raises(Killed):
        run_runner.run_execute(run_id=run.pk)
    worker_back(monkeypatch, settings)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING and run.rows_processed == 0
    assert not Violation.objects.filter(run=run).exists()

    silence_heartbeats(run.pk)
    assert reconcile.reconcile_runs().resumed_partitions
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PARTIAL
    assert (counters(run), ledger_lines(run), Violation.objects.filter(run=run).count()) == expected
    assert Organization.objects.count() == 0
