"""A run's violations as CSV rows, for ``runs/{id}/results/?kind=violations``.

Every cell goes through ``ingest.results.safe_cell``: a payload written by a
source system must not run as a formula in the spreadsheet that opens it.
Payload values (possibly personal data) are included only for callers who
may see them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dq.models import Violation
from ingest.results import safe_cell
from runs.models import ImportRun

VIOLATION_HEADER = ["violation_id", "row_number", "external_id", "status", "error_codes", "errors"]


def violation_csv_rows(*, run: ImportRun, include_payload: bool) -> Iterator[list[Any]]:
    """The header, then one line per violation in row order, streamed from the database."""
    yield VIOLATION_HEADER + (["payload"] if include_payload else [])
    fields = ["id", "row_number", "external_id", "status", "errors"] + (["payload"] if include_payload else [])
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
            "; ".join(f"{error.get('field') or 'row'}: {error.get('message', '')}" for error in errors),
        ]
        if include_payload:
            line.append(json.dumps(values[5], ensure_ascii=False, sort_keys=True))
        yield [safe_cell(cell) for cell in line]
