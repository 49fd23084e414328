import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from common.roles import OPERATORS, STEWARDS
from dq.models import Violation
from ingest.models import Source
from runs import services
from runs.execution import runner
from runs.models import ImportRun

CSV = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,XX\nA-3,,FR\n"


def make_run(**fields) -> ImportRun:
    """A run row as the dashboard sees it (no file, no job)."""
    source = fields.pop("source", None) or Source.objects.get_or_create(slug="crm")[0]
    created_at = fields.pop("created_at", None)
    run = ImportRun.objects.create(
        target=fields.pop("target", "organization"), source=source, **fields
    )
    if created_at is not None:
        ImportRun.objects.filter(pk=run.pk).update(created_at=created_at)
        run.refresh_from_db()
    return run


def finished_run(seconds: float, **fields) -> ImportRun:
    started = timezone.now() - datetime.timedelta(hours=1)
    return make_run(
        status=fields.pop("status", ImportRun.Status.SUCCEEDED),
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=seconds),
        **fields,
    )


def imported_run(dry_run: bool = False, user=None) -> ImportRun:
    """A run of a small file through the real pipeline (one row good, two quarantined)."""
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(CSV),
        filename="orgs.csv",
        dry_run=dry_run,
        created_by=user,
    )
    runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def violation(run: ImportRun, errors, status=Violation.Status.OPEN) -> Violation:
    return Violation.objects.create(
        run=run,
        target=run.target,
        source=run.source,
        row_number=2,
        errors=errors,
        codes=",".join(e["code"] for e in errors),
        status=status,
    )


def user_with_role(role: str | None, username: str):
    user = get_user_model().objects.create_user(username=username, password="pw", is_staff=True)
    if role:
        user.groups.add(
            Group.objects.get(name=role)
        )  # tests/conftest.py restores groups after a flush
    return user


@pytest.fixture
def operator(client):
    return user_with_role(OPERATORS, "op")


@pytest.fixture
def steward():
    return user_with_role(STEWARDS, "st")


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
