"""The remediation loop: requeue → remediation run → each violation resolved
or open again with its new errors."""

import pytest

from core.models import Contact, Organization
from dq import services
from dq.models import RemediationAudit, Violation
from runs.models import ImportRun
from tests.importing import import_golden, violation_at

pytestmark = pytest.mark.django_db


def test_a_fixed_row_is_imported_and_its_violation_resolved(rules_run, steward, requeue):
    violation = violation_at(rules_run, 3)  # name missing
    services.violation_edit(
        violation=violation, payload={**violation.payload, "name": "Named Now GmbH"}, actor=steward
    )
    result = requeue(Violation.objects.filter(pk=violation.pk), steward)

    assert result.requeued == 1 and len(result.runs) == 1
    run = ImportRun.objects.get(pk=result.runs[0].pk)
    assert (run.kind, run.status, run.inserted, run.quarantined) == (
        "remediation",
        "succeeded",
        1,
        0,
    )
    assert run.parent_run_id == rules_run.pk
    assert run.ingest_params_json["violation_ids"] == [violation.pk]
    assert run.ingest_params_json["original_runs"] == [rules_run.pk]
    assert run.created_by == steward
    violation.refresh_from_db()
    assert (violation.status, violation.resolved_by_run_id) == ("resolved", run.pk)
    assert violation.resolved_at is not None
    assert Organization.objects.filter(name="Named Now GmbH").exists()
    actions = list(violation.audits.order_by("id").values_list("action", "outcome"))
    assert actions == [("edit", "saved"), ("requeue", "requeued"), ("result", "resolved")]


def test_a_still_bad_row_stays_open_with_its_new_errors(rules_run, steward, requeue):
    unfixed = violation_at(rules_run, 4)  # bad e-mail, requeued as it is
    fixed = violation_at(rules_run, 13)  # ZZ country, bad e-mail, "many" employees
    services.violation_edit(
        violation=fixed,
        payload={**fixed.payload, "country": "DE", "email": "", "employees": "12"},
        actor=steward,
    )
    # Valid on its own, but it takes fixed's external id with other values: only the
    # pipeline sees that (duplicate_in_file), so the row comes back with a new error.
    clash = violation_at(rules_run, 14)
    services.violation_edit(
        violation=clash,
        payload={**clash.payload, "external_id": "ORG-110", "website": ""},
        actor=steward,
    )
    result = requeue(Violation.objects.filter(pk__in=[unfixed.pk, fixed.pk, clash.pk]), steward)

    run = result.runs[0]
    run.refresh_from_db()
    assert (run.status, run.inserted, run.quarantined) == ("partial", 1, 2)
    for violation in (unfixed, fixed, clash):
        violation.refresh_from_db()
    assert fixed.status == "resolved"
    assert unfixed.status == "open"
    assert [(e["field"], e["code"]) for e in unfixed.errors] == [("email", "invalid_format")]
    assert clash.status == "open"
    assert [(e["field"], e["code"]) for e in clash.errors] == [("external_id", "duplicate_in_file")]
    assert clash.codes == "duplicate_in_file" and clash.error_fields == ",external_id,"
    assert clash.audits.filter(action="result", outcome="failed").count() == 1


def test_a_double_requeue_imports_once(rules_run, steward, requeue):
    violation = violation_at(rules_run, 3)
    services.violation_edit(
        violation=violation, payload={**violation.payload, "name": "Once Only"}, actor=steward
    )
    first = requeue(Violation.objects.filter(pk=violation.pk), steward)
    second = requeue(Violation.objects.filter(pk=violation.pk), steward)

    assert (first.requeued, second.requeued, second.not_requeued, second.runs) == (1, 0, 1, [])
    assert ImportRun.objects.filter(kind="remediation").count() == 1
    assert Organization.objects.filter(name="Once Only").count() == 1
    assert RemediationAudit.objects.filter(violation=violation, action="requeue").count() == 1


def test_a_double_requeue_while_the_first_is_queued_claims_nothing(
    rules_run, steward, settings, monkeypatch, requeue
):
    """The compare-and-set, without the synchronous queue running the first at once."""
    monkeypatch.setattr("runs.services.run_enqueue", lambda run: None)
    violation = violation_at(rules_run, 3)
    first = requeue(Violation.objects.filter(pk=violation.pk), steward)
    second = requeue(Violation.objects.filter(pk=violation.pk), steward)
    assert (first.requeued, second.requeued) == (1, 0)
    violation.refresh_from_db()
    assert violation.status == "requeued" and violation.remediation_run_id == first.runs[0].pk


def test_an_unknown_reference_resolves_after_the_referenced_record_arrives(db, steward, requeue):
    import_golden("01_organizations_clean.csv")
    contacts = import_golden("06_contacts.csv")
    violation = violation_at(contacts, 3)  # CON-002 → ORG-999, not known yet
    assert violation.codes == "unknown_reference"

    requeue(Violation.objects.filter(pk=violation.pk), steward)
    violation.refresh_from_db()
    assert violation.status == "open" and violation.codes == "unknown_reference"

    import_golden("07_organizations_late.csv")
    requeue(Violation.objects.filter(pk=violation.pk), steward)
    violation.refresh_from_db()
    assert violation.status == "resolved"
    assert Contact.objects.filter(last_name="Jones", organization__name="Late Arrival BV").exists()


def test_one_remediation_run_per_target_and_source(db, steward, requeue):
    import_golden("01_organizations_clean.csv")
    rules = import_golden("02_organizations_rules.csv")
    contacts = import_golden("06_contacts.csv")
    ids = [violation_at(rules, 3).pk, violation_at(rules, 4).pk, violation_at(contacts, 5).pk]
    result = requeue(Violation.objects.filter(pk__in=ids), steward)
    assert sorted(run.target for run in result.runs) == ["contact", "organization"]
    organization_run = next(run for run in result.runs if run.target == "organization")
    assert organization_run.ingest_params_json["violation_ids"] == ids[:2]  # row order


def test_a_failed_remediation_run_puts_its_violations_back_to_open(
    rules_run, steward, monkeypatch, requeue
):
    def crash(run, part, **options):
        raise RuntimeError("boom")

    monkeypatch.setattr("runs.execution.partitions.import_partition", crash)
    violation = violation_at(rules_run, 3)
    result = requeue(Violation.objects.filter(pk=violation.pk), steward)
    result.runs[0].refresh_from_db()
    assert result.runs[0].status == "failed"
    violation.refresh_from_db()
    assert violation.status == "open"
    audit = violation.audits.get(action="result")
    assert audit.outcome == "failed" and "failed" in audit.reason


def test_dry_run_violations_are_read_only(db, steward, requeue):
    import_golden("01_organizations_clean.csv")
    dry = import_golden("03_organizations_dry_run.csv", dry_run=True)
    violation = Violation.objects.get(run=dry)
    assert violation.dry_run
    with pytest.raises(services.UsageError) as error:
        services.violation_edit(violation=violation, payload=violation.payload, actor=steward)
    assert error.value.message == services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=dry.pk)
    assert requeue(Violation.objects.filter(pk=violation.pk), steward).requeued == 0
