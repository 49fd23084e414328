"""A run's CSV downloads: its violations (``runs/{id}/results/?kind=violations``)
and its results file as a caller without the payload permission sees it.

Every cell goes through ``ingest.results.safe_cell``: a payload written by a
source system must not run as a formula in the spreadsheet that opens it.
Payload values (possibly personal data) are included only for callers who
may see them; the others get them masked by the inbox's own helper
(``dq.selectors.mask_payload``).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from dq.models import Violation
from dq.selectors import MASK, mask_payload
from ingest.pipeline import MATCHED_BY_NATURAL_KEY
from ingest.results import safe_cell
from runs import quarantine
from runs.models import ImportRun

VIOLATION_HEADER = ["violation_id", "row_number", "external_id", "status", "error_codes", "errors"]


def _errors_text(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{error.get('field') or 'row'}: {error.get('message', '')}" for error in errors
    )


def violation_csv_rows(*, run: ImportRun, include_payload: bool) -> Iterator[list[Any]]:
    """The header, then one line per quarantined row of the run in row order.

    A standard or remediation run's rows come from its results file (its
    own rows, whatever later runs did: ``runs.quarantine``), each with the
    violation it belongs to now (id, status) and the messages and payload
    this run found when the violation still knows them. A row whose
    violation is gone or no longer knows them keeps the ledger's rule codes
    (``field: code``). A dry run's violations are its own; a run without its
    results file (running, or purged) lists the violations it last saw."""
    if quarantine.has_ledger(run):
        yield from _ledger_csv_rows(run=run, include_payload=include_payload)
        return
    yield VIOLATION_HEADER + (["payload"] if include_payload else [])
    fields = ["id", "row_number", "external_id", "status", "errors"] + (
        ["payload"] if include_payload else []
    )
    violations = Violation.objects.filter(run=run).order_by("row_number", "id").values_list(*fields)
    for values in violations.iterator(chunk_size=2000):
        pk, row_number, external_id, status, errors = values[:5]
        errors = errors if isinstance(errors, list) else []
        line = [
            pk,
            row_number,
            external_id,
            status,
            " ".join(sorted({str(error.get("code", "")) for error in errors})),
            _errors_text(errors),
        ]
        if include_payload:
            line.append(json.dumps(values[5], ensure_ascii=False, sort_keys=True))
        yield [safe_cell(cell) for cell in line]


def _ledger_csv_rows(*, run: ImportRun, include_payload: bool) -> Iterator[list[Any]]:
    yield VIOLATION_HEADER + (["payload"] if include_payload else [])
    for row in quarantine.run_quarantined_rows(run=run, include_payload=include_payload):
        found = row.line
        errors = _errors_text(row.errors) or "; ".join(
            f"{name or 'row'}: {code}" for name, code in found.field_codes
        )
        line = [
            row.violation_id or "",
            found.row_number,
            found.external_id,
            row.status,
            " ".join(found.codes),
            errors,
        ]
        if include_payload:
            payload = row.payload
            line.append(
                json.dumps(payload, ensure_ascii=False, sort_keys=True)
                if payload is not None
                else ""
            )
        yield [safe_cell(cell) for cell in line]


class _Echo:
    """A file-like whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    """CSV text, one line at a time (for a streaming response or a zip entry)."""
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def _masked_values(cell: str) -> str:
    """A dry run's would-be record values (a JSON object) with every value masked."""
    if not cell:
        return cell
    try:
        values = json.loads(cell)
    except ValueError:
        return MASK
    if not isinstance(values, dict):
        return MASK
    return json.dumps(mask_payload(values), ensure_ascii=False)


def _cell(line: list[str], at: int | None) -> str:
    return line[at] if at is not None and at < len(line) else ""


def masked_results_rows(handle: IO[bytes]) -> Iterator[list[Any]]:
    """The stored results file (``ingest.results.Ledger``) with what may be
    personal data masked, for callers without the payload permission: a dry
    run's ``values`` and ``previous`` (names, e-mails, phones of the would-be records) and the
    natural key a row was matched on (a contact's e-mail). Outcomes, decisions,
    external ids, record ids, changed field names and rule codes stay, as in
    the inbox. Closes ``handle`` at the end."""
    with handle:
        # Any storage's File iterates over its lines as bytes.
        reader = csv.reader(codecs.iterdecode(handle, "utf-8"))
        header = next(reader, None)
        if header is None:
            return
        yield header
        values_at, previous_at, by_at, key_at = (
            header.index(name) if name in header else None
            for name in ("values", "previous", "matched_by", "matched_key")
        )
        for line in reader:
            for at in (values_at, previous_at):
                if at is not None and _cell(line, at):
                    line[at] = _masked_values(line[at])
            if (
                key_at is not None
                and _cell(line, key_at)
                and _cell(line, by_at) == MATCHED_BY_NATURAL_KEY
            ):
                line[key_at] = MASK
            yield line
