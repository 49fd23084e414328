"""Issue 18: a bad row imported again is the same violation seen again
(fingerprint, occurrences, first/last seen), a valid row resolves it at the
source, a resolved one that breaks again reopens (regression) unless it is
the row a steward fixed sent again unchanged, an ignored one stays ignored
while its payload is the same."""

import pytest

from core.models import Organization
from dq import fingerprints, services
from dq.models import RemediationAudit, Violation
from dq.occurrences import HISTORY_LIMIT
from runs import services as run_services
from runs.execution import runner
from tests.dq.feeds import BAD, GOOD, HEADER
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db


def feed(*, bad: range = range(1, 11), good: range = range(11, 21)) -> str:
    return HEADER + "".join(BAD.format(n=n) for n in bad) + "".join(GOOD.format(n=n) for n in good)


def live() -> list[Violation]:
    return list(
        Violation.objects.filter(status__in=["open", "requeued"], dry_run=False).order_by(
            "external_id"
        )
    )


def test_the_same_file_three_times_leaves_the_open_violations_of_one_import():
    first = import_bytes(feed())
    import_bytes(feed())
    third = import_bytes(feed())
    assert third.quarantined == 10  # every run still counts its bad rows
    violations = live()
    assert len(violations) == 10
    one = violations[0]
    assert (one.occurrences, one.first_seen_run_id, one.last_seen_run_id, one.run_id) == (
        3,
        first.pk,
        third.pk,
        third.pk,
    )
    assert one.history == []  # the same payload and errors each night: nothing new to keep
    assert one.fingerprint == fingerprints.of_external_id(
        target="organization", source_id=one.source_id, external_id=one.external_id
    )


def test_latest_payload_and_errors_win_and_the_earlier_ones_are_in_the_history():
    import_bytes(HEADER + "A-1,Org 1,XX,info1@example.org\n")
    import_bytes(HEADER + "A-1,Org 1,DE,not-an-email\n")
    (violation,) = live()
    assert violation.payload["email"] == "not-an-email" and violation.payload["country"] == "DE"
    assert violation.codes == "invalid_format" and violation.error_fields == ",email,"
    (entry,) = violation.history
    assert entry["payload"]["country"] == "XX" and entry["errors"][0]["field"] == "country"
    assert entry["run"] == Violation.objects.get().first_seen_run_id


def test_history_is_bounded():
    for n in range(HISTORY_LIMIT + 3):
        import_bytes(HEADER + f"A-1,Org {n},XX,info@example.org\n")
    (violation,) = live()
    assert violation.occurrences == HISTORY_LIMIT + 3
    assert len(violation.history) == HISTORY_LIMIT


def test_a_valid_row_from_the_source_resolves_the_violation():
    import_bytes(feed())
    fixed = import_bytes(feed(bad=range(2, 11), good=range(1, 2)))
    resolved = Violation.objects.get(external_id="A-1")
    assert (resolved.status, resolved.resolution, resolved.resolved_by_run_id) == (
        "resolved",
        "source",
        fixed.pk,
    )
    assert len(live()) == 9


def test_an_unchanged_valid_row_resolves_too():
    """Outcome skipped (the id map already has this payload) also resolves."""
    import_bytes(HEADER + GOOD.format(n=1))
    import_bytes(HEADER + BAD.format(n=1))
    again = import_bytes(HEADER + GOOD.format(n=1))
    assert again.skipped == 1
    assert Violation.objects.get(external_id="A-1").resolution == "source"


def test_a_resolved_violation_that_breaks_again_reopens_as_a_regression():
    first = import_bytes(HEADER + BAD.format(n=1))
    import_bytes(HEADER + GOOD.format(n=1))
    broke = import_bytes(HEADER + BAD.format(n=1))
    (violation,) = Violation.objects.filter(dry_run=False)
    assert (violation.status, violation.regressions, violation.resolution) == ("open", 1, None)
    assert (violation.first_seen_run_id, violation.last_seen_run_id, violation.occurrences) == (
        first.pk,
        broke.pk,
        2,
    )
    assert (
        RemediationAudit.objects.filter(
            violation=violation, action="reopen", outcome="regressed"
        ).count()
        == 1
    )


EMPLOYEES = "external_id,name,country,employees\nA-1,Org 1,DE,{employees}\n"


def fixed_by_the_steward(requeue) -> Violation:
    """A row with employees "12a" imported, fixed to "12" through the
    service the API's PATCH uses, and requeued: resolved, in core."""
    import_bytes(EMPLOYEES.format(employees="12a"))
    violation = Violation.objects.get(dry_run=False)
    services.violation_edit(
        violation=violation, payload={**violation.payload, "employees": "12"}, actor=None
    )
    requeue(Violation.objects.filter(pk=violation.pk))
    violation.refresh_from_db()
    assert (violation.status, violation.resolution) == ("resolved", "steward")
    assert Organization.objects.get(name="Org 1").employees == 12
    return violation


def test_a_row_the_steward_fixed_sent_again_unchanged_stays_resolved(requeue):
    """The nightly feed sends the bad row the steward already fixed: the fix
    stands (in core and in the inbox), the occurrence is counted."""
    violation = fixed_by_the_steward(requeue)
    again = import_bytes(EMPLOYEES.format(employees="12a"))
    assert again.quarantined == 1  # the bad copy is quarantined, it cannot reach core
    violation.refresh_from_db()
    assert (violation.status, violation.resolution, violation.requeue_outcome) == (
        "resolved",
        "steward",
        "resolved",
    )
    assert (violation.regressions, violation.occurrences, violation.last_seen_run_id) == (
        0,
        2,
        again.pk,
    )
    assert violation.payload["employees"] == "12"  # the editor keeps the steward's fix
    assert not RemediationAudit.objects.filter(violation=violation, action="reopen").exists()
    assert Organization.objects.get(name="Org 1").employees == 12
    assert Violation.objects.filter(dry_run=False).count() == 1


def test_a_row_the_steward_fixed_sent_again_differently_bad_regresses(requeue):
    violation = fixed_by_the_steward(requeue)
    import_bytes(EMPLOYEES.format(employees="12a"))
    import_bytes(EMPLOYEES.format(employees="twelve"))
    violation.refresh_from_db()
    assert (violation.status, violation.regressions, violation.occurrences) == ("open", 1, 3)
    assert (violation.resolution, violation.requeue_outcome) == (None, None)
    assert violation.payload["employees"] == "twelve"
    assert (
        RemediationAudit.objects.filter(
            violation=violation, action="reopen", outcome="regressed"
        ).count()
        == 1
    )
    assert Organization.objects.get(name="Org 1").employees == 12


def test_an_ignored_violation_stays_ignored_while_its_payload_is_the_same():
    import_bytes(HEADER + BAD.format(n=1))
    services.violations_ignore(
        violations=Violation.objects.all(), reason="Known test row", actor=None
    )
    import_bytes(HEADER + BAD.format(n=1))
    (violation,) = Violation.objects.filter(dry_run=False)
    assert (violation.status, violation.occurrences) == ("ignored", 2)

    import_bytes(HEADER + "A-1,Org 1,YY,info1@example.org\n")
    (violation,) = Violation.objects.filter(dry_run=False)
    assert (violation.status, violation.occurrences, violation.payload["country"]) == (
        "open",
        3,
        "YY",
    )
    assert violation.regressions == 0


def test_a_valid_row_resolves_an_ignored_violation_at_the_source():
    """Found by the lifecycle property test: left ignored, a steward's
    reopen brought back an open violation of a row since imported valid."""
    import_bytes(HEADER + BAD.format(n=1))
    services.violations_ignore(
        violations=Violation.objects.all(), reason="Known test row", actor=None
    )
    run = import_bytes(HEADER + GOOD.format(n=1))
    (violation,) = Violation.objects.filter(dry_run=False)
    assert (violation.status, violation.resolution, violation.resolved_by_run_id) == (
        "resolved",
        "source",
        run.pk,
    )
    with pytest.raises(services.StateConflict):
        services.violation_reopen(violation=violation, actor=None)


def test_file_order_decides_within_a_run():
    """A valid row, then the same id with other values later in the file:
    the duplicate stays quarantined. A bad row, then a valid one: resolved."""
    import_bytes(HEADER + BAD.format(n=1) + BAD.format(n=2))
    import_bytes(
        HEADER
        + GOOD.format(n=1)
        + "A-1,Other,FR,x@example.org\n"
        + BAD.format(n=2)
        + GOOD.format(n=2)
    )
    one = Violation.objects.get(external_id="A-1", dry_run=False)
    two = Violation.objects.get(external_id="A-2", dry_run=False)
    assert (one.status, one.codes) == ("open", "duplicate_in_file")
    assert (two.status, two.resolution) == ("resolved", "source")


def test_a_bad_row_then_its_valid_row_in_one_new_file_ends_resolved():
    """The run's own violation, made earlier in the same chunk, is resolved
    by the valid row after it (the row was not open when the run began)."""
    run = import_bytes(HEADER + BAD.format(n=1) + GOOD.format(n=1))
    violation = Violation.objects.get()
    assert (violation.status, violation.resolution, violation.resolved_by_run_id) == (
        "resolved",
        "source",
        run.pk,
    )


def test_rows_without_a_usable_external_id_group_by_their_raw_text():
    text = HEADER + ",Nameless,DE,a@example.org\nA-9,too,many,fields,here\n"
    import_bytes(text)
    import_bytes(text)
    violations = live()
    assert len(violations) == 2 and {v.occurrences for v in violations} == {2}


def test_sources_and_targets_do_not_share_fingerprints():
    import_bytes(HEADER + BAD.format(n=1), source="crm")
    import_bytes(HEADER + BAD.format(n=1), source="erp")
    assert len(live()) == 2


def test_dry_runs_stay_separate_and_run_for_real_twice_then_replay_gives_one_violation():
    dry = import_bytes(feed(), dry_run=True)
    for _ in range(2):
        real = run_services.run_for_real(run=dry)
        runner.run_execute(run_id=real.pk)
    replay = run_services.run_replay(run=real)
    runner.run_execute(run_id=replay.pk)
    assert Violation.objects.filter(dry_run=True).count() == 10
    assert len(live()) == 10
    assert {v.occurrences for v in live()} == {3}


def test_requeue_records_its_outcome(requeue):
    import_bytes(HEADER + BAD.format(n=1) + BAD.format(n=2))
    fixed = Violation.objects.get(external_id="A-1")
    services.violation_edit(violation=fixed, payload={**fixed.payload, "country": "DE"}, actor=None)
    result = requeue(Violation.objects.filter(status="open"))
    assert result.requeued == 2
    fixed.refresh_from_db()
    failed = Violation.objects.get(external_id="A-2")
    assert (fixed.status, fixed.resolution, fixed.requeue_outcome) == (
        "resolved",
        "steward",
        "resolved",
    )
    assert (failed.status, failed.requeue_outcome) == ("open", "failed_again")
    assert failed.errors[0]["field"] == "country"


def test_reopening_an_ignored_violation_while_its_row_is_open_again_is_refused():
    """Two violations of one row can only predate the fingerprints (merged
    by migration 0009 only when open): reopening the older one must be a
    clear error, not a 500 from the unique index."""
    import_bytes(HEADER + BAD.format(n=1))
    old = Violation.objects.get()
    services.violations_ignore(violations=Violation.objects.all(), reason="not ours", actor=None)
    newer = Violation.objects.get(pk=old.pk)
    newer.pk = None
    newer.status = "open"
    newer.save()
    with pytest.raises(services.UsageError) as error:
        services.violation_reopen(violation=old, actor=None)
    assert error.value.message == services.ALREADY_OPEN.format(pk=old.pk, other=newer.pk)
    assert Violation.objects.get(pk=old.pk).status == "ignored"


def test_payload_and_errors_keep_quotes_backslashes_and_other_scripts_through_the_upsert():
    name = 'Say "hi" \\ back\\slash, {braces}, Zürich 東京 \u2400'
    text = HEADER + f'A-1,"{name.replace(chr(34), chr(34) * 2)}",XX,info1@example.org\n'
    for _ in range(2):  # inserted, then updated by the repeat
        import_bytes(text)
        (violation,) = live()
        assert violation.payload["name"] == name
        assert violation.errors[0]["field"] == "country"
    assert violation.occurrences == 2 and violation.history == []
