"""The identity look-ups are raw SQL; they must read what the ORM reads."""

import datetime as dt

import pytest
from django.db import connection

from core.models import Organization
from ingest import resolve
from ingest.models import ExternalIdMap, Source

pytestmark = pytest.mark.django_db

ATTNAMES = ["name", "country", "registration_number", "employees", "founded"]


def test_records_load_reads_values_and_provenance_like_the_orm():
    provenance = {
        "name": {
            "source": "crm",
            "run": 1,
            "at": "2024-01-01T00:00:00.000000+00:00",
            "manual": True,
        }
    }
    full = Organization.objects.create(
        name="Acme",
        country="DE",
        registration_number="HRB1",
        employees=12,
        founded=dt.date(1999, 12, 31),
        provenance=provenance,
    )
    sparse = Organization.objects.create(name="Bare", country="FR")
    loaded = resolve.records_load(
        model=Organization, ids=[full.pk, sparse.pk, 999_999], attnames=ATTNAMES
    )
    assert set(loaded) == {full.pk, sparse.pk}
    for record in (full, sparse):
        orm = Organization.objects.values(*ATTNAMES).get(pk=record.pk)
        assert loaded[record.pk] == (orm, Organization.objects.get(pk=record.pk).provenance)
    assert isinstance(loaded[full.pk][0]["founded"], dt.date)


def test_natural_key_lookup_lists_every_holder_oldest_first():
    first = Organization.objects.create(name="A", country="DE", natural_key="DE:1")
    second = Organization.objects.create(name="B", country="DE", natural_key="DE:1")
    other = Organization.objects.create(name="C", country="FR", natural_key="FR:2")
    found = resolve.natural_key_lookup(model=Organization, keys=["DE:1", "FR:2", "NL:3"])
    assert found == {"DE:1": [first.pk, second.pk], "FR:2": [other.pk]}


def test_id_map_lookup_is_scoped_to_source_and_target():
    crm, erp = Source.objects.create(slug="crm"), Source.objects.create(slug="erp")
    for source, target, record_id in (
        (crm, "organization", 1),
        (erp, "organization", 2),
        (crm, "contact", 3),
    ):
        ExternalIdMap.objects.create(
            source=source, target=target, external_id="X-1", record_id=record_id, payload_hash="h"
        )
    found = resolve.id_map_lookup(
        source_id=crm.pk, target="organization", external_ids=["X-1", "X-2", "it's"]
    )
    assert {key: (m.record_id, m.payload_hash) for key, m in found.items()} == {"X-1": (1, "h")}
    assert resolve.id_map_lookup(source_id=crm.pk, target="organization", external_ids=[]) == {}


# Text that a hand-made array or JSON literal could garble.
AWKWARD = ['say "hi"', "back\\slash", "{a,b}", "it's", "NULL", "Zürich 東京", "tab\there", " "]


def test_look_ups_find_values_with_quotes_braces_and_other_scripts():
    source = Source.objects.create(slug="crm")
    for number, value in enumerate(AWKWARD):
        Organization.objects.create(name=value, country="DE", natural_key=value)
        ExternalIdMap.objects.create(
            source=source,
            target="organization",
            external_id=value,
            record_id=number,
            payload_hash="h",
        )
    mapped = resolve.id_map_lookup(
        source_id=source.pk, target="organization", external_ids=[*AWKWARD, "absent"]
    )
    assert sorted(mapped) == sorted(AWKWARD)
    assert [mapped[value].record_id for value in AWKWARD] == list(range(len(AWKWARD)))
    holders = resolve.natural_key_lookup(model=Organization, keys=[*AWKWARD, "absent"])
    assert sorted(holders) == sorted(AWKWARD)
    resolve.lock_natural_keys(target="organization", keys=AWKWARD)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
            )
            assert cursor.fetchone() == (len(AWKWARD),)
