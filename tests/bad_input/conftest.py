"""Helpers for the bad-input catalogue: every file goes through the real
pipeline (``run_create`` then ``run_execute``), as an upload would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile

from core.models import Organization
from dq.models import Violation
from runs import services
from runs.execution import runner
from runs.models import ImportRun

HEADER = "external_id,name,country\n"


@dataclass
class Ended:
    """How a run ended, with what it left behind."""

    run: ImportRun
    violations: list[Violation]

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def counts(self) -> tuple[int, int, int]:
        """(rows_total, inserted, quarantined)"""
        return self.run.rows_total, self.run.inserted, self.run.quarantined

    def codes(self) -> list[tuple[int, str]]:
        """(row number, rule code) of each violation's errors, in row order."""
        return [(v.row_number, e["code"]) for v in self.violations for e in v.errors]

    def messages(self) -> list[str]:
        return [e["message"] for v in self.violations for e in v.errors]

    def names(self) -> list[str]:
        return list(Organization.objects.order_by("pk").values_list("name", flat=True))


def import_bytes(
    content: bytes, filename: str = "upload.csv", target: str = "organization", **options
) -> Ended:
    """Upload ``content`` as a file and run it in this process."""
    run = services.run_create(
        target=target, source="crm", file=ContentFile(content), filename=filename, **options
    )
    if run.status == ImportRun.Status.QUEUED:
        runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status in ImportRun.FINISHED, run.status
    assert (
        run.rows_total == run.inserted + run.updated + run.unchanged + run.skipped + run.quarantined
    )
    violations = list(Violation.objects.filter(run=run).order_by("row_number"))
    # One violation per row (fingerprint): bad rows repeating an external id
    # in one file are occurrences of one violation (dry runs keep each row).
    if run.dry_run:
        assert len(violations) == run.quarantined
    else:
        assert bool(violations) == bool(run.quarantined) and len(violations) <= run.quarantined
    return Ended(run, violations)


@pytest.fixture
def run_bytes(db):
    return import_bytes
