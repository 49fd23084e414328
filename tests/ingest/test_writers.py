import json

import pytest
from django.db import connection

from core.models import Organization
from ingest.models import ExternalIdMap
from ingest.writers import shaped_batches
from runs.models import ImportRun
from tests.importing import import_bytes


def test_shaped_batches_cover_every_row_in_order_with_few_shapes():
    shapes = set()
    for length in range(0, 1200, 7):
        rows = list(range(length))
        parts = list(shaped_batches(rows, 256))
        assert [row for part in parts for row in part] == rows
        shapes.update(len(part) for part in parts)
    assert shapes <= {256, 128, 64, 32, 16, 8, 4, 2, 1}


BASE = b"external_id,name,country,employees\nA-1,Acme,DE,10\nA-2,Beta,FR,20\nA-3,Gamma,NL,30\n"
CHANGED = b"external_id,name,country,employees\nA-1,Acme,DE,11\nA-2,Beta,FR,20\nA-3,Gamma,NL,31\nA-4,Delta,IT,\n"


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_updates_and_inserts_across_chunks_then_a_dry_run_writes_nothing(settings, chunk_size):
    """Several chunks in one transaction (a dry run) reuse the staging table."""
    settings.IMPORTER_CHUNK_SIZE = chunk_size
    import_bytes(BASE)
    before = list(
        Organization.objects.order_by("id").values_list("name", "employees", "provenance")
    )
    dry = import_bytes(CHANGED, dry_run=True)
    assert (dry.inserted, dry.updated, dry.skipped) == (1, 2, 1)
    assert (
        list(Organization.objects.order_by("id").values_list("name", "employees", "provenance"))
        == before
    )
    run = import_bytes(CHANGED)
    assert (run.inserted, run.updated, run.skipped) == (1, 2, 1)
    assert dict(Organization.objects.values_list("name", "employees")) == {
        "Acme": 11,
        "Beta": 20,
        "Gamma": 31,
        "Delta": None,
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

    import_bytes(BASE)
    run = ImportRun.objects.get()
    rows = list(
        ExternalIdMap.objects.order_by("external_id").values_list(
            "source_id",
            "target",
            "external_id",
            "record_id",
            "payload_hash",
            "first_run_id",
            "last_run_id",
        )
    )

    def versions():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT external_id, xmin::text FROM ingest_externalidmap ORDER BY external_id"
            )
            return cursor.fetchall()

    before = versions()
    changed = [rows[0][:4] + ("other-hash",) + rows[0][5:], *rows[1:]]
    IdMapWriter().upsert(changed)
    after = versions()
    assert after[0][1] != before[0][1]
    assert after[1:] == before[1:]
    assert ExternalIdMap.objects.get(external_id="A-1").payload_hash == "other-hash"
    assert ExternalIdMap.objects.get(external_id="A-1").first_run_id == run.pk


def _mappings():
    return {
        m.external_id: (m.record_id, m.payload_hash, m.first_run_id, m.last_run_id)
        for m in ExternalIdMap.objects.all()
    }


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 1000])
def test_a_reimport_inserts_new_mappings_and_updates_changed_ones(settings, chunk_size):
    """New external ids go straight in; mapped ones are upserted (first_run kept)."""
    settings.IMPORTER_CHUNK_SIZE = chunk_size
    first = import_bytes(BASE)
    before = _mappings()
    assert {key: value[2:] for key, value in before.items()} == dict.fromkeys(
        ("A-1", "A-2", "A-3"), (first.pk, first.pk)
    )
    second = import_bytes(CHANGED)
    after = _mappings()
    assert after["A-2"] == before["A-2"]  # skipped: same payload, not rewritten
    for key in ("A-1", "A-3"):
        assert after[key][0] == before[key][0]
        assert after[key][1] != before[key][1]
        assert after[key][2:] == (first.pk, second.pk)
    assert after["A-4"][2:] == (second.pk, second.pk)
    assert after["A-4"][0] == Organization.objects.get(name="Delta").pk
    assert ExternalIdMap.objects.count() == 4


@pytest.mark.django_db
def test_a_mapping_repointed_by_a_steward_is_updated_by_the_next_import():
    from ingest import identity

    import_bytes(BASE)
    other = Organization.objects.create(name="Other", country="DE", provenance={})
    mapping = ExternalIdMap.objects.get(external_id="A-1")
    identity.id_map_repoint(mapping=mapping, record_id=other.pk, reason="same company", actor=None)
    run = import_bytes(BASE)
    assert (run.updated, run.skipped) == (1, 2)
    mapping.refresh_from_db()
    assert mapping.record_id == other.pk
    assert mapping.payload_hash != ""
    assert mapping.last_run_id == run.pk
    assert ExternalIdMap.objects.count() == 3


@pytest.mark.django_db
def test_a_mapping_whose_record_was_deleted_points_at_the_new_record():
    import_bytes(BASE)
    Organization.objects.filter(name="Acme").delete()
    run = import_bytes(CHANGED)
    assert run.inserted == 2  # Acme again, and Delta
    assert (
        ExternalIdMap.objects.get(external_id="A-1").record_id
        == Organization.objects.get(name="Acme").pk
    )


@pytest.mark.django_db
@pytest.mark.parametrize("meanwhile", [None, lambda: None], ids=["alone", "with work meanwhile"])
def test_new_mappings_that_exist_after_all_are_upserted(meanwhile):
    """The straight insert of new mappings falls back to the upsert when the
    unique key refuses it (a mapping committed by someone else meanwhile),
    in the same transaction; also when the COPY's end was sent first, for
    work to be done meanwhile, and its answer is the refusal."""
    from django.db import transaction

    from ingest.writers import IdMapWriter

    run = import_bytes(BASE)
    row = ExternalIdMap.objects.values_list(
        "source_id",
        "target",
        "external_id",
        "record_id",
        "payload_hash",
        "first_run_id",
        "last_run_id",
    ).get(external_id="A-1")
    fresh = (row[0], row[1], "A-9", 99, "h9", run.pk, run.pk)
    with transaction.atomic():
        IdMapWriter().insert(
            [fresh, row[:3] + (42, "other-hash", run.pk, run.pk)], meanwhile=meanwhile
        )
        assert ExternalIdMap.objects.count() == 4  # the transaction is still usable
    assert _mappings()["A-1"] == (42, "other-hash", run.pk, run.pk)
    assert _mappings()["A-9"] == (99, "h9", run.pk, run.pk)


@pytest.mark.django_db
def test_deleting_a_run_nulls_the_id_maps_run_pointers_and_a_source_with_mappings_is_protected():
    """The id map's foreign keys have no database constraint; Django applies on_delete."""
    from django.db.models import ProtectedError

    from ingest.models import Source

    first = import_bytes(BASE)
    second = import_bytes(CHANGED)
    first.delete()
    assert _mappings()["A-1"][2:] == (None, second.pk)
    assert _mappings()["A-2"][2:] == (None, None)  # skipped by the second run
    second.delete()
    assert {value[2:] for value in _mappings().values()} == {(None, None)}
    with pytest.raises(ProtectedError):
        Source.objects.get(slug="crm").delete()
    assert ExternalIdMap.objects.count() == 4


EDGE_TEXTS = [
    "tab\there",
    "new\nline\r\nend",
    "back\\slash \\N \\t",
    "Zürich Straße 東京 😀",
    "",
    "\\",
    "'quoted' \"double\"",
]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failure_of_the_work_done_meanwhile_is_raised_once_the_copy_has_ended():
    """The COPY's end is sent before the work done meanwhile: should that
    work fail, the COPY's answer is still read first, so the connection
    goes on in its transaction and the failure reaches the caller."""
    from django.db import transaction

    from ingest.writers import IdMapWriter, _pg_cursor

    run = import_bytes(BASE)
    source_id = ExternalIdMap.objects.values_list("source_id", flat=True).first()

    def fail():
        raise ValueError("reading on failed")

    with transaction.atomic():
        with _pg_cursor() as cursor, pytest.raises(ValueError, match="reading on failed"):
            IdMapWriter().writer.copy(
                cursor,
                [(source_id, "organization", "A-9", 99, "h9", run.pk, run.pk)],
                meanwhile=fail,
            )
        assert ExternalIdMap.objects.filter(external_id="A-9").exists()


@pytest.mark.django_db
def test_edge_values_round_trip_through_record_and_id_map_writes():
    """NULLs, tabs, newlines, backslashes, non-ASCII text, JSON, dates and
    datetimes come back as written (COPY on PostgreSQL, INSERT on SQLite),
    for inserts, staged updates and id-map inserts and upserts."""
    import datetime as dt

    from ingest.models import Source
    from ingest.writers import IdMapWriter, JSONText, RecordWriter

    names = [
        "name",
        "country",
        "registration_number",
        "website",
        "email",
        "phone",
        "industry",
        "employees",
        "founded",
        "natural_key",
        "provenance",
        "created_at",
        "modified_at",
    ]
    writer = RecordWriter(Organization, names)
    stamp = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)
    provenance = {
        "name": {
            "source": "s\t\n\\ ü",
            "run": 1,
            "at": stamp.isoformat(),
            "manual": False,
            "x": None,
        }
    }

    def row(text, number):
        return (
            text,
            "DE",
            text[::-1],
            "",
            text[:3],
            "+49",
            text * 2,
            number,
            dt.date(1900 + number % 200, 1, 31) if number % 2 else None,
            text if number % 3 else None,
            JSONText(json.dumps(provenance)) if number % 2 else provenance,
            stamp,
            stamp + dt.timedelta(microseconds=number),
        )

    rows = [row(text, number) for number, text in enumerate(EDGE_TEXTS, start=1)]
    ids = writer.insert(rows)

    def stored():
        by_id = {o.pk: o for o in Organization.objects.filter(pk__in=ids)}
        return [tuple(getattr(by_id[pk], name) for name in names) for pk in ids]

    def expected(rows):
        return [(*r[:10], provenance, *r[11:]) for r in rows]

    assert stored() == expected(rows)
    changed = [row(text + "\t2\\", number + 1) for number, text in enumerate(EDGE_TEXTS, start=1)]
    writer.update([(pk, *r) for pk, r in zip(ids, changed)])
    assert stored() == expected(changed)

    source = Source.objects.create(slug="edge")
    id_map = IdMapWriter()
    id_map.insert(
        [
            (source.pk, "organization", text or "-", pk, "h", None, None)
            for text, pk in zip(EDGE_TEXTS, ids)
        ]
    )
    id_map.upsert(
        [
            (source.pk, "organization", text or "-", pk + 1, "h\t2", None, None)
            for text, pk in zip(EDGE_TEXTS, ids)
        ]
    )
    assert dict(ExternalIdMap.objects.values_list("external_id", "record_id")) == {
        text or "-": pk + 1 for text, pk in zip(EDGE_TEXTS, ids)
    }
    assert set(ExternalIdMap.objects.values_list("payload_hash", flat=True)) == {"h\t2"}
