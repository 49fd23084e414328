"""Run for real, replay and cancel cannot be undone: a GET shows what will
happen, only a POST (with its CSRF token) does it, for who has the permission."""

import pytest
from django.test import Client
from django.urls import reverse

from runs.models import ImportRun
from runs.views import ALREADY_RUN_FOR_REAL
from tests.factories import ImportRunFactory, UserFactory
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db
ACTIONS = ("run_for_real", "replay", "cancel")


def url(name, run):
    return reverse(f"admin:runs_importrun_{name}", args=[run.pk])


def test_run_for_real_confirmation_says_what_will_happen(operator_client):
    dry = import_bytes(dry_run=True)
    response = operator_client.get(url("run_for_real", dry))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Import orgs.csv for real?</h1>" in html
    assert "It is not a dry run: it writes records." in html
    assert "1 inserted, 0 updated, 0 unchanged, 0 skipped, 2 quarantined" in html
    assert "It cannot be undone" in html
    assert f'<form method="post" action="{url("run_for_real", dry)}">' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert ImportRun.objects.count() == 1


def test_replay_confirmation_says_whether_it_writes(operator_client):
    real, dry = import_bytes(), import_bytes(dry_run=True)
    assert "It is not a dry run: it writes records again" in (
        operator_client.get(url("replay", real)).content.decode()
    )
    assert "Like this run it is a dry run: it writes nothing." in (
        operator_client.get(url("replay", dry)).content.decode()
    )


def test_cancel_confirmation_says_what_stays(operator_client):
    queued = ImportRunFactory()
    assert "it never starts" in operator_client.get(url("cancel", queued)).content.decode()
    running = ImportRunFactory(status=ImportRun.Status.RUNNING, rows_processed=4000)
    html = operator_client.get(url("cancel", running)).content.decode()
    assert "The 4,000 row(s) already processed" in html and "does not undo them" in html
    finished = ImportRunFactory(status=ImportRun.Status.SUCCEEDED)
    html = operator_client.get(url("cancel", finished)).content.decode()
    assert "there is nothing to cancel" in html and "<form" not in html.split("content-main")[1]
    assert ImportRun.objects.get(pk=queued.pk).status == ImportRun.Status.QUEUED


def test_a_post_without_the_csrf_token_is_refused(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    dry = import_bytes(dry_run=True)
    for name in ACTIONS:
        assert client.post(url(name, dry)).status_code == 403
    assert ImportRun.objects.count() == 1


def test_the_confirmed_post_does_it(operator_client):
    dry = import_bytes(dry_run=True)
    response = operator_client.post(url("replay", dry))
    replay = ImportRun.objects.get(parent_run=dry)
    assert response.status_code == 302 and response.url == url("change", replay)
    assert replay.dry_run and replay.kind == ImportRun.Kind.REPLAY


def test_a_dry_run_run_for_real_once_is_not_run_again(operator_client):
    dry = import_bytes(dry_run=True)
    real = ImportRunFactory(parent_run=dry, status=ImportRun.Status.RUNNING)
    html = operator_client.get(url("run_for_real", dry)).content.decode()
    assert ALREADY_RUN_FOR_REAL.format(run_id=dry.pk, real_id=real.pk) in html
    assert f'href="{url("change", real)}"' in html and "<form" not in html.split("content-main")[1]
    response = operator_client.post(url("run_for_real", dry), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        ALREADY_RUN_FOR_REAL.format(run_id=dry.pk, real_id=real.pk)
    ]
    assert ImportRun.objects.filter(parent_run=dry).count() == 1


@pytest.mark.parametrize("role", ["Stewards", None])
def test_who_lacks_the_permission_gets_403_on_get_and_post(client, role):
    client.force_login(UserFactory(role=role))
    dry = import_bytes(dry_run=True)
    for name in ACTIONS:
        assert client.get(url(name, dry)).status_code == 403
        assert client.post(url(name, dry)).status_code == 403
    assert ImportRun.objects.count() == 1


def test_an_unknown_run_is_a_404(operator_client):
    for name in ACTIONS:
        assert (
            operator_client.get(
                f"/admin/runs/importrun/999999/{name.replace('_', '-')}/"
            ).status_code
            == 404
        )
