"""Two writers of the same new natural key take turns (PostgreSQL): while one
chunk that will insert organization DE:HRB1 is uncommitted, a second chunk
with another external id and the same key waits, then resolves to the first
one's record instead of inserting a duplicate. This is what keeps partitions
of one run, and runs of two sources, from creating the same entity twice."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.models import Organization
from ingest import registry
from ingest.pipeline import DECISION_INSERTED, DECISION_RESOLVED, ChunkProcessor
from ingest.readers import ReadRow
from ingest.services import source_get_or_create
from runs.models import ImportRun
from tests.factories import ImportRunFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def processor(slug: str) -> ChunkProcessor:
    source = source_get_or_create(slug=slug)
    run = ImportRunFactory(source=source, status=ImportRun.Status.RUNNING)
    return ChunkProcessor(
        target=registry.get("organization"),
        source=source,
        run_id=run.pk,
        imported_at=timezone.now(),
    )


def row(external_id: str) -> ReadRow:
    return ReadRow(
        number=2,
        values={
            "external_id": external_id,
            "name": "Acme",
            "country": "DE",
            "registration_number": "HRB 1",
        },
    )


def test_a_second_writer_of_the_same_new_natural_key_waits_and_finds_the_first_record():
    first, second = processor("crm"), processor("erp")
    locked, release, results = threading.Event(), threading.Event(), {}

    def first_writer():
        try:
            with transaction.atomic():
                results["first"] = first.process(first.read([row("CRM-1")]))[0]
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def second_writer():
        try:
            with transaction.atomic():
                results["second"] = second.process(second.read([row("ERP-9")]))[0]
        finally:
            connection.close()

    one = threading.Thread(target=first_writer)
    one.start()
    assert locked.wait(10)
    two = threading.Thread(target=second_writer)
    two.start()
    time.sleep(0.5)
    assert two.is_alive(), "the second writer must wait for the first one's commit"
    release.set()
    one.join(10)
    two.join(10)

    assert results["first"].decision == DECISION_INSERTED
    assert results["second"].decision == DECISION_RESOLVED
    assert results["second"].record.id == results["first"].record.id
    assert Organization.objects.count() == 1
