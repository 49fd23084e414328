"""Where quarantined rows go: ``dq.Violation`` rows, written per chunk; for a
dry run, violations of its own written after its rollback; for a
remediation run, the requeued violations themselves take each row's result.
The runner picks the sink from the run's kind and write policy."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from dq import fingerprints
from dq.models import Violation, codes_of, fields_of
from dq.occurrences import Occurrence, resolvable_external_ids, violations_record_chunk
from dq.services import violations_remediated
from ingest.pipeline import QUARANTINED, Row
from runs.models import ImportRun

# PostgreSQL cannot store NUL in text or JSON; the payload keeps a visible mark.
NUL_MARK = "\u2400"


def storable(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        key: storable_text(value) if isinstance(value, str) else value
        for key, value in payload.items()
    }


def storable_text(value: str) -> str:
    """The text with NUL made visible: PostgreSQL rejects NUL in text and JSON."""
    return value.replace("\x00", NUL_MARK) if "\x00" in value else value


class Sink(Protocol):
    def chunk_done(self, rows: Sequence[Row]) -> None: ...

    def finish(self) -> None: ...


class ViolationSink:
    """Each quarantined row of an upload is an occurrence of its violation
    (by fingerprint: dq.occurrences), and each valid row resolves its
    fingerprint's open, requeued or ignored violation at the source."""

    # Past this many such violations of the source, every valid row is
    # looked up by the database instead (see resolvable_external_ids).
    RESOLVABLE_SET_LIMIT = 100_000

    def __init__(self, *, run_id: int, target: str, source_id: int) -> None:
        self.run_id = run_id
        self.target = target
        self.source_id = source_id
        self._resolvable: set[str] | None = None
        self._resolvable_loaded = False

    def _resolvable_ids(self) -> set[str] | None:
        """The external ids with a violation a valid row resolves, loaded at
        the first chunk and kept up to date with this run's own quarantined
        rows. A violation another run opens meanwhile is not resolved by this
        run's valid rows: the next import of the source does it."""
        if not self._resolvable_loaded:
            self._resolvable = resolvable_external_ids(
                target=self.target, source_id=self.source_id, limit=self.RESOLVABLE_SET_LIMIT
            )
            self._resolvable_loaded = True
        return self._resolvable

    def chunk_done(self, rows: Sequence[Row]) -> None:
        # File order decides: a fingerprint's last row in the chunk says
        # whether it ends quarantined or resolved at the source.
        quarantined: dict[str, Occurrence] = {}
        valid: dict[str, None] = {}
        of_external_id = fingerprints.of_external_id
        target, source_id = self.target, self.source_id
        resolvable = self._resolvable_ids()
        for row in rows:
            if row.outcome == QUARANTINED:
                # As stored (NUL made visible), as migration 0009 reads it.
                external_id, payload = storable_text(row.external_id), storable(row.payload)
                fingerprint = fingerprints.of_row(
                    target=target,
                    source_id=source_id,
                    external_id=external_id,
                    payload=payload,
                    errors=row.errors,
                    row_number=row.number,
                )
                earlier = quarantined.pop(fingerprint, None)
                quarantined[fingerprint] = Occurrence(
                    fingerprint=fingerprint,
                    row_number=row.number,
                    external_id=external_id,
                    payload=payload,
                    errors=list(row.errors),
                    codes=codes_of(row.errors),
                    error_fields=fields_of(row.errors),
                    count=(earlier.count + 1) if earlier else 1,
                )
                valid.pop(fingerprint, None)
                if resolvable is not None and external_id:
                    resolvable.add(external_id)  # a later valid row of it resolves it
            elif row.external_id:
                external_id = storable_text(row.external_id)
                if resolvable is None or external_id in resolvable:
                    valid[
                        of_external_id(target=target, source_id=source_id, external_id=external_id)
                    ] = None
        violations_record_chunk(
            run_id=self.run_id,
            target=target,
            source_id=source_id,
            quarantined=list(quarantined.values()),
            valid_fingerprints=valid,
        )

    def finish(self) -> None:
        pass


class DryRunSink:
    """For dry runs, whose chunks are rolled back: keeps quarantined rows in a
    temporary file and, after the rollback, writes them as read-only
    violations of the run alone (``Violation.dry_run``), outside the
    one-per-fingerprint rule."""

    def __init__(self, *, run_id: int, target: str, source_id: int) -> None:
        self.run_id = run_id
        self.target = target
        self.source_id = source_id
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")

    def chunk_done(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if row.outcome == QUARANTINED:
                self.spool.write(
                    json.dumps([row.number, row.external_id, row.payload, row.errors]) + "\n"
                )

    def finish(self) -> None:
        self.spool.seek(0)
        batch = []
        for line in self.spool:
            batch.append(json.loads(line))
            if len(batch) == 1000:
                self.write(batch)
                batch = []
        self.write(batch)
        self.spool.close()

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
                    dry_run=True,
                    fingerprint=fingerprints.of_row(
                        target=self.target,
                        source_id=self.source_id,
                        external_id=external_id,
                        payload=storable(payload),
                        errors=errors,
                        row_number=number,
                    ),
                    first_seen_run_id=self.run_id,
                    last_seen_run_id=self.run_id,
                )
                for number, external_id, payload, errors in items
            ],
            batch_size=500,
        )


class RemediationSink:
    """For a remediation run: row N of its file is the requeued violation
    ``ingest_params_json["violation_ids"][N-1]``. An imported row (inserted,
    updated, unchanged or skipped) resolves its violation; a quarantined one
    reopens it with the new errors (dq.services.violations_remediated)."""

    def __init__(self, *, run: ImportRun) -> None:
        self.run_id = run.pk
        self.violation_ids: list[int] = list(run.ingest_params_json.get("violation_ids", []))

    def _violation_id(self, row: Row) -> int | None:
        index = row.number - 1
        return self.violation_ids[index] if 0 <= index < len(self.violation_ids) else None

    def chunk_done(self, rows: Sequence[Row]) -> None:
        imported = [
            vid for row in rows if row.outcome != QUARANTINED and (vid := self._violation_id(row))
        ]
        again = {
            vid: row.errors
            for row in rows
            if row.outcome == QUARANTINED and (vid := self._violation_id(row))
        }
        violations_remediated(run_id=self.run_id, imported=imported, failed=again)

    def finish(self) -> None:
        pass
