import pytest

from core.models import Organization
from ingest import pipeline
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import create_run

CSV = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,FR\n"


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_run_with_its_message_and_never_leaves_it_running(
    monkeypatch,
):
    def explode(self, rows, write=True, **options):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", explode)
    run = runner.run_execute(run_id=create_run(CSV).pk)
    assert run.status == ImportRun.Status.FAILED
    assert run.error_message == runner.CRASHED.format(error="RuntimeError")
    assert run.finished_at is not None
    assert Organization.objects.count() == 0


@pytest.mark.django_db
def test_a_run_is_executed_once_even_if_its_job_comes_twice():
    run = create_run(CSV)
    assert runner.run_execute(run_id=run.pk).status == ImportRun.Status.SUCCEEDED
    assert runner.run_execute(run_id=run.pk) is None
    assert Organization.objects.count() == 2


@pytest.mark.django_db
def test_a_cancelled_queued_run_is_not_executed():
    run = services.run_cancel(run=create_run(CSV))
    assert run.status == ImportRun.Status.CANCELLED
    assert runner.run_execute(run_id=run.pk) is None
    assert Organization.objects.count() == 0


@pytest.mark.django_db
def test_a_cancel_requested_while_running_stops_between_chunks(settings):
    settings.IMPORTER_CHUNK_SIZE = 1
    run = create_run(CSV)
    ImportRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    run = runner.run_execute(run_id=run.pk)
    assert run.status == ImportRun.Status.CANCELLED
    assert Organization.objects.count() == 0


@pytest.mark.django_db
def test_replay_of_an_unchanged_state_changes_nothing():
    first = runner.run_execute(run_id=create_run(CSV).pk)
    replay = services.run_replay(run=first)
    replay = runner.run_execute(run_id=replay.pk) or ImportRun.objects.get(pk=replay.pk)
    assert replay.kind == ImportRun.Kind.REPLAY and replay.parent_run_id == first.pk
    assert (replay.status, replay.skipped, replay.inserted) == (ImportRun.Status.SUCCEEDED, 2, 0)
    assert replay.ingest_params_json["replay_of"] == first.pk
