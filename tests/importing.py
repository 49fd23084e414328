"""Import bytes through the real pipeline, as an upload would: the one
helper every test that needs an imported file calls.

``import_bytes`` creates the run with ``runs.services.run_create`` (the
service the admin, API and CLI call) and executes it in this process with
``run_execute(in_process=True)``: every partition runs here, so the run is
finished on return, with or without Redis. Tests of the runner itself (its
turns, leases, partitions, crashes) call ``run_execute`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_rq
from django.conf import settings
from django.core.files.base import ContentFile
from rq import SimpleWorker

from core.models import Organization
from demo import golden
from dq.models import Violation
from runs import services
from runs.execution import runner
from runs.models import ImportRun

HEADER = "external_id,name,country\n"
# One row inserted, two quarantined (an unknown country, a missing name).
ORGS_CSV = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,XX\nA-3,,FR\n"


def create_run(
    content: bytes | str = ORGS_CSV,
    *,
    target: str = "organization",
    source: str = "crm",
    filename: str = "orgs.csv",
    **params: Any,
) -> ImportRun:
    """A queued run of ``content`` (``params`` go to ``run_create``: dry_run,
    created_by, format, encoding, delimiter, sheet, column_map, …); not
    executed. Text is encoded as UTF-8. A file over the size limit gives a
    failed run."""
    if isinstance(content, str):
        content = content.encode()
    return services.run_create(
        target=target, source=source, file=ContentFile(content), filename=filename, **params
    )


def import_bytes(
    content: bytes | str = ORGS_CSV,
    *,
    target: str = "organization",
    source: str = "crm",
    filename: str = "orgs.csv",
    dry_run: bool = False,
    **params: Any,
) -> ImportRun:
    """Import ``content`` and return the finished run, read back from the
    database. A run ``run_create`` already failed (too big) is returned as
    it is."""
    run = create_run(
        content, target=target, source=source, filename=filename, dry_run=dry_run, **params
    )
    if run.status == ImportRun.Status.QUEUED:
        runner.run_execute(run_id=run.pk, in_process=True)
    run.refresh_from_db()
    return run


def drain_imports() -> None:
    """Run every job waiting on the imports queue (a requeue's remediation
    run, say) in this process; without Redis the jobs already ran."""
    if not settings.IMPORTER_SYNC_JOBS:
        django_rq.get_worker("imports", worker_class=SimpleWorker).work(burst=True)


def import_golden(file: str, *, dry_run: bool = False) -> ImportRun:
    """Import one file of the golden data set (fixtures/golden/) as its
    manifest step says, in this process, and return the finished run."""
    step = next(
        step
        for step in golden.manifest()["steps"]
        if step["file"] == file and step.get("dry_run", False) == dry_run
    )
    return golden.golden_import_step(step)


def violation_at(run: ImportRun, row_number: int) -> Violation:
    """The violation a run left for one row of its file."""
    return Violation.objects.get(run=run, row_number=row_number)


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


def import_checked(content: bytes | str, *, filename: str = "upload.csv", **options: Any) -> Ended:
    """``import_bytes``, then check what every run must satisfy, whatever
    the file: it finished, its counters add up, and it left one violation
    per quarantined row (per fingerprint for a standard run)."""
    run = import_bytes(content, filename=filename, **options)
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
