"""Input and output shapes of the violations API, and their schema."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from common.api import StrictBooleanField
from common.api_schema import TEXT_PATTERN
from dq import selectors, services
from dq.models import Violation
from ingest import fields as rules
from ingest import registry

ID_MAX = models.BigIntegerField.MAX_BIGINT  # a primary key

BULK_NEEDS_ONE = "Give either ids or filter."
FILTER_NEEDS_ONE = (
    "Give at least one criterion (status, run, target, source, rule, field or "
    "requeue_outcome): an empty filter would take the whole inbox."
)


class ViolationSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.slug", read_only=True)  # type: ignore[assignment]
    codes = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()
    assignee = serializers.CharField(
        source="assignee.get_username",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The username of the steward who took the violation; null when nobody has.",
    )

    class Meta:
        model = Violation
        fields = [
            "id",
            "run",
            "target",
            "source",
            "row_number",
            "external_id",
            "payload",
            "errors",
            "codes",
            "status",
            "dry_run",
            "assignee",
            "ignore_reason",
            "resolved_by_run",
            "resolved_at",
            "remediation_run",
            "payload_purged_at",
            "fingerprint",
            "occurrences",
            "first_seen_run",
            "last_seen_run",
            "resolution",
            "regressions",
            "requeue_outcome",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_codes(self, obj: Violation) -> list[str]:
        return [code for code in obj.codes.split(",") if code]

    @extend_schema_field(
        {"type": "object", "additionalProperties": {"type": "string", "nullable": True}}
    )
    def get_payload(self, obj: Violation) -> dict[str, Any]:
        """Values are masked ("•••") for users without dq.view_payload."""
        return selectors.payload_for(self.context["request"].user, obj.payload)


class ViolationDetailSerializer(ViolationSerializer):
    """One violation: also its earlier occurrences' payloads and errors."""

    history = serializers.SerializerMethodField()

    class Meta(ViolationSerializer.Meta):
        fields = [*ViolationSerializer.Meta.fields, "history"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "run": {"type": "integer", "nullable": True},
                    "at": {"type": "string"},
                    "payload": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "nullable": True},
                    },
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            },
        }
    )
    def get_history(self, obj: Violation) -> list[dict[str, Any]]:
        """Oldest first, at most 20; payload values masked as the payload's."""
        user = self.context["request"].user
        return [
            {**entry, "payload": selectors.payload_for(user, entry.get("payload"))}
            for entry in obj.history or []
        ]


FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
    },
    "description": "{field: [messages]} in the pipeline's own words (row-level errors: non_field_errors), "
    "or {detail: message} for a domain error.",
}
NESTED_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "DRF validation errors by field (list items and nested objects by index or key), "
    "or {detail: message}.",
}
DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})
ERROR_RESPONSES = {
    401: OpenApiResponse(DETAIL, description="Not authenticated."),
    403: OpenApiResponse(DETAIL, description="No permission (role)."),
}


class PayloadField(serializers.DictField):
    """Any JSON object here; the values are checked by dq.services.payload_check,
    so every error comes back flat, {field: [message]}, in the pipeline's words."""


class PayloadPatchSerializer(serializers.Serializer):
    payload = PayloadField()


class PayloadPatchSchema(OpenApiSerializerExtension):
    """The PATCH body as the view reads it: ``payload`` is required (the
    view does not read it as a partial form, though drf-spectacular would
    say so for a PATCH), and its keys are target fields: every registered
    target's (read when the schema is made) and no others."""

    target_class = PayloadPatchSerializer

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return "PayloadPatch"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        names = sorted({name for target in registry.all_targets() for name in target.field_names})
        payload = {
            "type": "object",
            "properties": {name: {"type": "string", "nullable": True} for name in names},
            "additionalProperties": False,
            "description": "Field values to change (text, or null to clear), merged into the current payload; "
            "each key a field of the violation's target. The merged payload must pass the target's rules.",
        }
        return {"type": "object", "properties": {"payload": payload}, "required": ["payload"]}


class StrictText(serializers.CharField):
    """Text only: DRF's CharField would turn 0 into "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInteger(serializers.IntegerField):
    """A JSON integer only (not "1", 1.0 or true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class IgnoreSerializer(serializers.Serializer):
    reason = StrictText(
        max_length=services.MAX_REASON, help_text="Why the row will not be imported."
    )


class StrictSerializer(serializers.Serializer):
    """Unknown keys are an error, not silently ignored (a typo in a filter
    must not requeue everything else)."""

    reject_unknown_fields = True  # the schema says so (additionalProperties: false)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class BulkFilterSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Violation.Status.choices, required=False)
    run = StrictInteger(required=False, min_value=1, max_value=ID_MAX)
    target = StrictText(required=False, min_length=1, max_length=64)
    source = StrictText(required=False, min_length=1, max_length=64)  # type: ignore[assignment]
    rule = serializers.ChoiceField(choices=list(rules.RULE_CODES), required=False)
    field = StrictText(required=False, min_length=1, max_length=64)
    requeue_outcome = serializers.ChoiceField(
        choices=Violation.RequeueOutcome.choices, required=False
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """A bulk action acts on what the filter names, never on every
        target and source for want of a criterion (``{"filter": {}}``), as
        an empty query-string filter is a 400."""
        if not data:
            raise ValidationError({"non_field_errors": [FILTER_NEEDS_ONE]})
        return data


class BulkFilterSchema(OpenApiSerializerExtension):
    """The filter as validated: at least one criterion."""

    target_class = BulkFilterSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {**super().map_serializer(auto_schema, direction), "minProperties": 1}


class BulkRequeueSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=StrictInteger(min_value=1, max_value=ID_MAX),
        required=False,
        min_length=1,
        max_length=services.MAX_PER_ACTION,
    )
    filter = BulkFilterSerializer(
        required=False, help_text="The list's filters; only open violations are requeued."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in data) == ("filter" in data):
            raise ValidationError({"non_field_errors": [BULK_NEEDS_ONE]})
        return data


def bulk_request_schema() -> dict[str, Any]:
    """Exactly one of ids or filter (DRF serializers cannot say that in OpenAPI)."""
    filter_schema = {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "status": {"type": "string", "enum": list(Violation.Status.values)},
            "run": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
            "target": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN},
            "source": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN},
            "rule": {"type": "string", "enum": list(rules.RULE_CODES)},
            "field": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN},
            "requeue_outcome": {"type": "string", "enum": list(Violation.RequeueOutcome.values)},
        },
    }
    ids_schema = {
        "type": "array",
        "minItems": 1,
        "maxItems": services.MAX_PER_ACTION,
        "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    }
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["ids"],
                "additionalProperties": False,
                "properties": {"ids": ids_schema},
            },
            {
                "type": "object",
                "required": ["filter"],
                "additionalProperties": False,
                "properties": {"filter": filter_schema},
            },
        ]
    }


RequeueResultSerializer = inline_serializer(
    "RequeueResult",
    {
        "requeued": serializers.IntegerField(),
        "not_requeued": serializers.IntegerField(
            help_text="Not open, or from a dry run: left alone."
        ),
        "runs": serializers.ListField(
            child=serializers.IntegerField(), help_text="The remediation runs created."
        ),
    },
)


def requeue_response(result: services.RequeueResult) -> Response:
    return Response(
        {
            "requeued": result.requeued,
            "not_requeued": result.not_requeued,
            "runs": [run.pk for run in result.runs],
        },
        status=status.HTTP_202_ACCEPTED,
    )


class GroupsQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=Violation.Status.choices,
        required=False,
        default=Violation.Status.OPEN,
        help_text="Default: open.",
    )
    target = StrictText(required=False, min_length=1, max_length=64)
    source = StrictText(required=False, min_length=1, max_length=64, help_text="A source's slug.")  # type: ignore[assignment]


GroupSerializer = inline_serializer(
    "ViolationGroup",
    many=True,
    fields={
        "target": serializers.CharField(),
        "source": serializers.CharField(),
        "field": serializers.CharField(help_text="Empty for a row-level error."),
        "code": serializers.CharField(),
        "count": serializers.IntegerField(),
        "examples": serializers.ListField(
            child=serializers.CharField(),
            help_text="A few distinct values of the field (masked without dq.view_payload).",
        ),
    },
)


class ReplaceSerializer(StrictSerializer):
    filter = BulkFilterSerializer(help_text="The list's filters; only open violations change.")
    field = StrictText(
        min_length=1, max_length=64, help_text="The payload field whose value is replaced."
    )
    to = StrictText(max_length=1000, allow_blank=True, trim_whitespace=False)
    requeue = StrictBooleanField(default=False)
    remember = StrictBooleanField(
        default=False,
        help_text="Save as a value mapping of each source concerned, applied to its later imports.",
    )
    preview = StrictBooleanField(default=False, help_text="Only count; change nothing.")


# "from" is a Python keyword: declared after the class, in the body's order.
ReplaceSerializer._declared_fields = {
    "filter": ReplaceSerializer._declared_fields["filter"],
    "field": ReplaceSerializer._declared_fields["field"],
    "from": StrictText(
        max_length=1000, allow_blank=True, trim_whitespace=False, help_text="The value to replace."
    ),
    **{
        name: f
        for name, f in ReplaceSerializer._declared_fields.items()
        if name not in ("filter", "field")
    },
}


ReplaceResultSerializer = inline_serializer(
    "ReplaceResult",
    {
        "matched": serializers.IntegerField(
            help_text="Open violations of the filter holding the value."
        ),
        "replaced": serializers.IntegerField(),
        "requeued": serializers.IntegerField(),
        "runs": serializers.ListField(
            child=serializers.IntegerField(), help_text="Remediation runs created."
        ),
        "remembered": serializers.ListField(
            child=serializers.IntegerField(), help_text="Value mapping ids saved."
        ),
        "preview": serializers.BooleanField(),
    },
)
