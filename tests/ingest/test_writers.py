from ingest.writers import shaped_batches


def test_shaped_batches_cover_every_row_in_order_with_few_shapes():
    shapes = set()
    for length in range(0, 1200, 7):
        rows = list(range(length))
        parts = list(shaped_batches(rows, 256))
        assert [row for part in parts for row in part] == rows
        shapes.update(len(part) for part in parts)
    assert shapes <= {256, 128, 64, 32, 16, 8, 4, 2, 1}


import pytest
from django.core.files.base import ContentFile
from django.db import connection

from core.models import Organization
from ingest import services
from ingest.models import ExternalIdMap
from runs.models import ImportRun

BASE = b"external_id,name,country,employees\nA-1,Acme,DE,10\nA-2,Beta,FR,20\nA-3,Gamma,NL,30\n"
CHANGED = b"external_id,name,country,employees\nA-1,Acme,DE,11\nA-2,Beta,FR,20\nA-3,Gamma,NL,31\nA-4,Delta,IT,\n"


def _import(content: bytes, *, dry_run: bool = False) -> ImportRun:
    run = services.run_create(
        target="organization", source="crm", file=ContentFile(content), filename="orgs.csv", dry_run=dry_run
    )
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_updates_and_inserts_across_chunks_then_a_dry_run_writes_nothing(settings, chunk_size):
    """Several chunks in one transaction (a dry run) reuse the staging table."""
    settings.IMPORTER_CHUNK_SIZE = chunk_size
    _import(BASE)
    before = list(Organization.objects.order_by("id").values_list("name", "employees", "provenance"))
    dry = _import(CHANGED, dry_run=True)
    assert (dry.inserted, dry.updated, dry.skipped) == (1, 2, 1)
    assert list(Organization.objects.order_by("id").values_list("name", "employees", "provenance")) == before
    run = _import(CHANGED)
    assert (run.inserted, run.updated, run.skipped) == (1, 2, 1)
    assert dict(Organization.objects.values_list("name", "employees")) == {
        "Acme": 11, "Beta": 20, "Gamma": 31, "Delta": None,
    }
    provenance = Organization.objects.get(name="Acme").provenance
    assert provenance["employees"]["run"] == run.pk
    assert ExternalIdMap.objects.filter(last_run=run).count() == 3
    assert ExternalIdMap.objects.filter(first_run=run).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_id_map_upsert_leaves_equal_rows_untouched():
    """ON CONFLICT … WHERE … IS DISTINCT FROM: an equal row keeps its tuple (xmin)."""
    from ingest.writers import IdMapWriter

    _import(BASE)
    run = ImportRun.objects.get()
    rows = list(
        ExternalIdMap.objects.order_by("external_id").values_list(
            "source_id", "target", "external_id", "record_id", "payload_hash", "first_run_id", "last_run_id"
        )
    )

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT external_id, xmin::text FROM ingest_externalidmap ORDER BY external_id")
            return cursor.fetchall()

    before = versions()
    changed = [rows[0][:4] + ("other-hash",) + rows[0][5:], *rows[1:]]
    IdMapWriter().upsert(changed)
    after = versions()
    assert after[0][1] != before[0][1]
    assert after[1:] == before[1:]
    assert ExternalIdMap.objects.get(external_id="A-1").payload_hash == "other-hash"
    assert ExternalIdMap.objects.get(external_id="A-1").first_run_id == run.pk
