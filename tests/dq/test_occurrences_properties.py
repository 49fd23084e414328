"""Property test of the violation lifecycle over random sequences of
imports (small pools of ids, good and bad variants, repeats within a file,
chunks of two rows so a fingerprint meets itself across chunks) and steward
actions (fix and requeue, requeue unfixed, ignore, reopen). After every
step:

- at most one open or requeued violation per fingerprint;
- every open violation's payload is the latest one seen for its row (the
  last quarantined row of it, or the steward's edit after that);
- a row whose last appearance was valid has no open violation.

Each example runs in a transaction that is rolled back.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dq import services
from dq.models import Violation
from runs.execution import runner
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

IDS = ["A-1", "A-2", "A-3"]
COUNTRIES = ["DE", "DE", "XX", "YY"]  # XX and YY are quarantined
FIELDS = ["external_id", "name", "country", "email"]

row = st.tuples(st.sampled_from(IDS), st.sampled_from(COUNTRIES), st.sampled_from(["Acme", "Beta"]))
step = st.one_of(
    st.tuples(st.just("import"), st.lists(row, min_size=1, max_size=6)),
    st.tuples(
        st.sampled_from(["fix_and_requeue", "requeue", "ignore", "reopen"]), st.sampled_from(IDS)
    ),
)


class _Rollback(Exception):
    pass


def payload_of(external_id: str, country: str, name: str) -> dict[str, str]:
    return {"external_id": external_id, "name": name, "country": country, "email": "a@example.org"}


def import_rows(rows: list[dict[str, str]]) -> None:
    text = ",".join(FIELDS) + "\n" + "".join(",".join(r[f] for f in FIELDS) + "\n" for r in rows)
    import_bytes(text, filename="feed.csv")


class Model:
    """What the inbox should show: each row's latest payload seen (a bad row,
    or a steward's edit), and whether its last appearance was valid."""

    def __init__(self) -> None:
        self.latest: dict[str, dict[str, str]] = {}
        self.last_valid: set[str] = set()

    def imported(self, rows: list[dict[str, str]]) -> None:
        valid_in_file: dict[str, dict[str, str]] = {}
        for r in rows:
            external_id = r["external_id"]
            bad = r["country"] not in ("DE",)
            duplicate = external_id in valid_in_file and valid_in_file[external_id] != r
            if bad or duplicate:
                self.latest[external_id] = r
                self.last_valid.discard(external_id)
            else:
                valid_in_file.setdefault(external_id, r)
                self.last_valid.add(external_id)


def check(model: Model) -> None:
    live = Violation.objects.filter(dry_run=False, status__in=["open", "requeued"])
    per_fingerprint = Counter(live.values_list("fingerprint", flat=True))
    assert all(n == 1 for n in per_fingerprint.values()), per_fingerprint
    for violation in live.filter(status="open"):
        assert violation.external_id not in model.last_valid, violation.external_id
        assert violation.payload == model.latest[violation.external_id], (
            violation.payload,
            model.latest,
        )


@override_settings(IMPORTER_CHUNK_SIZE=2)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_one_open_violation_per_row_with_the_latest_payload(steps):
    try:
        with transaction.atomic():
            model = Model()
            for action, arg in steps:
                if action == "import":
                    rows = [
                        payload_of(external_id, country, name) for external_id, country, name in arg
                    ]
                    import_rows(rows)
                    model.imported(rows)
                else:
                    steward_action(action, arg, model)
                check(model)
            raise _Rollback
    except _Rollback:
        pass


def steward_action(action: str, external_id: str, model: Model) -> None:
    violations = Violation.objects.filter(external_id=external_id, dry_run=False)
    open_one = violations.filter(status="open").first()
    if action == "fix_and_requeue" and open_one is not None:
        fixed = {**open_one.payload, "country": "DE"}
        services.violation_edit(violation=open_one, payload=fixed, actor=None)
        model.latest[external_id] = fixed
        requeue(violations)
        # Resolved by the steward now: its last appearance was a valid row.
        model.last_valid.add(external_id)
    elif action == "requeue":
        requeue(violations)
    elif action == "ignore":
        services.violations_ignore(violations=violations, reason="not ours", actor=None)
    elif action == "reopen":
        ignored = violations.filter(status="ignored").order_by("-pk").first()
        if (
            ignored is not None
            and not Violation.objects.filter(
                fingerprint=ignored.fingerprint, status__in=["open", "requeued"]
            ).exists()
        ):
            services.violation_reopen(violation=ignored, actor=None)


def requeue(violations) -> None:
    """Requeue, then run the remediation runs here (the enqueue waits for a
    commit that a rolled-back example never makes)."""
    result = services.violations_requeue(violations=violations, actor=None)
    for run in result.runs:
        runner.run_execute(run_id=run.pk)
