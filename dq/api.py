"""``violations/`` and ``remediation/stats/``: the inbox for integrations.
Thin views over dq.services and dq.selectors; the same rules, words and
masking as the admin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import HasAnyPermission, ModelPermissions
from common.api_filters import IdFilter, StrictBooleanFilter, StrictFilterSet
from common.api_schema import TEXT_PATTERN, error_response
from dq import selectors, services
from dq.models import Violation
from ingest import fields as rules
from ingest import registry
from ingest.validation import errors_by_field

if TYPE_CHECKING:  # a protocol of the stubs only
    from rest_framework.permissions import _SupportsHasPermission

REMEDIATE_PERMISSIONS = ("dq.change_violation", "dq.remediate_violation")
BULK_NEEDS_ONE = "Give either ids or filter."


class CanRemediate(BasePermission):
    """Edit, requeue and ignore: change and remediate permission (Stewards)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and all(user.has_perm(p) for p in REMEDIATE_PERMISSIONS)
        )


class ViolationFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Violation.Status.choices)
    run = IdFilter(field_name="run_id")
    target = django_filters.CharFilter()
    source = django_filters.CharFilter(field_name="source__slug")
    rule = django_filters.ChoiceFilter(
        choices=[(code, code) for code in rules.RULE_CODES], method="filter_rule", label="rule code"
    )
    field = django_filters.CharFilter(
        method="filter_field", label="field with an error", max_length=64
    )
    resolution = django_filters.ChoiceFilter(choices=Violation.Resolution.choices)
    requeue_outcome = django_filters.ChoiceFilter(
        choices=Violation.RequeueOutcome.choices,
        label="outcome of the last requeue (failed_again: the inbox's badge)",
    )
    first_seen_run = IdFilter(field_name="first_seen_run_id")
    last_seen_run = IdFilter(field_name="last_seen_run_id")
    remediation_run = IdFilter(field_name="remediation_run_id")
    min_occurrences = IdFilter(
        field_name="occurrences", lookup_expr="gte", label="seen at least this many times"
    )
    regressed = StrictBooleanFilter(
        method="filter_regressed", label="broke again after being resolved"
    )

    class Meta:
        model = Violation
        fields = [
            "status",
            "run",
            "target",
            "source",
            "rule",
            "field",
            "resolution",
            "requeue_outcome",
            "first_seen_run",
            "last_seen_run",
            "remediation_run",
            "min_occurrences",
            "regressed",
        ]

    def filter_regressed(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(regressions__gt=0) if value else queryset.filter(regressions=0)

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(selectors.code_filter(value))

    def filter_field(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(selectors.field_filter(value))


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
    run = StrictInteger(required=False, min_value=1)
    target = StrictText(required=False, min_length=1, max_length=64)
    source = StrictText(required=False, min_length=1, max_length=64)  # type: ignore[assignment]
    rule = serializers.ChoiceField(choices=list(rules.RULE_CODES), required=False)
    field = StrictText(required=False, min_length=1, max_length=64)
    requeue_outcome = serializers.ChoiceField(
        choices=Violation.RequeueOutcome.choices, required=False
    )


class BulkRequeueSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=StrictInteger(min_value=1, max_value=2**63 - 1),
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


def _bulk_request_schema() -> dict[str, Any]:
    """Exactly one of ids or filter (DRF serializers cannot say that in OpenAPI)."""
    filter_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": list(Violation.Status.values)},
            "run": {"type": "integer", "minimum": 1},
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
        "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
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
    requeue = serializers.BooleanField(default=False)
    remember = serializers.BooleanField(
        default=False,
        help_text="Save as a value mapping of each source concerned, applied to its later imports.",
    )
    preview = serializers.BooleanField(default=False, help_text="Only count; change nothing.")


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


class ViolationSchema(AutoSchema):
    """The bodies of PATCH, ignore and bulk requeue are required (an empty
    request is a 400), which the schema must say."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        if body and getattr(self.view, "action", None) in (
            "partial_update",
            "ignore",
            "bulk_requeue",
            "replace",
        ):
            body["required"] = True
        return body


class ViolationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quarantined rows. Reading needs dq.view_violation; payload values are
    masked without dq.view_payload; writes need the Stewards' permissions."""

    serializer_class = ViolationSerializer
    filterset_class = ViolationFilter
    http_method_names = ["get", "patch", "post", "head", "options"]
    lookup_value_regex = r"[^/]+"  # a bad id reaches the view: a JSON 404, not the site's HTML one
    parser_classes = [JSONParser]
    schema = ViolationSchema()
    permission_classes = [ModelPermissions]

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in ("partial_update", "requeue", "ignore", "bulk_requeue", "replace"):
            return [CanRemediate()]
        return super().get_permissions()

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return ViolationDetailSerializer if self.action == "retrieve" else ViolationSerializer

    def get_queryset(self) -> QuerySet[Violation]:
        queryset = Violation.objects.select_related("source", "assignee")
        if self.action == "list":
            queryset = queryset.defer("history")
            if "run" not in self.request.query_params:
                queryset = queryset.filter(dry_run=False)  # dry runs' rows: ask for their run
        return queryset

    @extend_schema(
        description="Violations, newest first (cursor pages). Without ``run``, dry runs' violations are left out.",
        responses={
            200: ViolationSerializer(many=True),
            400: OpenApiResponse(NESTED_ERRORS),
            **ERROR_RESPONSES,
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses={200: ViolationDetailSerializer, 404: OpenApiResponse(DETAIL), **ERROR_RESPONSES}
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=PayloadPatchSerializer,
        responses={
            200: ViolationSerializer,
            400: OpenApiResponse(
                FIELD_ERRORS, description="The payload's errors: {field: [messages]}."
            ),
            404: OpenApiResponse(DETAIL),
            409: error_response("409", "The violation is not open, or comes from a dry run."),
            **ERROR_RESPONSES,
        },
        description="Change payload values of an open violation. The result must pass the target's rules "
        "(the same as the pipeline's); it is then saved, not imported: requeue it.",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        violation = self.get_object()
        body = PayloadPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            violation = services.violation_edit(
                violation=violation,
                payload={**violation.payload, **body.validated_data["payload"]},
                actor=request.user,
            )
        except services.PayloadInvalid as exc:
            return Response(errors_by_field(exc.errors), status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(violation).data)

    @extend_schema(
        request=None,
        responses={202: RequeueResultSerializer, 404: OpenApiResponse(DETAIL), **ERROR_RESPONSES},
        description="Send this open violation through the pipeline again in a remediation run. "
        "A second call while it is requeued requeues nothing.",
    )
    @action(detail=True, methods=["post"])
    def requeue(self, request: Request, pk: str | None = None) -> Response:
        violation = self.get_object()
        return requeue_response(
            services.violations_requeue(
                violations=Violation.objects.filter(pk=violation.pk), actor=request.user
            )
        )

    @extend_schema(
        request=IgnoreSerializer,
        responses={
            200: ViolationSerializer,
            400: OpenApiResponse(FIELD_ERRORS, description="No reason."),
            404: OpenApiResponse(DETAIL),
            409: error_response("409", "The violation is not open, or comes from a dry run."),
            **ERROR_RESPONSES,
        },
    )
    @action(detail=True, methods=["post"])
    def ignore(self, request: Request, pk: str | None = None) -> Response:
        violation = self.get_object()
        body = IgnoreSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if violation.dry_run:
            raise services.StateConflict(
                services.DRY_RUN_READ_ONLY.format(pk=violation.pk, run_id=violation.run_id)
            )
        changed = services.violations_ignore(
            violations=Violation.objects.filter(pk=violation.pk),
            reason=body.validated_data["reason"],
            actor=request.user,
        )
        violation.refresh_from_db()
        if not changed:
            raise services.StateConflict(
                services.NOT_EDITABLE.format(pk=violation.pk, status=violation.status)
            )
        return Response(self.get_serializer(violation).data)

    @extend_schema(
        operation_id="v1_violations_bulk_requeue",
        request={"application/json": _bulk_request_schema()},
        responses={
            202: RequeueResultSerializer,
            400: OpenApiResponse(NESTED_ERRORS),
            **ERROR_RESPONSES,
        },
        description="Requeue many violations, by ids or by the list's filters (open ones only; "
        f"at most {services.MAX_PER_ACTION:,}). One remediation run per target and source.",
    )
    @action(detail=False, methods=["post"], url_path="requeue")
    def bulk_requeue(self, request: Request) -> Response:
        body = BulkRequeueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "ids" in body.validated_data:
            violations = Violation.objects.filter(pk__in=body.validated_data["ids"])
        else:
            wanted = {key: str(value) for key, value in body.validated_data["filter"].items()}
            violations = ViolationFilter(wanted, queryset=Violation.objects.all()).qs
        return requeue_response(
            services.violations_requeue(violations=violations, actor=request.user)
        )

    @extend_schema(
        parameters=[GroupsQuerySerializer],  # the schema says what the query refuses (blank, NUL)
        responses={200: GroupSerializer, 400: OpenApiResponse(NESTED_ERRORS), **ERROR_RESPONSES},
        description="Violations counted by (target, source, field, rule code), most first, with a few example "
        "values: the groups a steward fixes at once with replace/.",
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="groups",
        pagination_class=None,
        filterset_class=None,
    )
    def groups(self, request: Request) -> Response:
        query = GroupsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(
            selectors.violation_groups(
                **query.validated_data, can_view_payload=selectors.can_view_payload(request.user)
            )
        )

    @extend_schema(
        request=ReplaceSerializer,
        responses={
            200: ReplaceResultSerializer,
            400: OpenApiResponse(NESTED_ERRORS),
            **ERROR_RESPONSES,
        },
        description="Replace one value by another in the field of every open violation of the filter that holds "
        "it (one target), then optionally requeue them; with remember, later imports of each source concerned "
        "get the replacement before validation. With preview, only count.",
    )
    @action(detail=False, methods=["post"], url_path="replace")
    def replace(self, request: Request) -> Response:
        body = ReplaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        wanted = {key: str(value) for key, value in data["filter"].items()}
        violations = ViolationFilter(wanted, queryset=Violation.objects.all()).qs
        if data["preview"]:
            matched = services.violations_replace_preview(
                violations=violations, field_name=data["field"], from_value=data["from"]
            )
            return Response(
                {
                    "matched": matched,
                    "replaced": 0,
                    "requeued": 0,
                    "runs": [],
                    "remembered": [],
                    "preview": True,
                }
            )
        result = services.violations_replace_value(
            violations=violations,
            field_name=data["field"],
            from_value=data["from"],
            to_value=data["to"],
            actor=request.user,
            requeue=data["requeue"],
            remember=data["remember"],
        )
        requeue = result.requeue or services.RequeueResult()
        return Response(
            {
                "matched": result.matched,
                "replaced": result.replaced,
                "requeued": requeue.requeued,
                "runs": [run.pk for run in requeue.runs],
                "remembered": [m.pk for m in result.remembered],
                "preview": False,
            }
        )


StatsSerializer = inline_serializer(
    "RemediationStats",
    {
        "since": serializers.DateTimeField(),
        "requeued": serializers.IntegerField(),
        "resolved": serializers.IntegerField(),
        "failed_again": serializers.IntegerField(),
        "ignored": serializers.IntegerField(),
        "success_rate": serializers.FloatField(
            allow_null=True, help_text="resolved / (resolved + failed_again)"
        ),
        "median_time_to_fix_s": serializers.FloatField(allow_null=True),
        "by_target": serializers.DictField(child=serializers.DictField()),
        "by_source": serializers.DictField(child=serializers.DictField()),
        "by_rule": serializers.DictField(child=serializers.DictField()),
    },
)


class RemediationStatsView(APIView):
    """Remediation outcomes for a period (the inbox's summary cards)."""

    permission_classes = [HasAnyPermission]
    required_any_permissions = ("dq.view_violation",)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Start of the period: an ISO 8601 date-time (a date, or a number of days "
                "back like 7d, are accepted too). Default: the last 30 days.",
            )
        ],
        responses={200: StatsSerializer, 400: OpenApiResponse(DETAIL), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        try:
            since = selectors.parse_since(request.query_params.get("since"))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(selectors.remediation_stats(since=since))
