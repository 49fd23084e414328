"""Users per role, token clients, and runs to act on."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.roles import OPERATORS, STEWARDS
from runs import services
from runs.execution import runner
from runs.models import ImportRun

ROLES = ("anonymous", "norole", "operator", "steward", "superuser")
CSV = b"external_id,name,country,email\nA-1,Acme,DE,a@acme.example\nA-2,,FR,=cmd|' /C calc'!A0\nA-3,Gamma,XX,\n"


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """Throttle counts live in the cache (Redis under REDIS_URL): give every
    test its own key prefix so counts never leak between tests or runs."""
    caches = {alias: {**config} for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def make_user(role: str):
    if role == "anonymous":
        return None
    user = get_user_model().objects.create_user(
        username=f"{role}-{uuid.uuid4().hex[:6]}", password=None, is_superuser=role == "superuser"
    )
    group = {"operator": OPERATORS, "steward": STEWARDS}.get(role)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(role: str) -> APIClient:
    """A client that authenticates like an integration: with a token."""
    client = APIClient()
    user = make_user(role)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
    return client


@pytest.fixture
def api():
    """``api(role)`` → a token-authenticated client for that role."""
    return client_for


def finished_run(*, dry_run: bool = True, content: bytes = CSV) -> ImportRun:
    """A run executed in-process: partial, with violations and a results file."""
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(content),
        filename="orgs.csv",
        dry_run=dry_run,
    )
    return runner.run_execute(run_id=run.pk, in_process=True)


def queued_run() -> ImportRun:
    return services.run_create(
        target="organization", source="crm", file=ContentFile(CSV), filename="orgs.csv"
    )


def work_queued_jobs() -> None:
    """With Redis, run what the request enqueued in a burst worker, as a
    `manage.py rqworker` would; without, the jobs already ran in-process."""
    from django.conf import settings

    if not settings.IMPORTER_SYNC_JOBS:
        import django_rq

        django_rq.get_worker("imports").work(burst=True)
