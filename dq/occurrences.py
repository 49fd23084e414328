"""A run's bad and good rows against the violations already known, by
fingerprint (dq.fingerprints), the way an error tracker groups exceptions:

- a quarantined row whose fingerprint has an open or requeued violation
  updates it (occurrences + 1, ``run`` and ``last_seen_run`` = this run,
  latest payload and errors; the previous ones go to ``history`` when they
  differ from the new ones);
- a resolved one reopens (regressions + 1), unless a steward's fix resolved
  it and the row comes with the payload it was fixed from (the source
  re-sends what the steward already fixed: it stays resolved); an ignored
  one stays ignored while the payload is the one it was ignored with, and
  reopens otherwise (the ones kept only count the occurrence);
- otherwise a new open violation;
- a valid row resolves its fingerprint's open or requeued violation with
  resolution ``source``.

Set-based: per chunk one look-up of the fingerprints' violations, at most
one UPDATE to reopen the resolved and one the ignored, one per count for
those kept, one INSERT … ON CONFLICT for
the upsert (on the partial unique index dq_violation_one_live_per_fingerprint,
so two runs quarantining the same row at once make one violation), and one
UPDATE for the rows resolved at the source. Called by ingest's sink; the
violation lifecycle stays here in dq.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from dq.fingerprints import raw_hash
from dq.models import RemediationAudit, Violation

HISTORY_LIMIT = 20
BATCH = 2000  # rows per statement: 9 parameters each stays under SQLite's 32,766

# Audit of a reopen by an import (actor: none; run: the import).


@dataclass(slots=True)
class Occurrence:
    """A fingerprint's quarantined rows in one chunk: the last one's values,
    and how many there were."""

    fingerprint: str
    row_number: int
    external_id: str
    payload: dict[str, Any]
    errors: list[dict[str, str]]
    codes: str
    error_fields: str
    count: int = 1

    def payload_hash(self) -> str:
        """The payload as read, hashed: kept as ``read_payload_hash``."""
        return raw_hash(self.payload)


@dataclass
class ChunkOutcome:
    reopened: int = 0
    kept_ignored: int = 0
    kept_resolved: int = 0
    resolved_at_source: int = 0
    kept_ignored_ids: list[int] = field(default_factory=list)


# The unique index's condition exactly as Django renders it (migration
# 0010): an ON CONFLICT target must repeat it to use a partial index.
LIVE_PREDICATE = (
    """(NOT "dry_run" AND "status" IN ('open', 'requeued') AND NOT ("fingerprint" = ''))"""
)


# What a valid row of the same fingerprint resolves at the source: an open
# or requeued violation, and an ignored one too (the problem it was ignored
# for is gone; left ignored, a reopen would bring back a row since fixed).
RESOLVED_BY_A_VALID_ROW = (*Violation.LIVE, Violation.Status.IGNORED)


def violations_record_chunk(
    *,
    run_id: int,
    target: str,
    source_id: int,
    quarantined: Sequence[Occurrence],
    valid_fingerprints: Iterable[str],
) -> ChunkOutcome:
    """Record one committed chunk of a standard (not dry) run. ``quarantined``
    holds one entry per fingerprint (its last row in the chunk);
    ``valid_fingerprints`` those whose last row in the chunk was valid
    (file order decides)."""
    now = timezone.now()
    outcome = ChunkOutcome()
    if quarantined:
        by_fingerprint = {occurrence.fingerprint: occurrence for occurrence in quarantined}
        kept = _revive(by_fingerprint, run_id=run_id, now=now, outcome=outcome)
        rows = [o for fp, o in by_fingerprint.items() if fp not in kept]
        for start in range(0, len(rows), BATCH):
            _upsert(
                rows[start : start + BATCH],
                run_id=run_id,
                target=target,
                source_id=source_id,
                now=now,
            )
    valid = list(valid_fingerprints)
    for start in range(0, len(valid), BATCH):
        outcome.resolved_at_source += (
            Violation.objects.filter(
                fingerprint__in=valid[start : start + BATCH],
                status__in=RESOLVED_BY_A_VALID_ROW,
                dry_run=False,
            )
            .exclude(fingerprint="")
            .update(
                status=Violation.Status.RESOLVED,
                resolution=Violation.Resolution.SOURCE,
                resolved_by_run_id=run_id,
                resolved_at=now,
                updated_at=now,
            )
        )
    return outcome


def _revive(
    by_fingerprint: dict[str, Occurrence], *, run_id: int, now: Any, outcome: ChunkOutcome
) -> set[str]:
    """Fingerprints with no open or requeued violation whose newest one is
    resolved (reopen it: a regression, unless a steward's fix resolved it
    and the row comes as it was read when fixed: keep it) or ignored (keep
    it while its payload is the same, else reopen). Returns the fingerprints
    kept, which only count the occurrence."""
    # One fetch: at most a few rows per fingerprint of one chunk (a server-side
    # cursor, as iterator() opens on PostgreSQL, cost three round trips).
    found = Violation.objects.filter(
        fingerprint__in=list(by_fingerprint), dry_run=False
    ).values_list("fingerprint", "id", "status", "resolution", "read_payload_hash")
    live: set[str] = set()
    newest: dict[str, tuple[int, str, str | None, str]] = {}
    for fingerprint, pk, status, resolution, read_hash in found:
        if status in Violation.LIVE:
            live.add(fingerprint)
        elif pk > newest.get(fingerprint, (0, "", None, ""))[0]:
            newest[fingerprint] = (pk, status, resolution, read_hash)
    resolved: list[int] = []
    kept_resolved: dict[int, str] = {}
    ignored: dict[int, str] = {}
    for fp, (pk, status, resolution, read_hash) in newest.items():
        if fp in live:
            continue
        if status == Violation.Status.IGNORED:
            ignored[pk] = fp
        elif status == Violation.Status.RESOLVED:
            # The source sends again the very row the steward fixed (the fix
            # is in core; this bad copy is quarantined and cannot undo it).
            fixed = resolution == Violation.Resolution.STEWARD
            if fixed and read_hash and read_hash == by_fingerprint[fp].payload_hash():
                kept_resolved[pk] = fp
            else:
                resolved.append(pk)
    changed: list[int] = []
    kept: dict[int, str] = {}
    if ignored:
        for pk, payload in Violation.objects.filter(pk__in=list(ignored)).values_list(
            "pk", "payload"
        ):
            fingerprint = ignored[pk]
            if payload == by_fingerprint[fingerprint].payload:
                kept[pk] = fingerprint
            else:
                changed.append(pk)
    audits: list[RemediationAudit] = []
    if resolved:
        reopened = _reopen(
            resolved,
            from_status=Violation.Status.RESOLVED,
            now=now,
            regressions=F("regressions") + 1,
            resolution=None,
            resolved_at=None,
            resolved_by_run=None,
            requeue_outcome=None,
            payload_purged_at=None,
        )
        audits += [
            RemediationAudit(
                violation_id=pk,
                action=RemediationAudit.Action.REOPEN,
                outcome=RemediationAudit.Outcome.REGRESSED,
                run_id=run_id,
            )
            for pk in reopened
        ]
    if changed:
        # A purged payload (purge_personal_data) differs from any row: the row
        # seen again reopens it, with its new payload in clear.
        reopened = _reopen(
            changed,
            from_status=Violation.Status.IGNORED,
            now=now,
            ignore_reason="",
            payload_purged_at=None,
        )
        audits += [
            RemediationAudit(
                violation_id=pk,
                action=RemediationAudit.Action.REOPEN,
                outcome=RemediationAudit.Outcome.CHANGED_WHILE_IGNORED,
                run_id=run_id,
            )
            for pk in reopened
        ]
    RemediationAudit.objects.bulk_create(audits, batch_size=500)
    outcome.reopened = len(audits)
    _count_kept(kept, Violation.Status.IGNORED, by_fingerprint, run_id=run_id, now=now)
    _count_kept(kept_resolved, Violation.Status.RESOLVED, by_fingerprint, run_id=run_id, now=now)
    outcome.kept_ignored = len(kept)
    outcome.kept_ignored_ids = sorted(kept)
    outcome.kept_resolved = len(kept_resolved)
    return set(kept.values()) | set(kept_resolved.values())


def _count_kept(
    kept: dict[int, str],
    status: str,
    by_fingerprint: dict[str, Occurrence],
    *,
    run_id: int,
    now: Any,
) -> None:
    """Count the occurrence of violations that stay as they are (ignored or
    resolved): payload, errors and status untouched."""
    # Usually one row per fingerprint and chunk: one statement per distinct count.
    by_count: dict[int, list[int]] = {}
    for pk, fingerprint in kept.items():
        by_count.setdefault(by_fingerprint[fingerprint].count, []).append(pk)
    for count, pks in by_count.items():
        Violation.objects.filter(pk__in=pks, status=status).update(
            occurrences=F("occurrences") + count,
            run_id=run_id,
            last_seen_run_id=run_id,
            updated_at=now,
        )


def resolvable_external_ids(*, target: str, source_id: int, limit: int) -> set[str] | None:
    """The external ids of the violations of a source and target that a
    valid row resolves (``RESOLVED_BY_A_VALID_ROW``), or None when there are
    more than ``limit``. A run looks its valid rows up in this set, so that
    it only asks the database to resolve rows that have a violation (a
    re-import of 98,000 good rows then issues no UPDATE at all)."""
    ids = list(
        Violation.objects.filter(
            target=target, source_id=source_id, status__in=RESOLVED_BY_A_VALID_ROW, dry_run=False
        )
        .exclude(external_id="")
        .values_list("external_id", flat=True)[: limit + 1]
    )
    return set(ids) if len(ids) <= limit else None


def _reopen(pks: list[int], *, from_status: str, now: Any, **changes: Any) -> list[int]:
    """Open these violations again (compare-and-set on ``from_status``). A
    concurrent run may have made a live violation for one of their
    fingerprints meanwhile: the unique index refuses, and the upsert then
    updates that one instead."""
    try:
        with transaction.atomic():
            changed = list(
                Violation.objects.filter(pk__in=pks, status=from_status).values_list(
                    "pk", flat=True
                )
            )
            Violation.objects.filter(pk__in=changed, status=from_status).update(
                status=Violation.Status.OPEN, updated_at=now, **changes
            )
            return changed
    except IntegrityError:
        return []


def _history_sql(vendor: str) -> str:
    """The row's previous occurrence appended to its history, the oldest
    dropped past HISTORY_LIMIT."""
    if vendor == "postgresql":
        entry = (
            "jsonb_build_object('run', dq_violation.last_seen_run_id, 'at', dq_violation.updated_at, "
            "'payload', dq_violation.payload, 'errors', dq_violation.errors)"
        )
        return (
            f"(CASE WHEN jsonb_array_length(dq_violation.history) >= {HISTORY_LIMIT} "
            "THEN dq_violation.history - 0 ELSE dq_violation.history END) || jsonb_build_array("
            + entry
            + ")"
        )
    entry = (
        "json_object('run', dq_violation.last_seen_run_id, 'at', dq_violation.updated_at, "
        "'payload', json(dq_violation.payload), 'errors', json(dq_violation.errors))"
    )
    return (
        f"json_insert(CASE WHEN json_array_length(dq_violation.history) >= {HISTORY_LIMIT} "
        "THEN json_remove(dq_violation.history, '$[0]') ELSE dq_violation.history END, '$[#]', "
        + entry
        + ")"
    )


def _upsert(
    rows: Sequence[Occurrence], *, run_id: int, target: str, source_id: int, now: Any
) -> None:
    """One INSERT … ON CONFLICT for these fingerprints: new ones are
    inserted open, live ones take this occurrence.

    On PostgreSQL the rows travel as one JSON parameter, which the server
    takes apart (``json_to_recordset``): as eight parameters a row, psycopg
    split and quoted the statement's 16,000 placeholders in Python for
    every 2,000 violations (0.7 CPU-seconds for a file with 20,235 bad
    rows, bench/PROFILE.md, seventh round). SQLite binds them natively, in
    VALUES rows."""
    if not rows:
        return
    vendor = connection.vendor
    if vendor == "postgresql":
        source = (
            "json_to_recordset(%s::json) AS v(row_number integer, external_id text,"
            " payload jsonb, errors jsonb, codes text, error_fields text, fingerprint text,"
            " occurrences integer, read_payload_hash text)"
        )
        columns = (
            "v.row_number, v.external_id, v.payload, v.errors,"
            " v.codes, v.error_fields, v.fingerprint, v.occurrences, v.read_payload_hash"
        )
        empty_list = "CAST('[]' AS jsonb)"
        same = "dq_violation.payload = excluded.payload AND dq_violation.errors = excluded.errors"
        values: list[Any] = [
            json.dumps(
                [
                    {
                        "row_number": row.row_number,
                        "external_id": row.external_id,
                        "payload": row.payload,
                        "errors": row.errors,
                        "codes": row.codes,
                        "error_fields": row.error_fields,
                        "fingerprint": row.fingerprint,
                        "occurrences": row.count,
                        "read_payload_hash": row.payload_hash(),
                    }
                    for row in rows
                ],
                ensure_ascii=False,
            )
        ]
    else:
        source = (
            "(VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows)) + ") AS v"
        )
        columns = (
            "CAST(v.column1 AS integer), v.column2, v.column3, v.column4,"
            " v.column5, v.column6, v.column7, CAST(v.column8 AS integer), v.column9"
        )
        empty_list = "'[]'"
        same = "json(dq_violation.payload) = json(excluded.payload) AND json(dq_violation.errors) = json(excluded.errors)"
        values = []
        for row in rows:
            values += [
                row.row_number,
                row.external_id,
                json.dumps(row.payload, ensure_ascii=False),
                json.dumps(row.errors, ensure_ascii=False),
                row.codes,
                row.error_fields,
                row.fingerprint,
                row.count,
                row.payload_hash(),
            ]
    # ``same``: the history keeps payloads and errors that changed, not every
    # night's repeat.
    sql = f"""
        INSERT INTO dq_violation (
            run_id, first_seen_run_id, last_seen_run_id, target, source_id, created_at, updated_at,
            row_number, external_id, payload, errors, codes, error_fields, fingerprint, occurrences,
            read_payload_hash, dry_run, status, regressions, history, ignore_reason, action_token
        )
        SELECT %s, %s, %s, %s, %s, %s, %s, {columns},
            false, 'open', 0, {empty_list}, '', ''
        FROM {source}
        WHERE true
        ON CONFLICT (fingerprint) WHERE {LIVE_PREDICATE}
        DO UPDATE SET
            occurrences = dq_violation.occurrences + excluded.occurrences,
            history = CASE WHEN {same} THEN dq_violation.history ELSE {_history_sql(vendor)} END,
            run_id = excluded.run_id,
            last_seen_run_id = excluded.last_seen_run_id,
            row_number = excluded.row_number,
            external_id = excluded.external_id,
            payload = excluded.payload,
            read_payload_hash = excluded.read_payload_hash,
            errors = excluded.errors,
            codes = excluded.codes,
            error_fields = excluded.error_fields,
            updated_at = excluded.updated_at
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, run_id, run_id, target, source_id, now, now, *values])
