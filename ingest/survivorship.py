"""Field-level survivorship: manual > most recent > non-null.

One helper for the pipeline, the admin and the CLI. Per field:
- a value a steward set by hand (``manual``) is never overwritten by an import;
- an empty incoming value never overwrites anything;
- a non-empty incoming value fills an empty field;
- otherwise the most recent value wins: the incoming one when its time is at
  least the time recorded for the current value (ties go to the newcomer).
Times are ISO 8601 strings in UTC with microseconds, so they compare as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

POLICY_VERSION = "1"

RULE_MANUAL = "manual"
RULE_MOST_RECENT = "most_recent"
RULE_NON_NULL = "non_null"


def timestamp(value: dt.datetime) -> str:
    """The one textual form of a time in provenance, comparable as a string."""
    if value.tzinfo is not dt.UTC:  # a row's timestamp is UTC already (fields.parse_datetime)
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")


def is_empty(value: Any) -> bool:
    return value is None or value == ""


def merge(
    current: dict[str, Any],
    provenance: dict[str, dict[str, Any]],
    incoming: dict[str, Any],
    *,
    origin: dict[str, Any],
) -> tuple[list[str], bool]:
    """Merge ``incoming`` into ``current`` in place, updating ``provenance``.

    ``origin`` is the provenance entry an incoming value gets
    (``{"source", "run", "at", "manual": False}``). Returns the fields whose
    value changed, and whether anything (value or provenance) changed.
    """
    at = origin["at"]
    changed_fields: list[str] = []
    touched = False
    # One provenance entry per rule, shared by the fields it covers: entries
    # are replaced, never edited in place, and writers serialize each once.
    entries: dict[str, dict[str, Any]] = {}
    for field, value in incoming.items():
        if is_empty(value):
            continue
        seen = provenance.get(field)
        if seen is not None and seen.get("manual"):
            continue
        old = current.get(field)
        if is_empty(old):
            rule = RULE_NON_NULL
        elif seen is None or at >= seen.get("at", ""):
            rule = RULE_MOST_RECENT
        else:
            continue
        if value != old:
            current[field] = value
            changed_fields.append(field)
        elif seen is not None and seen.get("at", "") >= at:
            continue
        entry = entries.get(rule)
        if entry is None:
            entry = entries[rule] = {**origin, "rule": rule}
        provenance[field] = entry
        touched = True
    return changed_fields, touched


def mark_manual(
    provenance: dict[str, dict[str, Any]], fields: list[str], *, actor: str, at: dt.datetime
) -> None:
    """Record that a steward set these fields by hand: imports leave them alone."""
    for field in fields:
        provenance[field] = {
            "manual": True,
            "actor": actor,
            "at": timestamp(at),
            "rule": RULE_MANUAL,
        }


def release_manual(
    provenance: dict[str, dict[str, Any]], fields: list[str] | None = None
) -> list[str]:
    """Let imports update these fields again (all manual fields when None)."""
    released = []
    for field, seen in list(provenance.items()):
        if seen.get("manual") and (fields is None or field in fields):
            provenance[field] = {**seen, "manual": False}
            released.append(field)
    return released
