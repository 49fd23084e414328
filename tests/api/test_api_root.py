"""Issue 19, no dead ends: /api/v1/ lists the endpoints (DRF's browsable
root) and / leads to the admin's dashboard, as the admin's "View site" does."""

import pytest
from django.urls import reverse

from common.api_root import ENDPOINTS

pytestmark = pytest.mark.django_db


def test_the_api_root_lists_every_endpoint(client):
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [name for name, _ in ENDPOINTS]
    assert body["runs"] == "http://testserver/api/v1/runs/"
    assert body["violations"] == "http://testserver/api/v1/violations/"
    assert body["remediation stats"] == "http://testserver/api/v1/remediation/stats/"
    assert body["schema"] == "http://testserver/api/schema/"


def test_the_api_root_is_browsable(client):
    page = client.get("/api/v1/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and "Api Root" in page.content.decode()


def test_slash_and_view_site_lead_to_the_admin(admin_client):
    response = admin_client.get("/")
    assert response.status_code == 302 and response.url == reverse("admin:index")
    index = admin_client.get(response.url).content.decode()
    assert 'href="/">View site</a>' in index
