"""Audit retention: old rows lose their payload values, keep who/when/outcome."""

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from dq import services
from dq.models import RemediationAudit
from runs.retention import RETENTION_TOO_LONG
from tests.importing import violation_at

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


def edit(violation, actor, email):
    services.violation_edit(
        violation=violation, payload={**violation.payload, "email": email}, actor=actor
    )


def test_purge_scrubs_only_rows_older_than_the_retention(rules_run, steward, capsys, settings):
    violation = violation_at(rules_run, 4)
    with time_machine.travel(START, tick=False):
        edit(violation, steward, "old@example.com")
    with time_machine.travel(START + dt.timedelta(days=80), tick=False):
        edit(violation, steward, "new@example.com")
    old, new = RemediationAudit.objects.order_by("id")

    with time_machine.travel(START + dt.timedelta(days=100), tick=False):
        call_command("purge_remediation_audit", "--dry-run")
        assert (
            capsys.readouterr().out.strip()
            == "Would scrub payloads from 1 audit row(s) older than 90 days."
        )
        old.refresh_from_db()
        assert old.after is not None

        call_command("purge_remediation_audit")
        assert (
            capsys.readouterr().out.strip()
            == "Scrubbed payloads from 1 audit row(s) older than 90 days."
        )
        old.refresh_from_db()
        new.refresh_from_db()
        assert (old.before, old.after) == (None, None)
        assert (old.actor, old.action, old.outcome, old.created_at) == (
            steward,
            "edit",
            "saved",
            START,
        )
        assert new.after["email"] == "new@example.com"

        call_command("purge_remediation_audit", "--older-than", "10")
        assert (
            "Scrubbed payloads from 1 audit row(s) older than 10 days." in capsys.readouterr().out
        )
        new.refresh_from_db()
        assert new.after is None

        settings.DQ_AUDIT_RETENTION_DAYS = 0
        call_command("purge_remediation_audit")
        assert "from 0 audit row(s) older than 0 days" in capsys.readouterr().out


def test_a_negative_retention_is_a_usage_error(db):
    with pytest.raises(CommandError) as error:
        call_command("purge_remediation_audit", "--older-than", "-1")
    assert error.value.returncode == 2


@pytest.mark.parametrize("days", ["99999999", "1000000000", str(10**30)])
def test_a_retention_reaching_back_before_the_year_1_is_a_usage_error(db, days):
    with time_machine.travel(START, tick=False):
        with pytest.raises(CommandError) as error:
            call_command("purge_remediation_audit", "--older-than", days)
        limit = (START - dt.datetime.min.replace(tzinfo=dt.UTC)).days
    assert error.value.returncode == 2
    assert str(error.value) == RETENTION_TOO_LONG.format(days=int(days), limit=limit)
    assert "before the year 1" in str(error.value)
