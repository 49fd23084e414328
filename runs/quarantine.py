"""A run's own quarantined rows, read from its results file (the ledger,
``ingest.results.Ledger``: one line per row with its outcome, rule codes
and ``field:code`` pairs).

A violation is one per fingerprint and moves on with later runs (its
``run`` and ``last_seen_run`` are the last run that saw the row), so the
violations whose ``run`` is this one are not this run's report: a nightly
file sent again leaves the first night with almost none. The ledger is the
run's own, whatever later runs did; each of its quarantined lines is
joined to the violation it belongs to for what only the violation keeps
(its id, status, messages and payload), by fingerprint, else by external id
or row number. The payload and messages are the ones this run found when
the violation still knows them (its latest occurrence, or its history of
changed ones), else the violation's as they are now.

Streamed: the ledger is read a line at a time and joined BATCH lines at a
time, so a run of a million rows never sits in memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Q

from common.cache import CACHE_ERRORS
from dq import fingerprints
from dq.models import Violation
from dq.sinks import storable_text
from ingest.pipeline import QUARANTINED
from ingest.results import safe_cell
from runs.models import ImportRun

BATCH = 1000
# A finished run's results file never changes (its name, and the run's end,
# are in the key).
BREAKDOWN_KEY = "run-quarantine-breakdown:{run_id}:{name}:{finished}"
BREAKDOWN_TIMEOUT_S = 24 * 3600


@dataclass(slots=True)
class QuarantinedLine:
    """A quarantined row as its run's ledger says it."""

    row_number: int
    external_id: str
    codes: list[str]
    # (field, code); empty in ledgers written before the column existed.
    field_codes: list[tuple[str, str]]


@dataclass(slots=True)
class QuarantinedRow:
    line: QuarantinedLine
    violation_id: int | None = None
    status: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    payload: dict[str, Any] | None = None


def has_ledger(run: ImportRun) -> bool:
    """Whether the run's own rows can be read: a standard or remediation run
    with its results file (written when the run ends, kept until the
    retention purges it)."""
    name = run.results_file.name if run.results_file else None
    return not run.dry_run and name is not None and run.results_file.storage.exists(name)


def _as_written(cell: str) -> str:
    """The external id as the file had it: the ledger quotes a cell that
    looks like a formula (``safe_cell``)."""
    if cell.startswith("'") and safe_cell(cell[1:]) == cell:
        return cell[1:]
    return cell


def quarantined_lines(run: ImportRun) -> Iterator[QuarantinedLine]:
    """The run's quarantined rows in row order, read from its results file."""
    with run.results_file.open("rb") as handle:
        reader = csv.reader(codecs.iterdecode(handle, "utf-8"))
        header = next(reader, None) or []
        at = {name: index for index, name in enumerate(header)}
        outcome_at, id_at = at.get("outcome", 2), at.get("external_id", 1)
        codes_at, pairs_at = at.get("error_codes"), at.get("field_codes")
        for line in reader:
            if len(line) <= outcome_at or line[outcome_at] != QUARANTINED:
                continue
            pairs = line[pairs_at].split() if pairs_at is not None and pairs_at < len(line) else []
            yield QuarantinedLine(
                row_number=int(line[0]),
                external_id=_as_written(line[id_at]),
                codes=line[codes_at].split() if codes_at is not None else [],
                field_codes=[tuple(pair.split(":", 1)) for pair in pairs],  # type: ignore[misc]
            )


def run_quarantined_rows(*, run: ImportRun, include_payload: bool) -> Iterator[QuarantinedRow]:
    """Each quarantined row of the run's ledger with its violation."""
    batch: list[QuarantinedLine] = []
    for line in quarantined_lines(run):
        batch.append(line)
        if len(batch) == BATCH:
            yield from _joined(run, batch, include_payload)
            batch = []
    yield from _joined(run, batch, include_payload)


FIELDS = ("pk", "row_number", "external_id", "status", "errors", "first_seen_run_id")
FOUND_FIELDS = ("last_seen_run_id", "history", "payload")


def _joined(
    run: ImportRun, lines: list[QuarantinedLine], include_payload: bool
) -> Iterator[QuarantinedRow]:
    if not lines:
        return
    columns = FIELDS + FOUND_FIELDS
    found: dict[int, dict[str, Any]] = {}
    if run.kind == ImportRun.Kind.REMEDIATION:
        # Row N of a remediation run is the requeued violation_ids[N-1].
        ids = list(run.ingest_params_json.get("violation_ids", []))
        wanted = {
            ids[line.row_number - 1]: line.row_number
            for line in lines
            if 0 < line.row_number <= len(ids)
        }
        for values in Violation.objects.filter(pk__in=list(wanted)).values(*columns):
            found[wanted[values["pk"]]] = values
    else:
        found = _by_fingerprint_or_row(run, lines, columns)
    for line in lines:
        values = found.get(line.row_number)
        if values is None:
            yield QuarantinedRow(line=line)
            continue
        payload, errors = _as_found_by(run.pk, values)
        if sorted({str(e.get("code", "")) for e in errors}) != line.codes:
            errors = []  # the violation no longer knows what this run found
        yield QuarantinedRow(
            line=line,
            violation_id=values["pk"],
            status=values["status"],
            errors=errors,
            payload=payload if include_payload else None,
        )


def _seen_by(run_id: int, values: dict[str, Any]) -> bool:
    first = values["first_seen_run_id"]
    return first is None or first <= run_id


def _by_fingerprint_or_row(
    run: ImportRun, lines: list[QuarantinedLine], columns: tuple[str, ...]
) -> dict[int, dict[str, Any]]:
    """Row number → its violation: a row with a usable external id by its
    fingerprint (exact); the others (no id, or a row the reader could not
    read whole) by external id and row number among the violations that
    may have seen it."""
    violations = Violation.objects.filter(dry_run=False, target=run.target, source=run.source_id)
    by_fingerprint: dict[str, int] = {}
    others: list[QuarantinedLine] = []
    for line in lines:
        unreadable = any(not name for name, _code in line.field_codes)
        if line.external_id and not unreadable:
            fingerprint = fingerprints.of_external_id(
                target=run.target,
                source_id=run.source_id,
                external_id=storable_text(line.external_id),
            )
            by_fingerprint[fingerprint] = line.row_number
        else:
            others.append(line)
    found: dict[int, dict[str, Any]] = {}
    if by_fingerprint:
        for values in violations.filter(fingerprint__in=list(by_fingerprint)).values(
            "fingerprint", *columns
        ):
            number = by_fingerprint[values["fingerprint"]]
            if _seen_by(run.pk, values) and values["pk"] > found.get(number, {"pk": 0})["pk"]:
                found[number] = values
    if others:
        numbers = [line.row_number for line in others]
        ids = [storable_text(line.external_id) for line in others if line.external_id]
        wanted = {(line.row_number, storable_text(line.external_id)) for line in others}
        candidates = violations.filter(
            Q(external_id__in=ids, row_number__in=numbers)
            | Q(run_id=run.pk, row_number__in=numbers)
            | Q(first_seen_run_id=run.pk, row_number__in=numbers)
        ).values(*columns)
        for values in candidates:
            number = values["row_number"]
            if (number, values["external_id"]) in wanted and _seen_by(run.pk, values):
                if values["pk"] > found.get(number, {"pk": 0})["pk"]:
                    found[number] = values
    return found


def _as_found_by(run_id: int, values: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """The payload and errors as run ``run_id`` found them: the latest ones
    when it is the last run that saw the row, else the history entry of the
    occurrence it saw (an entry's ``run`` is the last run that saw those
    values), else the latest ones."""
    payload, errors = values.get("payload"), values["errors"]
    if values["last_seen_run_id"] != run_id:
        for entry in values.get("history") or []:
            if isinstance(entry, dict) and isinstance(entry.get("run"), int):
                if entry["run"] >= run_id:
                    payload, errors = entry.get("payload"), entry.get("errors")
                    break
    return payload, errors if isinstance(errors, list) else []


def run_quarantine_breakdown(*, run: ImportRun) -> list[tuple[str, str, int]] | None:
    """The run's quarantined rows counted by (rule code, field), from its
    ledger, most frequent first; None without a ledger that has the pairs.
    Cached: a results file never changes once written."""
    if not has_ledger(run) or not run.quarantined:
        return None
    finished = run.finished_at.isoformat() if run.finished_at else ""
    key = BREAKDOWN_KEY.format(run_id=run.pk, name=run.results_file.name, finished=finished)
    try:
        cached = cache.get(key)
    except CACHE_ERRORS:
        cached = None
    if cached is not None:
        return [tuple(row) for row in cached]
    counts: dict[tuple[str, str], int] = {}
    for line in quarantined_lines(run):
        if not line.field_codes:
            return None  # a ledger written before the pairs existed
        for name, code in line.field_codes:
            counts[(code, name)] = counts.get((code, name), 0) + 1
    breakdown = sorted(
        ((code, name, n) for (code, name), n in counts.items()),
        key=lambda row: (-row[2], row[0], row[1]),
    )
    try:
        cache.set(key, breakdown, BREAKDOWN_TIMEOUT_S)
    except CACHE_ERRORS:
        pass
    return breakdown
