"""Identity and survivorship outside the pipeline: a steward's hand edits of
core records (which become manual fields), releasing them, each field's
lineage, and re-pointing an external id mapping (audited).

Admin and CLI call these; the survivorship rules themselves live in
ingest/survivorship.py, the one module the pipeline uses too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils import timezone

from core.models import GoldenRecord
from ingest import fields as rules
from ingest import registry, survivorship
from ingest.errors import UsageError
from ingest.models import ExternalIdMap, IdMapAudit
from ingest.registry import Target

NOT_A_TARGET = "{model} is not filled by any import target."
NO_SUCH_RECORD = "There is no {target} record with id {record_id}."
SAME_RECORD = "The external id already points to record {record_id}."
REASON_REQUIRED = "Say why the mapping moves (the reason is kept in the audit)."
MAPPING_MOVED = (
    "The mapping changed meanwhile (it now points to record {record_id}); reload and try again."
)


def target_for_model(model: type[models.Model]) -> Target:
    for target in registry.all_targets():
        if target.model is model:
            return target
    raise UsageError(NOT_A_TARGET.format(model=model.__name__))


def natural_key_of(record: GoldenRecord) -> str | None:
    """The record's natural key, derived from its values the way the pipeline does."""
    target = target_for_model(type(record))
    return target.natural_key(
        {field.name: getattr(record, field.column) for field in target.data_fields if field.column}
    )


def survivorship_columns(model: type[models.Model]) -> list[str]:
    """The record's fields that imports fill (attnames, as provenance keys them)."""
    return [field.column for field in target_for_model(model).data_fields if field.column]


def record_check(
    *, model: type[models.Model], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A steward's edit of a record, checked and normalised by its target's
    import rules, as a file's row is (a lower-case country stored upper-case,
    a phone in E.164...): a hand edit must not store what an import would
    refuse, nor a natural key that the next import cannot find.

    ``values`` maps columns (attnames) to what was typed; columns without a
    rule (references, what no import fills) are left out. Returns the
    cleaned values of the valid columns (an empty one as the column's empty
    value) and the rules' messages by column."""
    checked = [
        field
        for field in target_for_model(model).record_fields
        if field.column is not None and field.column in values
    ]
    columns = {field.name: str(field.column) for field in checked}
    clean, errors = rules.validate_row(
        checked, {name: values[column] for name, column in columns.items()}
    )
    messages: dict[str, list[str]] = {}
    for error in errors:
        messages.setdefault(columns[error["field"]], []).append(error["message"])
    model_fields = {field.attname: field for field in model._meta.concrete_fields}
    cleaned: dict[str, Any] = {}
    for name, column in columns.items():
        if column in messages:
            continue
        value = clean[name]
        if value is None:
            column_field = model_fields[column]
            value = "" if column_field.empty_strings_allowed and not column_field.null else None
        cleaned[column] = value
    return cleaned, messages


def record_save_by_hand(*, record: GoldenRecord, fields: Iterable[str], actor: str) -> list[str]:
    """Save a record a steward edited: the edited import fields become manual
    (imports leave them alone until released) and the natural key follows
    the new values. ``fields`` are attnames; returns those marked manual."""
    columns = set(survivorship_columns(type(record)))
    manual = [field for field in fields if field in columns]
    provenance = dict(record.provenance or {})
    survivorship.mark_manual(provenance, manual, actor=actor, at=timezone.now())
    record.provenance = provenance
    record.natural_key = natural_key_of(record)
    record.save()
    return manual


def record_release_manual(*, record: GoldenRecord, fields: list[str] | None = None) -> list[str]:
    """Let imports update the record's manual fields again (all when None).
    The current value keeps its time, so the next newer import wins."""
    provenance = dict(record.provenance or {})
    released = survivorship.release_manual(provenance, fields)
    if released:
        type(record)._default_manager.filter(pk=record.pk).update(
            provenance=provenance, modified_at=timezone.now()
        )
        record.provenance = provenance
    return released


@dataclass(frozen=True)
class FieldLineage:
    """Who set one field's current value and which survivorship rule made it win."""

    field: str
    value: Any
    source: str
    run_id: int | None
    at: str
    rule: str
    manual: bool
    actor: str


def record_lineage(*, record: GoldenRecord) -> list[FieldLineage]:
    lineage = []
    provenance = getattr(record, "provenance", None) or {}
    for column in survivorship_columns(type(record)):
        origin = provenance.get(column, {})
        lineage.append(
            FieldLineage(
                field=column,
                value=getattr(record, column),
                source=origin.get("source", ""),
                run_id=origin.get("run"),
                at=origin.get("at", ""),
                rule=origin.get("rule", ""),
                manual=bool(origin.get("manual")),
                actor=origin.get("actor", ""),
            )
        )
    return lineage


def record_manual_fields(*, record: models.Model) -> list[str]:
    """The fields a steward set by hand that imports leave alone."""
    provenance = getattr(record, "provenance", None) or {}
    return [
        column
        for column in survivorship_columns(type(record))
        if (provenance.get(column) or {}).get("manual")
    ]


def record_external_ids(*, record: models.Model) -> list[ExternalIdMap]:
    """The external ids that point to a record (source, id, first and last run)."""
    target = target_for_model(type(record))
    return list(
        ExternalIdMap.objects.filter(target=target.name, record_id=record.pk)
        .select_related("source")
        .order_by("source__slug", "external_id")
    )


def id_map_repoint(
    *, mapping: ExternalIdMap, record_id: int, reason: str, actor: User | AnonymousUser | None
) -> IdMapAudit:
    """Point an external id at another record of the same target, and audit it.

    The payload hash is cleared, so the next row for this external id is
    merged into the new record instead of being skipped as already seen.
    Compare-and-set on the old record id: two stewards cannot both move it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise UsageError(REASON_REQUIRED)
    if record_id == mapping.record_id:
        raise UsageError(SAME_RECORD.format(record_id=record_id))
    model = registry.get(mapping.target).model
    if not model._default_manager.filter(pk=record_id).exists():
        raise UsageError(NO_SUCH_RECORD.format(target=mapping.target, record_id=record_id))
    old_record_id = mapping.record_id
    with transaction.atomic():
        moved = ExternalIdMap.objects.filter(pk=mapping.pk, record_id=old_record_id).update(
            record_id=record_id, payload_hash=""
        )
        if not moved:
            current = (
                ExternalIdMap.objects.filter(pk=mapping.pk)
                .values_list("record_id", flat=True)
                .first()
            )
            raise UsageError(MAPPING_MOVED.format(record_id=current))
        audit = IdMapAudit.objects.create(
            mapping=mapping,
            source_id=mapping.source_id,
            target=mapping.target,
            external_id=mapping.external_id,
            old_record_id=old_record_id,
            new_record_id=record_id,
            reason=reason,
            actor=actor if actor is not None and actor.is_authenticated else None,
        )
    mapping.record_id = record_id
    mapping.payload_hash = ""
    return audit
