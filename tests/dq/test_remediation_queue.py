"""A requeue goes through the real imports queue and a real (forking) RQ
worker, committed in between like in production."""

import django_rq
import pytest

from core.models import Organization
from dq import services
from dq.models import Violation
from runs.models import ImportRun
from tests.importing import import_golden, violation_at

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_imports_queue"),
]


def test_a_requeue_is_imported_by_a_worker_and_resolves_the_violation():
    import_golden("01_organizations_clean.csv")
    rules = import_golden("02_organizations_rules.csv")
    violation = violation_at(rules, 3)
    services.violation_edit(
        violation=violation, payload={**violation.payload, "name": "Queued Fix"}, actor=None
    )
    result = services.violations_requeue(
        violations=Violation.objects.filter(pk=violation.pk), actor=None
    )
    assert (
        services.violations_requeue(
            violations=Violation.objects.filter(pk=violation.pk), actor=None
        ).requeued
        == 0
    )

    run = ImportRun.objects.get(pk=result.runs[0].pk)
    assert run.status == "queued" and run.job_id
    assert django_rq.get_queue("imports").count == 1
    django_rq.get_worker("imports").work(burst=True)

    run.refresh_from_db()
    violation.refresh_from_db()
    assert (run.status, run.inserted) == ("succeeded", 1)
    assert (violation.status, violation.resolved_by_run_id) == ("resolved", run.pk)
    assert Organization.objects.filter(name="Queued Fix").count() == 1
