"""GET /api/v1/: the API's endpoints by name, as DRF's browsable API root
(DefaultRouter's, for routes spread over several apps). Names only, no
data: anyone may read it, as anyone may read the schema."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# (name shown, URL name): lists and top-level actions; a detail's own
# actions (cancel/, replay/, requeue/ …) are listed in the schema.
ENDPOINTS = (
    ("runs", "run-list"),
    ("violations", "violation-list"),
    ("violation groups", "violation-groups"),
    ("violations replace", "violation-replace"),
    ("violations bulk requeue", "violation-bulk-requeue"),
    ("targets", "target-list"),
    ("remediation stats", "remediation-stats"),
    ("schema", "api-schema"),
    ("docs", "api-docs"),
)


class ApiRootView(APIView):
    """The importer's REST API. Each endpoint's parameters and answers are in
    the OpenAPI schema (``schema``) and its browsable form (``docs``)."""

    permission_classes = [AllowAny]
    pagination_class = None
    filter_backends: list[Any] = []
    schema = None  # not an endpoint of its own in the OpenAPI document

    def get(self, request: Request, format: str | None = None) -> Response:
        return Response({name: reverse(url_name, request=request) for name, url_name in ENDPOINTS})
