"""The objects the security tests' requests point at, made through the
real pipeline, and a logged-in client per role (the roles themselves are
tests/factories.py's ``ROLES``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from core.models import Organization
from dq.models import RemediationAudit, Violation
from ingest.models import ExternalIdMap, Source
from runs.models import ImportRun
from tests.factories import RemediationAuditFactory, user_for
from tests.importing import import_bytes


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
    run = import_bytes(
        b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,XX\n",
        source=f"crm{Source.objects.count() + 1}",
    )
    violation = Violation.objects.get(run=run)
    id_map = ExternalIdMap.objects.get(last_run=run)
    return World(
        run=run,
        violation=violation,
        organization=Organization.objects.get(pk=id_map.record_id),
        source=run.source,
        id_map=id_map,
        audit=RemediationAuditFactory(violation=violation),
    )


def client_for(role: str) -> Client:
    """A client logged in (by session) as a new user in ``role``; the user
    is ``client.user`` (None for anonymous)."""
    client = Client()
    client.user = user_for(role)
    if client.user is not None:
        client.force_login(client.user)
    return client
