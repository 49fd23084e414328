"""Tokens for integrations, sessions with CSRF for the browser."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import user_for

pytestmark = pytest.mark.django_db

VALIDATE = "/api/v1/targets/organization/validate/"


def test_drf_create_token_makes_a_token_that_authenticates():
    user = user_for("operator")
    out = io.StringIO()
    call_command("drf_create_token", user.username, stdout=out)
    key = Token.objects.get(user=user).key
    assert key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/runs/").status_code == 200


def test_a_wrong_token_is_401_with_a_challenge():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = client.get("/api/v1/runs/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_a_session_works_for_reads_and_needs_the_csrf_token_for_writes():
    user = user_for("steward", is_staff=False)  # staff would not get the login page below
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/runs/").status_code == 200
    refused = client.post(VALIDATE, {"name": "x"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/admin/login/")  # any page that sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(VALIDATE, {"name": "x"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200


def test_a_token_needs_no_csrf_token():
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user_for('steward')).key}"
    )
    assert client.post(VALIDATE, {"name": "x"}, format="json").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, "{not json"]
)
def test_a_json_body_that_cannot_be_read_is_400_not_500(body):
    """Broken JSON, or JSON nested deeper than Python's parser recurses."""
    client = APIClient()
    client.force_authenticate(user_for("superuser"))
    response = client.post(VALIDATE, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
