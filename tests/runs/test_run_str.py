"""A run as Django names it (breadcrumbs, raw-id fields, history, the id
map's list): by its source's name, and without a query per run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ingest.models import ExternalIdMap, Source
from runs.models import ImportRun
from tests.factories import ImportRunFactory, SourceFactory

pytestmark = pytest.mark.django_db


def test_a_run_reads_with_its_source_name():
    source = Source.objects.create(slug="crm-emea", name="CRM EMEA")
    run = ImportRunFactory(source=source, status=ImportRun.Status.PARTIAL)
    assert str(run) == f"Run {run.pk} · organization from CRM EMEA · partial"
    dry = ImportRunFactory(source=source, dry_run=True, target="contact")
    assert str(dry) == f"Run {dry.pk} · contact from CRM EMEA · queued · dry run"


def test_a_source_without_a_name_reads_as_its_slug():
    run = ImportRunFactory(source=SourceFactory(slug="erp"))
    assert str(run) == f"Run {run.pk} · organization from erp · queued"


def mappings(first: int, last: int) -> None:
    for n in range(first, last):
        source = SourceFactory(slug=f"source-{n}")
        run = ImportRunFactory(source=source)
        ExternalIdMap.objects.create(
            source=source,
            target="organization",
            external_id=f"E{n}",
            record_id=n + 1,
            payload_hash="0" * 32,
            first_run=run,
            last_run=run,
        )


def test_the_id_map_list_names_its_runs_without_a_query_each(admin_client):
    url = reverse("admin:ingest_externalidmap_changelist")
    mappings(0, 2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    mappings(2, 10)
    with CaptureQueriesContext(connection) as many:
        html = admin_client.get(url).content.decode()
    assert "organization from source-9" in html
    assert len(many) == len(few)


def test_the_id_map_page_names_its_runs(admin_client):
    mappings(0, 1)
    mapping = ExternalIdMap.objects.get()
    with CaptureQueriesContext(connection) as queries:
        html = admin_client.get(
            reverse("admin:ingest_externalidmap_change", args=[mapping.pk])
        ).content.decode()
    assert html.count(f"Run {mapping.last_run_id} · organization from source-0") == 2
    assert not [q for q in queries if 'FROM "ingest_source"' in q["sql"]]
