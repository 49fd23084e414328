"""Migration 0009 merges today's duplicate open violations into one per
fingerprint (newest payload kept, occurrences summed, audits moved), so
that 0010's constraint holds. Run forward from 0008 on real rows; on
PostgreSQL also on a copy with 100k violations, made by bulk SQL."""

import time

import pytest
from django.db import connection

from dq import fingerprints
from tests.migrating import latest, migrate

pytestmark = pytest.mark.django_db(transaction=True)

# The other apps stay at their latest migration (their tables as they are).
# Each named here, so the historical models the test writes through have
# the columns the tables have (a NOT NULL column without a database default
# would refuse their inserts).
OTHERS = [("runs", "0005_run_values_mapped"), ("ingest", "0005_source_profile")]
BEFORE = [("dq", "0008_occurrences"), *OTHERS]
AFTER = [("dq", "0010_one_live_violation_per_fingerprint"), *OTHERS]


@pytest.fixture
def at_0008():
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def _runs_and_source(apps):
    Source = apps.get_model("ingest", "Source")
    ImportRun = apps.get_model("runs", "ImportRun")
    source = Source.objects.create(slug="crm", name="crm")
    runs = [
        ImportRun.objects.create(target="organization", source=source, status="partial")
        for _ in range(3)
    ]
    return source, runs


def test_duplicates_merge_into_the_newest(at_0008):
    apps = at_0008
    Violation = apps.get_model("dq", "Violation")
    Audit = apps.get_model("dq", "RemediationAudit")
    source, runs = _runs_and_source(apps)

    def make(run, external_id, country, status="open", **extra):
        return Violation.objects.create(
            run=run,
            target="organization",
            source=source,
            row_number=2,
            external_id=external_id,
            payload={"external_id": external_id, "country": country},
            errors=[],
            codes="invalid_choice",
            status=status,
            **extra,
        )

    old = make(runs[0], "A-1", "XX")
    middle = make(runs[1], "A-1", "YY", status="requeued")
    newest = make(runs[2], "A-1", "ZZ")
    Audit.objects.create(violation=old, action="edit", outcome="saved")
    resolved = make(runs[0], "A-2", "XX", status="resolved")
    single = make(runs[2], "A-3", "XX")
    dry = make(runs[0], "A-1", "XX", dry_run=True)
    nameless = [make(runs[n], "", "XX") for n in range(2)]

    apps = migrate(AFTER)
    Violation = apps.get_model("dq", "Violation")
    Audit = apps.get_model("dq", "RemediationAudit")
    live = Violation.objects.filter(dry_run=False, status__in=["open", "requeued"])
    assert sorted(live.values_list("external_id", flat=True)) == ["", "A-1", "A-3"]
    merged = Violation.objects.get(pk=newest.pk)
    assert (merged.payload["country"], merged.occurrences) == ("ZZ", 3)
    assert (merged.first_seen_run_id, merged.last_seen_run_id) == (runs[0].pk, runs[2].pk)
    assert merged.fingerprint == fingerprints.of_external_id(
        target="organization", source_id=source.pk, external_id="A-1"
    )
    assert not Violation.objects.filter(pk__in=[old.pk, middle.pk]).exists()
    assert Audit.objects.get().violation_id == newest.pk
    assert Violation.objects.get(pk=resolved.pk).resolution == "steward"
    assert Violation.objects.get(pk=single.pk).occurrences == 1
    assert Violation.objects.filter(pk=dry.pk).exists()
    assert Violation.objects.get(external_id="", dry_run=False).occurrences == 2
    assert Violation.objects.get(external_id="", dry_run=False).pk == nameless[1].pk


@pytest.mark.postgres
def test_a_copy_with_100k_violations(at_0008):
    """100k open violations of 40k rows (each seen 1 to 4 times), plus
    resolved ones: one open violation per row afterwards, none lost."""
    apps = at_0008
    source, runs = _runs_and_source(apps)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO dq_violation (run_id, target, source_id, row_number, external_id, payload, errors, codes,
                error_fields, dry_run, status, ignore_reason, action_token, created_at, updated_at, fingerprint,
                occurrences, regressions, history)
            SELECT %s, 'organization', %s, n, 'B-' || (n %% 40000), jsonb_build_object('external_id', 'B-' || (n %% 40000), 'n', n),
                '[]'::jsonb, 'invalid_choice', ',country,', false, CASE WHEN n > 100000 THEN 'resolved' ELSE 'open' END,
                '', '', now(), now(), '', 1, 0, '[]'::jsonb
            FROM generate_series(1, 110000) AS n
            """,
            [runs[0].pk, source.pk],
        )
    started = time.monotonic()
    apps = migrate(AFTER)
    elapsed = time.monotonic() - started
    Violation = apps.get_model("dq", "Violation")
    live = Violation.objects.filter(status="open")
    assert live.count() == 40000
    assert sum(live.values_list("occurrences", flat=True)) == 100000
    # The newest payload (highest n) stayed.
    assert Violation.objects.get(status="open", external_id="B-1").payload["n"] == 80001
    assert Violation.objects.filter(status="resolved").count() == 10000
    assert elapsed < 120, f"migration took {elapsed:.1f}s"
