"""CSRF on every session mutation: the admin and the API refuse a POST made
with a session cookie but without the CSRF token; API tokens need none."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.factories import STEWARD
from tests.security.roles import client_for, make_world


def csrf_client(role: str) -> Client:
    logged_in = client_for(role)
    client = Client(enforce_csrf_checks=True)
    client.cookies = logged_in.cookies
    client.user = logged_in.user
    return client


@pytest.mark.django_db
def test_admin_post_without_csrf_token_is_refused():
    world = make_world()
    client = csrf_client(STEWARD)
    url = reverse("admin:core_organization_change", args=[world.organization.pk])
    assert client.post(url, {"name": "Renamed", "country": "DE"}).status_code == 403
    page = client.get(url)
    token = page.context["csrf_token"]
    response = client.post(
        url, {"name": "Renamed", "country": "DE", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302
    world.organization.refresh_from_db()
    assert world.organization.name == "Renamed"


@pytest.mark.django_db
def test_api_post_with_a_session_needs_the_csrf_token_and_with_a_token_does_not():
    client = csrf_client(STEWARD)
    url = reverse("target-validate", kwargs={"name": "organization"})
    payload = {"external_id": "X", "name": "Acme", "country": "DE"}
    refused = client.post(url, payload, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    token = Token.objects.create(user=client.user)
    integration = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert integration.post(url, payload, content_type="application/json").status_code == 200
