"""Where quarantined rows go: ``dq.Violation`` rows, written per chunk; for a
remediation run, the requeued violations themselves take each row's result."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.utils import timezone

from dq.models import RemediationAudit, Violation
from ingest.metrics import REMEDIATION
from ingest.pipeline import QUARANTINED, Row
from runs.models import ImportRun

# PostgreSQL cannot store NUL in text or JSON; the payload keeps a visible mark.
NUL_MARK = "\u2400"


def storable(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: storable_text(value) if isinstance(value, str) else value for key, value in payload.items()}


def storable_text(value: str) -> str:
    """The text with NUL made visible: PostgreSQL rejects NUL in text and JSON."""
    return value.replace("\x00", NUL_MARK) if "\x00" in value else value


def codes_of(errors: list[dict[str, str]]) -> str:
    """The rule codes of a row's errors, for the inbox's code filter."""
    return ",".join(sorted({error["code"] for error in errors}))[:255]


def fields_of(errors: list[dict[str, str]]) -> str:
    """',email,phone,': comma wrapped so a filter matches a whole name."""
    names = sorted({error["field"] for error in errors if error["field"]})
    return ("," + ",".join(names) + ",")[:512] if names else ""


class Sink(Protocol):
    def chunk_done(self, rows: Sequence[Row]) -> None: ...

    def finish(self) -> None: ...


class ViolationSink:
    """Each quarantined row of an upload becomes an open Violation."""

    def __init__(self, *, run_id: int, target: str, source_id: int, dry_run: bool = False) -> None:
        self.run_id = run_id
        self.target = target
        self.source_id = source_id
        self.dry_run = dry_run

    def chunk_done(self, rows: Sequence[Row]) -> None:
        self.write((row.number, row.external_id, row.payload, row.errors) for row in rows if row.outcome == QUARANTINED)

    def write(self, items: Iterable[tuple[int, str, dict[str, Any], list[dict[str, str]]]]) -> None:
        Violation.objects.bulk_create(
            [
                Violation(
                    run_id=self.run_id,
                    target=self.target,
                    source_id=self.source_id,
                    row_number=number,
                    external_id=storable_text(external_id),
                    payload=storable(payload),
                    errors=errors,
                    codes=codes_of(errors),
                    error_fields=fields_of(errors),
                    dry_run=self.dry_run,
                )
                for number, external_id, payload, errors in items
            ],
            batch_size=500,
        )

    def finish(self) -> None:
        pass


class SpooledSink:
    """For dry runs, whose chunks are rolled back: keeps quarantined rows in a
    temporary file and writes them to the inner sink after the rollback."""

    def __init__(self, inner: ViolationSink) -> None:
        self.inner = inner
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")

    def chunk_done(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if row.outcome == QUARANTINED:
                self.spool.write(json.dumps([row.number, row.external_id, row.payload, row.errors]) + "\n")

    def finish(self) -> None:
        self.spool.seek(0)
        batch = []
        for line in self.spool:
            batch.append(json.loads(line))
            if len(batch) == 1000:
                self.inner.write(batch)
                batch = []
        self.inner.write(batch)
        self.spool.close()


# Audit of what a remediation run did to a requeued violation.
RESULT = "result"
RESOLVED = "resolved"
FAILED = "failed"
RUN_ENDED = "Remediation run {run_id} ended {status} before this row was imported."


class RemediationSink:
    """For a remediation run: row N of its file is the requeued violation
    ``ingest_params_json["violation_ids"][N-1]``. An imported row (inserted,
    updated, unchanged or skipped) resolves its violation; a quarantined one
    reopens it with the new errors. Each result is audited. Only violations
    still requeued for this run change (compare-and-set)."""

    def __init__(self, *, run: ImportRun) -> None:
        self.run_id = run.pk
        self.violation_ids: list[int] = list(run.ingest_params_json.get("violation_ids", []))

    def _violation_id(self, row: Row) -> int | None:
        index = row.number - 1
        return self.violation_ids[index] if 0 <= index < len(self.violation_ids) else None

    def _claim(self, ids: list[int]) -> dict[int, Any]:
        """The violations among ``ids`` still requeued for this run → when found."""
        return dict(
            Violation.objects.filter(
                pk__in=ids, status=Violation.Status.REQUEUED, remediation_run_id=self.run_id
            ).values_list("pk", "created_at")
        )

    def chunk_done(self, rows: Sequence[Row]) -> None:
        now = timezone.now()
        imported = [vid for row in rows if row.outcome != QUARANTINED and (vid := self._violation_id(row))]
        again = {vid: row for row in rows if row.outcome == QUARANTINED and (vid := self._violation_id(row))}
        resolved = self._claim(imported)
        Violation.objects.filter(pk__in=resolved).update(
            status=Violation.Status.RESOLVED, resolved_by_run_id=self.run_id, resolved_at=now
        )
        reopened = []
        for violation in Violation.objects.filter(pk__in=self._claim(list(again))):
            errors = again[violation.pk].errors
            violation.status = Violation.Status.OPEN
            violation.errors = errors
            violation.codes = codes_of(errors)
            violation.error_fields = fields_of(errors)
            violation.updated_at = now
            reopened.append(violation)
        Violation.objects.bulk_update(
            reopened, ["status", "errors", "codes", "error_fields", "updated_at"], batch_size=500
        )
        RemediationAudit.objects.bulk_create(
            [
                RemediationAudit(
                    violation_id=vid, action=RESULT, outcome=RESOLVED, run_id=self.run_id,
                    time_to_fix_s=(now - resolved[vid]).total_seconds(),
                )
                for vid in sorted(resolved)
            ]
            + [
                RemediationAudit(
                    violation_id=v.pk, action=RESULT, outcome=FAILED, run_id=self.run_id, after={"errors": v.errors}
                )
                for v in reopened
            ],
            batch_size=500,
        )
        if resolved:
            REMEDIATION.labels(outcome=RESOLVED).inc(len(resolved))
        if reopened:
            REMEDIATION.labels(outcome=FAILED).inc(len(reopened))

    def finish(self) -> None:
        pass


def remediation_run_finished(*, run: ImportRun) -> int:
    """A remediation run ended: violations it did not reach (it failed or was
    cancelled) go back to open, audited. Returns how many."""
    ids = list(
        Violation.objects.filter(remediation_run_id=run.pk, status=Violation.Status.REQUEUED).values_list(
            "pk", flat=True
        )
    )
    released = Violation.objects.filter(pk__in=ids, status=Violation.Status.REQUEUED).update(
        status=Violation.Status.OPEN, updated_at=timezone.now()
    )
    reason = RUN_ENDED.format(run_id=run.pk, status=run.status)
    RemediationAudit.objects.bulk_create(
        [
            RemediationAudit(violation_id=vid, action=RESULT, outcome=FAILED, run_id=run.pk, reason=reason)
            for vid in ids
        ],
        batch_size=500,
    )
    if released:
        REMEDIATION.labels(outcome=FAILED).inc(released)
    return released
