"""The five roles of the security tests and the objects their requests
point at, made through the real pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.test import Client

from common.roles import OPERATORS, STEWARDS
from core.models import Organization
from dq.models import RemediationAudit, Violation
from ingest.models import ExternalIdMap, Source
from runs import services
from runs.execution import runner
from runs.models import ImportRun

ANON, NO_ROLE, OPERATOR, STEWARD, SUPERUSER = (
    "anonymous",
    "no role",
    "operator",
    "steward",
    "superuser",
)
ROLES = (ANON, NO_ROLE, OPERATOR, STEWARD, SUPERUSER)


@dataclass
class World:
    """Objects the URLs point at."""

    run: ImportRun
    violation: Violation
    organization: Organization
    source: Source
    id_map: ExternalIdMap
    audit: RemediationAudit


def make_world() -> World:
    """A run with one imported row and one violation, from a source of its own."""
    slug = f"crm{Source.objects.count() + 1}"
    content = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,XX\n"
    run = services.run_create(
        target="organization", source=slug, file=ContentFile(content), filename="orgs.csv"
    )
    run = runner.run_execute(run_id=run.pk)
    violation = Violation.objects.get(run=run)
    audit = RemediationAudit.objects.create(
        violation=violation, action="ignore", before={}, after={}, outcome="ignored"
    )
    id_map = ExternalIdMap.objects.get(last_run=run)
    return World(
        run=run,
        violation=violation,
        organization=Organization.objects.get(pk=id_map.record_id),
        source=run.source,
        id_map=id_map,
        audit=audit,
    )


def client_for(role: str) -> Client:
    client = Client()
    if role == ANON:
        return client
    User = get_user_model()
    user = User.objects.create_user(
        username=role.replace(" ", "_"), password="x", is_staff=True, is_superuser=role == SUPERUSER
    )
    group = {OPERATOR: OPERATORS, STEWARD: STEWARDS}.get(role)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client
