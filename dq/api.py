"""``violations/`` and ``remediation/stats/``: the inbox for integrations.
Thin views over dq.services and dq.selectors; the same rules, words and
masking as the admin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
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
from common.api_schema import error_response
from dq import selectors, services, stats
from dq.api_filters import ViolationFilter
from dq.models import Violation
from dq.serializers import (
    DETAIL,
    ERROR_RESPONSES,
    FIELD_ERRORS,
    NESTED_ERRORS,
    BulkRequeueSerializer,
    GroupSerializer,
    GroupsQuerySerializer,
    IgnoreSerializer,
    PayloadPatchSerializer,
    ReplaceResultSerializer,
    ReplaceSerializer,
    RequeueResultSerializer,
    ViolationDetailSerializer,
    ViolationSerializer,
    bulk_request_schema,
    requeue_response,
)
from ingest.validation import errors_by_field

if TYPE_CHECKING:  # a protocol of the stubs only
    from rest_framework.permissions import _SupportsHasPermission

REMEDIATE_PERMISSIONS = ("dq.change_violation", "dq.remediate_violation")


class CanRemediate(BasePermission):
    """Edit, requeue and ignore: change and remediate permission (Stewards)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and all(user.has_perm(p) for p in REMEDIATE_PERMISSIONS)
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


def filtered_violations(criteria: dict[str, Any]) -> QuerySet[Violation]:
    """A bulk body's filter through the list's FilterSet; a criterion it
    refuses is a 400, never dropped (which would widen the action)."""
    filterset = ViolationFilter(
        {key: str(value) for key, value in criteria.items()}, queryset=Violation.objects.all()
    )
    if not filterset.is_valid():
        raise ValidationError({"filter": filterset.errors})
    return filterset.qs


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
        request={"application/json": bulk_request_schema()},
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
            violations = filtered_violations(body.validated_data["filter"])
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
        violations = filtered_violations(data["filter"])
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
            since = stats.parse_since(request.query_params.get("since"))
        except ValueError as exc:
            raise ValidationError({"detail": str(exc)}) from None
        return Response(stats.remediation_stats(since=since))
