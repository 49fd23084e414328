"""Run for real, cancel, replay (buttons and bulk actions), downloads: POST
only, permission-checked, one service call each, a message with counts."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from dq.selectors import MASK
from runs.models import ImportRun
from tests.factories import ImportRunFactory, UserFactory
from tests.importing import import_bytes

LIST = reverse("admin:runs_importrun_changelist")
pytestmark = pytest.mark.django_db


def url(name, run):
    return reverse(f"admin:runs_importrun_{name}", args=[run.pk])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_run_for_real_enqueues_the_same_file_as_a_standard_run(operator_client, operator):
    dry = import_bytes(dry_run=True)
    response = operator_client.post(url("run_for_real", dry), follow=True)
    real = ImportRun.objects.exclude(pk=dry.pk).get()
    assert (real.dry_run, real.kind, real.parent_run, real.file.name) == (
        False,
        "upload",
        dry,
        dry.file.name,
    )
    assert real.created_by == operator
    assert response.redirect_chain[-1][0] == url("change", real)
    assert messages_of(response)[0] == (
        f'Dry run {dry.pk} is now being imported for real as <a href="{url("change", real)}">'
        f"run {real.pk}</a>: it waits for a worker."
    )


def test_a_get_of_a_mutation_asks_to_confirm_and_changes_nothing(operator_client):
    dry = import_bytes(dry_run=True)
    for name in ("run_for_real", "cancel", "replay"):
        response = operator_client.get(url(name, dry))
        assert response.status_code == 200
        assert f'<form method="post" action="{url(name, dry)}">' in response.content.decode() or (
            name == "cancel"  # a finished run has nothing to cancel: no button
        )
    assert ImportRun.objects.count() == 1


def test_run_for_real_of_a_standard_run_is_refused_with_the_services_words(operator_client):
    run = import_bytes()
    response = operator_client.post(url("run_for_real", run), follow=True)
    assert messages_of(response) == [f"Run {run.pk} is not a finished dry run."]
    assert ImportRun.objects.count() == 1


def test_cancel_button(operator_client):
    queued = ImportRunFactory()
    response = operator_client.post(url("cancel", queued), follow=True)
    queued.refresh_from_db()
    assert queued.status == ImportRun.Status.CANCELLED
    assert messages_of(response) == [f"Run {queued.pk} cancelled."]
    running = ImportRunFactory(status=ImportRun.Status.RUNNING)
    response = operator_client.post(url("cancel", running), follow=True)
    running.refresh_from_db()
    assert running.cancel_requested and running.status == ImportRun.Status.RUNNING
    assert "will stop after its current chunk" in messages_of(response)[0]
    response = operator_client.post(url("cancel", queued), follow=True)
    assert "only queued or running runs can be cancelled" in messages_of(response)[0]


def test_replay_button(operator_client):
    run = import_bytes()
    response = operator_client.post(url("replay", run), follow=True)
    replay = ImportRun.objects.exclude(pk=run.pk).get()
    assert (replay.kind, replay.parent_run) == ("replay", run)
    assert f"Run {run.pk} replayed as" in messages_of(response)[0]


def post_action(client, action, runs):
    return client.post(
        LIST, {"action": action, "_selected_action": [run.pk for run in runs]}, follow=True
    )


def test_cancel_action_counts_each_outcome(operator_client):
    queued, running, done = (
        ImportRunFactory(),
        ImportRunFactory(status="running"),
        ImportRunFactory(status="succeeded"),
    )
    response = post_action(operator_client, "cancel_runs", [queued, running, done])
    assert messages_of(response) == [
        "1 run(s) cancelled, 1 will stop after their current chunk, 1 already finished (left alone)."
    ]
    assert ImportRun.objects.get(pk=queued.pk).status == "cancelled"
    assert ImportRun.objects.get(pk=running.pk).cancel_requested


def test_replay_action(operator_client):
    with_file, without_file = import_bytes(), ImportRunFactory(status="succeeded")
    response = post_action(operator_client, "replay_runs", [with_file, without_file])
    assert (
        "1 run(s) replayed" in messages_of(response)[0]
        and "1 without a stored file" in messages_of(response)[0]
    )
    assert ImportRun.objects.filter(parent_run=with_file, kind="replay").count() == 1


def test_download_results_action_one_csv_or_a_zip(operator_client):
    first, second = import_bytes(dry_run=True), import_bytes(dry_run=True)
    response = operator_client.post(
        LIST, {"action": "download_results", "_selected_action": [first.pk]}
    )
    assert response["Content-Disposition"] == f'attachment; filename="run-{first.pk}-results.csv"'
    # One run: its results file itself, a line per row of the file (the
    # operator may not see payloads: the would-be values come masked).
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(line["row_number"], line["outcome"]) for line in lines] == [
        ("2", "inserted"),
        ("3", "quarantined"),
        ("4", "quarantined"),
    ]
    assert json.loads(lines[0]["values"])["name"] == MASK
    response = operator_client.post(
        LIST, {"action": "download_results", "_selected_action": [first.pk, second.pk]}
    )
    assert response["Content-Disposition"] == 'attachment; filename="run-results.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(
        [f"run-{first.pk}-results.csv", f"run-{second.pk}-results.csv"]
    )


def test_stewards_have_no_cancel_or_replay(client, steward):
    client.force_login(steward)
    run = ImportRunFactory()
    for name in ("cancel", "replay", "run_for_real"):
        assert client.post(url(name, run)).status_code == 403
    response = post_action(client, "cancel_runs", [run])
    assert ImportRun.objects.get(pk=run.pk).status == "queued"
    actions = [value for value, _label in response.context["action_form"].fields["action"].choices]
    assert (
        "cancel_runs" not in actions
        and "replay_runs" not in actions
        and "download_results" in actions
    )


def test_downloads_are_attachments_behind_permissions(operator_client, client, steward):
    run = import_bytes(dry_run=True)
    # The stored file holds every row's values: payload permission needed.
    assert operator_client.get(url("file", run)).status_code == 403
    client.force_login(steward)
    response = client.get(url("file", run))
    assert response["Content-Disposition"] == 'attachment; filename="orgs.csv"'
    assert b"".join(response.streaming_content).startswith(b"external_id,name,country")
    response = operator_client.get(url("results", run))
    assert response["Content-Disposition"] == f'attachment; filename="run-{run.pk}-results.csv"'
    client.logout()
    assert client.get(url("file", run)).status_code == 302  # to the login page
    client.force_login(UserFactory(viewer=True))
    assert client.get(url("file", run)).status_code == 403
    assert client.get(url("results", run)).status_code == 403


def test_a_missing_file_is_a_message_not_a_500(operator_client):
    run = ImportRunFactory(status="succeeded")
    response = operator_client.get(url("results", run), follow=True)
    assert messages_of(response) == [f"Run {run.pk} has no results file."]
