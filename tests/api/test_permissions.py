"""The permission matrix: anonymous, no role, operator, steward, superuser.

Two parts: rules that hold for every operation in the live schema (so
endpoints other branches add are checked too), and the expected status of
each runs/ and targets/ endpoint per role.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.helpers import CSV
from tests.factories import NO_ROLE, ROLES, token_client
from tests.importing import create_run, import_bytes

pytestmark = pytest.mark.django_db


def schema_operations() -> list[tuple[str, str]]:
    schema = token_client("anonymous").get("/api/schema/?format=json").json()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def concrete(path: str) -> str:
    """Any value will do: permissions are checked before an object is looked up."""
    return re.sub(r"\{[^}]+\}", "1", path)


def call(client, method: str, path: str):
    return getattr(client, method.lower())(concrete(path), {}, format="json")


def test_the_schema_lists_the_runs_and_targets_operations():
    operations = set(schema_operations())
    assert {
        ("GET", "/api/v1/runs/"),
        ("POST", "/api/v1/runs/"),
        ("POST", "/api/v1/runs/{id}/cancel/"),
        ("POST", "/api/v1/runs/{id}/replay/"),
        ("GET", "/api/v1/runs/{id}/results/"),
        ("GET", "/api/v1/targets/"),
        ("POST", "/api/v1/targets/{name}/validate/"),
    } <= operations


def test_anonymous_gets_401_with_a_token_challenge_on_every_operation():
    client = token_client("anonymous")
    for method, path in schema_operations():
        response = call(client, method, path)
        assert response.status_code == 401, (method, path, response.content[:200])
        assert response["WWW-Authenticate"] == "Token", (method, path)
        assert "detail" in response.json()


def test_a_user_without_a_role_gets_403_on_every_operation():
    client = token_client(NO_ROLE)
    for method, path in schema_operations():
        response = call(client, method, path)
        assert response.status_code == 403, (method, path, response.content[:200])


def test_an_operator_changes_nothing_but_runs():
    """Operators upload, cancel and replay; every PATCH, PUT or DELETE (a
    violation's payload among them) is refused before the body is looked at."""
    client = token_client("operator")
    for method, path in schema_operations():
        if method in ("PATCH", "PUT", "DELETE"):
            assert call(client, method, path).status_code == 403, (method, path)


# role → expected status, per endpoint. "-" marks the anonymous/no-role
# columns, which the generic tests above cover.
MATRIX = {
    "list runs": {"operator": 200, "steward": 200, "superuser": 200},
    "upload": {"operator": 202, "steward": 403, "superuser": 202},
    "run detail": {"operator": 200, "steward": 200, "superuser": 200},
    "cancel": {"operator": 200, "steward": 403, "superuser": 200},
    "replay": {"operator": 202, "steward": 403, "superuser": 202},
    "results": {"operator": 200, "steward": 200, "superuser": 200},
    "violations csv": {"operator": 200, "steward": 200, "superuser": 200},
    "list targets": {"operator": 200, "steward": 200, "superuser": 200},
    "target detail": {"operator": 200, "steward": 200, "superuser": 200},
    "validate": {"operator": 200, "steward": 200, "superuser": 200},
}


def request_for(endpoint: str, client):
    done = (
        import_bytes(CSV, dry_run=True)
        if endpoint in ("run detail", "replay", "results", "violations csv")
        else None
    )
    if endpoint == "list runs":
        return client.get("/api/v1/runs/")
    if endpoint == "upload":
        form = {
            "file": SimpleUploadedFile("o.csv", CSV),
            "target": "organization",
            "source": "crm",
            "dry_run": "true",
        }
        return client.post("/api/v1/runs/", form, format="multipart")
    if endpoint == "run detail":
        return client.get(f"/api/v1/runs/{done.pk}/")
    if endpoint == "cancel":
        return client.post(f"/api/v1/runs/{create_run(CSV).pk}/cancel/")
    if endpoint == "replay":
        return client.post(f"/api/v1/runs/{done.pk}/replay/", {"dry_run": True}, format="json")
    if endpoint == "results":
        return client.get(f"/api/v1/runs/{done.pk}/results/")
    if endpoint == "violations csv":
        return client.get(f"/api/v1/runs/{done.pk}/results/?kind=violations")
    if endpoint == "list targets":
        return client.get("/api/v1/targets/")
    if endpoint == "target detail":
        return client.get("/api/v1/targets/organization/")
    if endpoint == "validate":
        return client.post("/api/v1/targets/organization/validate/", {"name": "x"}, format="json")
    raise AssertionError(endpoint)


@pytest.mark.parametrize("endpoint", MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_the_permission_matrix(endpoint, role):
    expected = MATRIX[endpoint].get(role, {"anonymous": 401, NO_ROLE: 403}.get(role))
    response = request_for(endpoint, token_client(role))
    assert response.status_code == expected, (endpoint, role, getattr(response, "data", None))
