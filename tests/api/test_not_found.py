"""A path under /api/ that matches no URL answers the API's JSON 404, with
DEBUG on (runserver) as off; the admin's and a view's own 404s are theirs."""

import pytest

from importer_project.middleware import NOT_FOUND

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/runs/abc/"),
        ("post", "/api/v1/runs/abc/cancel/"),
        ("get", "/api/v1/nope/"),
        ("get", "/api/v1/nope"),
        ("get", "/api/nope/"),
    ],
)
def test_a_path_matching_no_url_is_a_json_404(api, settings, debug, method, path):
    """Under DEBUG, Django answered its technical HTML page (handler404 is
    not called then)."""
    settings.DEBUG = debug
    response = getattr(api("operator"), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": NOT_FOUND}


@pytest.mark.parametrize("debug", [True, False])
def test_the_admins_404s_stay_html_and_a_views_own_404_is_its_own(
    api, admin_client, settings, debug
):
    settings.DEBUG = debug
    for path in ("/admin/nope/", "/nope/"):
        response = admin_client.get(path)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    response = api("operator").get("/api/v1/runs/999999/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "No ImportRun matches the given query."},
    )
    assert api("operator").get("/api/schema").status_code == 200
