"""A violation's fingerprint: which row of which source it is about, so
that the same bad row imported again is one violation seen again, not a new
one (the way error trackers group exceptions).

- A row with a usable external id: sha256 of ``target|source id|external id``.
- A row without one (a row the reader could not read whole, a missing id):
  sha256 of ``target|source id|raw:`` + sha256 of the row's values as read
  (canonical JSON: sorted keys, no spaces). The readers do not keep a row's
  raw text, and a row they could not read (a row-level error, with no field)
  often has no values at all, so its row number is added to the key
  (``#row N``): the same file imported again still finds it, and two broken
  lines of one file stay two violations.

Migration 0009 computes the first kind in SQL on PostgreSQL; both must
produce the same text, so the key is spelled in one place here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def key_of(*, target: str, source_id: int, external_id: str) -> str:
    return f"{target}|{source_id}|{external_id}"


def of_external_id(*, target: str, source_id: int, external_id: str) -> str:
    return hashlib.sha256(
        key_of(target=target, source_id=source_id, external_id=external_id).encode()
    ).hexdigest()


def raw_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_error(errors: Any) -> bool:
    """A row-level error (no field): the reader could not read the row whole
    (malformed_row, a line over the size limit, a nested JSON value)."""
    return any(not error.get("field") for error in errors or ())


def of_row(
    *,
    target: str,
    source_id: int,
    external_id: str,
    payload: dict[str, Any],
    errors: Any,
    row_number: int,
) -> str:
    """A malformed row's fields may be shifted, so its 'external id' may be
    any value: it is grouped by its values (and row number) instead."""
    unreadable = read_error(errors)
    if external_id and not unreadable:
        return of_external_id(target=target, source_id=source_id, external_id=external_id)
    key = "raw:" + raw_hash(payload) + (f"#row{row_number}" if unreadable else "")
    return of_external_id(target=target, source_id=source_id, external_id=key)
