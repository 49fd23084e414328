"""Two runs quarantining the same row at once make one violation: the
partial unique index orders them, and the second upsert updates the first's
row. On PostgreSQL, with two connections whose transactions overlap."""

import threading

import pytest
from django.db import connection, transaction

from dq import fingerprints
from dq.models import Violation
from dq.occurrences import Occurrence, violations_record_chunk
from ingest.models import Source
from tests.factories import ImportRunFactory, SourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def occurrence(source: Source, country: str) -> Occurrence:
    payload = {"external_id": "A-1", "name": "Acme", "country": country}
    errors = [{"field": "country", "code": "invalid_choice", "message": "bad"}]
    return Occurrence(
        fingerprint=fingerprints.of_external_id(
            target="organization", source_id=source.pk, external_id="A-1"
        ),
        row_number=2,
        external_id="A-1",
        payload=payload,
        errors=errors,
        codes="invalid_choice",
        error_fields=",country,",
    )


def overlap(first, second) -> list[BaseException]:
    """``first`` writes and holds its transaction open while ``second``
    writes (and waits on the index), then commits."""
    written = threading.Event()
    errors: list[BaseException] = []

    def one():
        try:
            with transaction.atomic():
                first()
                written.set()
                threading.Event().wait(0.5)  # second is now blocked on our index entry
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            written.set()
        finally:
            connection.close()

    def two():
        try:
            written.wait(10)
            with transaction.atomic():
                second()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.fixture
def source_and_runs():
    source = SourceFactory(name="crm")
    runs = [ImportRunFactory(source=source, status="running") for _ in range(3)]
    return source, runs


def test_two_runs_quarantining_the_same_row_at_once_make_one_violation(source_and_runs):
    source, (first, second, _) = source_and_runs

    def record(run, country):
        return lambda: violations_record_chunk(
            run_id=run.pk,
            target="organization",
            source_id=source.pk,
            quarantined=[occurrence(source, country)],
            valid_fingerprints=[],
        )

    assert overlap(record(first, "XX"), record(second, "YY")) == []
    (violation,) = Violation.objects.all()
    assert (violation.status, violation.occurrences, violation.payload["country"]) == (
        "open",
        2,
        "YY",
    )
    assert (violation.first_seen_run_id, violation.last_seen_run_id) == (first.pk, second.pk)


def test_two_runs_reopening_the_same_resolved_row_at_once_make_one_open_violation(source_and_runs):
    source, (first, second, third) = source_and_runs
    violations_record_chunk(
        run_id=first.pk,
        target="organization",
        source_id=source.pk,
        quarantined=[occurrence(source, "XX")],
        valid_fingerprints=[],
    )
    Violation.objects.update(status="resolved", resolution="steward")

    def record(run):
        return lambda: violations_record_chunk(
            run_id=run.pk,
            target="organization",
            source_id=source.pk,
            quarantined=[occurrence(source, "ZZ")],
            valid_fingerprints=[],
        )

    assert overlap(record(second), record(third)) == []
    live = Violation.objects.filter(status__in=["open", "requeued"])
    assert live.count() == 1
    assert sum(Violation.objects.values_list("occurrences", flat=True)) == 3
