"""Provenance through the ORM: stored with each entry once, read per field."""

import datetime as dt
import json

import pytest
from django.db import connection

from core.models import Organization
from ingest import survivorship

pytestmark = pytest.mark.django_db

ENTRY = {
    "source": "crm",
    "run": 7,
    "at": "2024-05-01T12:00:00.000000+00:00",
    "manual": False,
    "rule": "non_null",
}


def stored_text(record: Organization) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT provenance FROM core_organization WHERE id = %s", [record.pk])
        value = cursor.fetchone()[0]
    return json.loads(value) if isinstance(value, str) else value


def test_the_orm_stores_the_compact_form_and_reads_the_per_field_form():
    record = Organization.objects.create(
        name="Acme", country="DE", provenance={"name": ENTRY, "country": dict(ENTRY)}
    )
    assert stored_text(record) == {"entries": [ENTRY], "fields": {"name": 0, "country": 0}}
    assert Organization.objects.get(pk=record.pk).provenance == {"name": ENTRY, "country": ENTRY}


def test_a_manual_mark_saved_through_update_reads_back():
    record = Organization.objects.create(name="Acme", country="DE", provenance={"name": ENTRY})
    provenance = dict(record.provenance)
    survivorship.mark_manual(
        provenance, ["name"], actor="steward", at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    Organization.objects.filter(pk=record.pk).update(provenance=provenance)
    assert Organization.objects.get(pk=record.pk).provenance["name"]["manual"] is True
    assert stored_text(record)["fields"] == {"name": 0}


def test_rows_stored_per_field_before_this_format_still_read():
    record = Organization.objects.create(name="Acme", country="DE")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_organization SET provenance = %s WHERE id = %s",
            [json.dumps({"name": ENTRY}), record.pk],
        )
    assert Organization.objects.get(pk=record.pk).provenance == {"name": ENTRY}
