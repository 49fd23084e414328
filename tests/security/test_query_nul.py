"""A NUL character in a query parameter answers 400 with one message, in
JSON under /api/ and as a plain page in the admin. PostgreSQL refuses NUL
in text, so every filter used to be a 500 there (and on SQLite silently
matched nothing). Also run on PostgreSQL by the CI run with DATABASE_URL."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from dq.api_filters import ViolationFilter
from importer_project.middleware import NUL_IN_QUERY
from runs.api import RunFilter
from tests.factories import token_client

pytestmark = pytest.mark.django_db

OUR_APPS = {"core", "ingest", "runs", "dq"}


def assert_plain_400(response):
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == NUL_IN_QUERY


def assert_json_400(response):
    assert response.status_code == 400
    assert response.json() == {"detail": NUL_IN_QUERY}


@pytest.mark.parametrize(
    "query", ["field=%00", "code=%00", "q=a%00b", "status=open&source=%00", "a%00b=1"]
)
def test_the_violation_inbox_refuses_nul(admin_client, query):
    assert_plain_400(admin_client.get(f"/admin/dq/violation/?{query}"))


def test_every_admin_changelist_refuses_nul_in_its_search_and_filters(admin_client):
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label not in OUR_APPS:
            continue
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert_plain_400(admin_client.get(changelist + "?q=%00"))
        assert_plain_400(admin_client.get(changelist + "?o=1&id__exact=%00"))


@pytest.mark.parametrize(
    "path, filters",
    [
        ("/api/v1/violations/", ViolationFilter.base_filters),
        ("/api/v1/runs/", RunFilter.base_filters),
    ],
)
def test_every_filter_of_the_api_lists_refuses_nul(path, filters):
    client = token_client("superuser")
    assert filters
    for name in filters:
        assert_json_400(client.get(f"{path}?{name}=a%00b"))
    assert_json_400(client.get(f"{path}?search=%00"))


def test_validate_refuses_nul_in_its_source():
    client = token_client("steward")
    response = client.post(
        "/api/v1/targets/organization/validate/?source=a%00b",
        {"name": "Acme", "country": "DE"},
        format="json",
    )
    assert_json_400(response)


def test_a_percent_zero_zero_that_is_not_a_nul_is_left_alone():
    client = token_client("superuser")
    assert client.get("/api/v1/violations/?field=%2500").status_code == 200
    assert client.get("/api/v1/runs/?source=100%25").status_code == 200
