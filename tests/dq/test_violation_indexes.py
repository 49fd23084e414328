"""Every index of a violation costs each import that writes or updates it,
so the foreign keys without an index of their own (migration 0015) must
still be found through another: a composite index that starts with them, or
a partial one over the rows that have a value. A run's or a user's deletion
looks its violations up this way."""

import pytest
from django.db import connection

from dq import selectors
from dq.models import Violation

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LOOK_UPS = [
    {"run_id": 1},
    {"source_id": 1},
    {"assignee_id": 1},
    {"resolved_by_run_id": 1},
    {"remediation_run_id": 1},
    {"first_seen_run_id": 1},
    {"last_seen_run_id": 1},
    {"requeue_outcome": Violation.RequeueOutcome.FAILED_AGAIN},
]


@pytest.mark.parametrize("look_up", LOOK_UPS, ids=lambda look_up: next(iter(look_up)))
def test_each_foreign_key_is_found_through_an_index(look_up):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # what a big table would plan
    plan = Violation.objects.filter(**look_up).explain()
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_the_mostly_empty_foreign_keys_are_indexed_only_where_set():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'dq_violation'"
        )
        definitions = dict(cursor.fetchall())
    for name in ("assignee", "resolved_by_run", "remediation_run"):
        assert f"WHERE ({name}_id IS NOT NULL)" in definitions[f"dq_violation_{name}"]
    indexed_alone = [d for d in definitions.values() if d.endswith("(run_id)")]
    assert indexed_alone == []


def test_payload_search_is_served_by_the_trigram_index_of_the_values():
    """Migration 0017: the index is on exactly the expression the search
    produces (dq.selectors.PayloadValues)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    found = selectors.violations_search(Violation.objects.all(), term="acme", in_payload=True)
    plan = found.explain()
    assert "dq_violation_payload_values_trgm" in plan and "Seq Scan" not in plan, plan
