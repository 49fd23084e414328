"""``targets/``: what each target accepts, and validation of one payload."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import HasAnyPermission
from common.api_schema import error_response
from ingest import registry
from ingest.errors import UsageError
from ingest.models import Source
from ingest.validation import errors_by_field, validate_payload

ROLE_PERMISSIONS = ("runs.view_importrun", "dq.view_violation")


class FieldSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]
    constraints = serializers.DictField()
    help_text = serializers.CharField()  # type: ignore[assignment]


class TargetSerializer(serializers.Serializer):
    name = serializers.CharField()
    verbose_name = serializers.CharField()
    fields = FieldSpecSerializer(many=True)  # type: ignore[assignment]


ValidationResult = inline_serializer(
    "ValidationResult",
    {
        "valid": serializers.BooleanField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class TargetViewSet(viewsets.ViewSet):
    permission_classes = [HasAnyPermission]
    required_any_permissions = ROLE_PERMISSIONS
    lookup_field = "name"
    lookup_value_regex = r"[\w-]+"
    pagination_class = None

    def _target(self, name: str) -> registry.Target:
        try:
            return registry.get(name)
        except UsageError as exc:
            raise NotFound(exc.message) from None

    @extend_schema(
        summary="List targets with their field specs", responses=TargetSerializer(many=True)
    )
    def list(self, request: Request) -> Response:
        return Response([target.spec() for target in registry.all_targets()])

    @extend_schema(
        summary="One target's field specs",
        responses={200: TargetSerializer, 404: error_response("404", "No such target.")},
    )
    def retrieve(self, request: Request, name: str) -> Response:
        return Response(self._target(name).spec())

    @extend_schema(
        summary="Validate one row payload",
        request={"application/json": {"type": "object", "additionalProperties": True}},
        parameters=[
            OpenApiParameter(
                "source", str, required=False, description="A source slug: also check references."
            ),
        ],
        responses={
            200: ValidationResult,
            400: error_response("400", "The body is not a JSON object."),
            404: error_response("404", "No such target."),
        },
        description=(
            "Validate one row payload with the pipeline's own rules. Pass ``?source=SLUG`` to also "
            "check references against that source's known records."
        ),
    )
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, name: str) -> Response:
        target = self._target(name)
        if not isinstance(request.data, dict):
            raise ParseError("The body must be a JSON object of field names to values.")
        source_id = None
        if slug := request.query_params.get("source"):
            source_id = Source.objects.filter(slug=slug).values_list("pk", flat=True).first()
        payload: dict[str, Any] = dict(request.data)
        errors = validate_payload(target=target.name, payload=payload, source_id=source_id)
        return Response({"valid": not errors, "errors": errors_by_field(errors)})
