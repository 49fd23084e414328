"""Issue 18's story end to end, as a steward with a nightly feed lives it,
on PostgreSQL with a real (forking) RQ worker: import the same file three
times, the source fixes a row, the row breaks again, requeue unfixed rows,
replace a value with remember, import again."""

import django_rq
import pytest
from django.db import transaction

from dq import services
from dq.models import Violation
from runs import services as run_services
from runs.models import ImportRun
from tests.importing import create_run

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]

HEADER = "external_id,name,country,email\n"
GOOD = "A-{n},Org {n},DE,info{n}@example.org\n"
GERMANY = "A-{n},Org {n},Germany,info{n}@example.org\n"
BAD_EMAIL = "A-{n},Org {n},FR,info{n}-at-example.org\n"


def nightly(fixed: set[int] = frozenset(), broken: set[int] = frozenset()) -> str:
    """Rows 1-10 good, 11-16 with country 'Germany', 17-20 with a bad email."""
    rows = []
    for n in range(1, 21):
        if n in fixed or (n <= 10 and n not in broken):
            rows.append(GOOD.format(n=n))
        elif n <= 16 or n in broken:
            rows.append(GERMANY.format(n=n))
        else:
            rows.append(BAD_EMAIL.format(n=n))
    return HEADER + "".join(rows)


def drain() -> None:
    django_rq.get_worker("imports").work(burst=True)


def upload(text: str) -> ImportRun:
    with transaction.atomic():
        run = create_run(text, source="nightly", filename="nightly.csv")
        run_services.run_enqueue(run=run)
    drain()
    run.refresh_from_db()
    return run


def requeue(violations) -> services.RequeueResult:
    result = services.violations_requeue(violations=violations, actor=None)
    drain()
    return result


def live():
    return Violation.objects.filter(dry_run=False, status__in=["open", "requeued"])


def test_the_nightly_feed():
    # Imported three times: the open violations of one import.
    runs = [upload(nightly()) for _ in range(3)]
    assert [run.status for run in runs] == ["partial"] * 3
    assert live().count() == 10
    assert set(live().values_list("occurrences", flat=True)) == {3}
    assert set(live().values_list("first_seen_run", "last_seen_run").distinct()) == {
        (runs[0].pk, runs[2].pk)
    }

    # The source fixes row 11: resolved at the source.
    fixed = upload(nightly(fixed={11}))
    eleven = Violation.objects.get(external_id="A-11")
    assert (eleven.status, eleven.resolution, eleven.resolved_by_run_id) == (
        "resolved",
        "source",
        fixed.pk,
    )
    assert live().count() == 9

    # It breaks again: the same violation reopens, a regression.
    upload(nightly())
    eleven.refresh_from_db()
    assert (eleven.status, eleven.regressions, eleven.occurrences) == ("open", 1, 4)
    assert Violation.objects.filter(external_id="A-11").count() == 1

    # Requeue the bad emails unfixed: they fail again, and say so.
    result = requeue(live().filter(codes="invalid_format"))
    assert result.requeued == 4
    failed = Violation.objects.filter(requeue_outcome="failed_again")
    assert failed.count() == 4 and set(failed.values_list("status", flat=True)) == {"open"}

    # Replace Germany by DE for the whole group, requeue, remember.
    result = services.violations_replace_value(
        violations=live().filter(target="organization", source__slug="nightly"),
        field_name="country",
        from_value="Germany",
        to_value="DE",
        actor=None,
        requeue=True,
        remember=True,
    )
    drain()
    assert (result.matched, result.replaced, len(result.remembered)) == (6, 6, 1)
    germany = Violation.objects.filter(external_id__in=[f"A-{n}" for n in range(11, 17)])
    assert set(germany.values_list("status", "resolution", "requeue_outcome")) == {
        ("resolved", "steward", "resolved")
    }

    # The next night's file: Germany never shows again; only the bad emails, seen once more.
    again = upload(nightly())
    assert (again.quarantined, again.values_mapped) == (4, 6)
    assert again.ingest_params_json["value_mappings"] == {"country": {"Germany": "DE"}}
    assert sorted(live().values_list("external_id", flat=True)) == [f"A-{n}" for n in range(17, 21)]
    assert set(live().values_list("occurrences", flat=True)) == {6}
    assert not germany.filter(status="open").exists()
