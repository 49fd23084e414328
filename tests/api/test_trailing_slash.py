"""API paths answer with or without their trailing slash: a client that
leaves it off gets the same answer, not a redirect that drops its POST."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from runs.models import ImportRun

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
def test_an_upload_without_the_trailing_slash_is_accepted(api, settings, debug):
    settings.DEBUG = debug
    form = {
        "file": SimpleUploadedFile("a.csv", b"external_id,name,country\n1,Acme,DE\n"),
        "target": "organization",
        "source": "crm",
    }
    response = api("operator").post("/api/v1/runs", form, format="multipart")
    assert response.status_code == 202, response.content
    assert ImportRun.objects.count() == 1


def test_reads_and_actions_without_the_trailing_slash(api):
    client = api("operator")
    assert client.get("/api/v1/runs").status_code == 200
    assert client.get("/api/v1/targets").status_code == 200
    validated = client.post(
        "/api/v1/targets/organization/validate", {"name": "Acme", "country": "DE"}, format="json"
    )
    assert validated.status_code == 200 and "valid" in validated.json()


def test_an_unknown_api_path_is_still_a_json_404(api):
    response = api("operator").get("/api/v1/nothing")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
