"""Identity look-ups, one query per chunk each: the id map, natural keys,
references to other targets and the current state of matched records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models

from ingest.models import ExternalIdMap


@dataclass(slots=True)
class Mapping:
    record_id: int
    payload_hash: str


def id_map_lookup(*, source_id: int, target: str, external_ids: Iterable[str]) -> dict[str, Mapping]:
    wanted = set(external_ids)
    if not wanted:
        return {}
    rows = ExternalIdMap.objects.filter(
        source_id=source_id, target=target, external_id__in=wanted
    ).values_list("external_id", "record_id", "payload_hash")
    return {external_id: Mapping(record_id, payload_hash) for external_id, record_id, payload_hash in rows}


def natural_key_lookup(*, model: type[models.Model], keys: Iterable[str]) -> dict[str, list[int]]:
    """natural key -> ids of the records that have it, oldest first. Usually
    one; several when hand edits or merges made records share a key, and the
    pipeline then needs the next oldest once the oldest moves away."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[str, list[int]] = {}
    # No ORDER BY: SQLite would then walk the primary key instead of the index.
    rows = model.objects.filter(natural_key__in=wanted).order_by().values_list("natural_key", "id")
    for key, record_id in rows:
        found.setdefault(key, []).append(record_id)
    for ids in found.values():
        ids.sort()
    return found


def records_load(
    *, model: type[models.Model], ids: Iterable[int], attnames: Sequence[str]
) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    """id -> (values by attname, provenance) for the records that exist."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = model.objects.filter(pk__in=wanted).values_list("id", "provenance", *attnames)
    return {row[0]: (dict(zip(attnames, row[2:])), row[1] or {}) for row in rows}
