"""A violation's fingerprint: which row of which source it is about, so
that the same bad row imported again is one violation seen again, not a new
one (the way error trackers group exceptions).

- A row with a usable external id: sha256 of ``target|source id|external id``.
- A row without one (a malformed row, a missing id): sha256 of
  ``target|source id|raw:`` + sha256 of the row's raw values (the values as
  read, as canonical JSON: sorted keys, no spaces).

Migration 0009 computes the first kind in SQL on PostgreSQL; both must
produce the same text, so the key is spelled in one place here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MALFORMED_ROW = "malformed_row"


def key_of(*, target: str, source_id: int, external_id: str) -> str:
    return f"{target}|{source_id}|{external_id}"


def of_external_id(*, target: str, source_id: int, external_id: str) -> str:
    return hashlib.sha256(key_of(target=target, source_id=source_id, external_id=external_id).encode()).hexdigest()


def raw_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def usable_external_id(external_id: str, errors: Any) -> bool:
    """A malformed row's fields may be shifted: its 'external id' may be any
    value, so it is grouped by its raw text instead."""
    return bool(external_id) and not any(error.get("code") == MALFORMED_ROW for error in errors or ())


def of_row(*, target: str, source_id: int, external_id: str, payload: dict[str, Any], errors: Any) -> str:
    if usable_external_id(external_id, errors):
        return of_external_id(target=target, source_id=source_id, external_id=external_id)
    return of_external_id(target=target, source_id=source_id, external_id="raw:" + raw_hash(payload))
