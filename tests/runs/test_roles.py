"""Operators view runs, upload, cancel, replay; Stewards view runs; anyone
else sees nothing of the dashboard."""

import pytest
from django.urls import reverse

from tests.factories import ImportRunFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = reverse("admin:runs_importrun_changelist")


def test_operators_view_upload_cancel_and_replay(operator_client):
    run = ImportRunFactory()
    response = operator_client.get(LIST)
    assert response.status_code == 200
    assert "Upload a file" in response.content.decode()
    actions = {value for value, _label in response.context["action_form"].fields["action"].choices}
    assert {"cancel_runs", "replay_runs", "download_results"} <= actions
    html = operator_client.get(
        reverse("admin:runs_importrun_change", args=[run.pk])
    ).content.decode()
    assert "Cancel run" in html


def test_stewards_only_view(client, steward):
    client.force_login(steward)
    run = ImportRunFactory()
    response = client.get(LIST)
    assert response.status_code == 200
    assert "Upload a file" not in response.content.decode()
    html = client.get(reverse("admin:runs_importrun_change", args=[run.pk])).content.decode()
    assert "Cancel run" not in html and "Replay" not in html


def test_staff_without_a_role_see_nothing(client):
    client.force_login(UserFactory(viewer=True))
    run = ImportRunFactory()
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("admin:runs_importrun_change", args=[run.pk])).status_code == 403
    assert client.get(reverse("admin:runs_importrun_add")).status_code == 403
