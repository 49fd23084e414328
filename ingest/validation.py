"""Validation of one payload outside a file: the DQ editor, the API's PATCH
and ``targets/{name}/validate/`` all call this, and it runs the pipeline's
own rules, so every surface gives the same messages for the same payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest import fields as rules
from ingest import registry, resolve


def errors_by_field(errors: list[dict[str, str]]) -> dict[str, list[str]]:
    """[{field, code, message}] → {field: [message, …]} (a row-level error
    has the field "non_field_errors")."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        grouped.setdefault(error["field"] or "non_field_errors", []).append(error["message"])
    return grouped


def validate_payload(
    *, target: str, payload: Mapping[str, Any], source_id: int | None = None
) -> list[dict[str, str]]:
    """Every error the pipeline would give this payload, as [{field, code,
    message}]. With a source, references are checked against its id map too;
    a reference to a record earlier in the same file cannot be seen here."""
    spec = registry.get(target)
    clean, errors = rules.validate_row(spec.fields, payload)
    if source_id is None:
        return errors
    failed = {error["field"] for error in errors}
    for reference in spec.references:
        value = clean.get(reference.name)
        if value is None or reference.name in failed:
            continue
        found = resolve.id_map_lookup(
            source_id=source_id, target=reference.target, external_ids={value}
        )
        if value not in found:
            message = rules.MSG_UNKNOWN_REFERENCE.format(target=reference.target, value=value)
            errors.append(rules.error(reference.name, rules.UNKNOWN_REFERENCE, message))
    return errors
