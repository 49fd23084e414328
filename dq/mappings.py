"""Reads of the value mappings, for ingest: which replacements a new run of
a source applies before validation. ``as_params`` is what the run records
in ``ingest_params_json["value_mappings"]`` (a replay reads them back from
there, not from the table)."""

from __future__ import annotations

from dq.models import ValueMapping

# {field: {from: to}}
Mappings = dict[str, dict[str, str]]


def value_mappings_for(*, source_id: int, target: str) -> Mappings:
    mappings: Mappings = {}
    rows = ValueMapping.objects.filter(source_id=source_id, target=target, active=True).values_list(
        "field", "from_value", "to_value"
    )
    for field, from_value, to_value in rows.order_by("field", "from_value"):
        mappings.setdefault(field, {})[from_value] = to_value
    return mappings
