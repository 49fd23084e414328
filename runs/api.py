"""``runs/``: upload files, watch runs, cancel, replay, download results.

Thin views: the services in ``ingest.services`` do the work; permissions are
model permissions plus ``cancel_importrun``/``replay_importrun``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import (
    ActionPermissions,
    BodyTooLarge,
    BoundedMultiPartParser,
    UploadThrottle,
    check_content_length,
)
from common.api_filters import EMPTY_FILTER, StrictOrderingFilter
from common.api_schema import error_response
from dq.selectors import can_view_payload
from ingest import errors
from runs.api_filters import RunFilter
from runs.exports import csv_lines, masked_results_rows, violation_csv_rows
from runs.models import ImportRun
from runs.serializers import ImportRunSerializer, RunCreateSerializer, RunReplaySerializer
from runs.services import run_cancel, run_create, run_enqueue, run_replay

# Room for the multipart boundaries and the form's other fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024
NO_RESULTS = "Run {run_id} has no results file (yet)."
NO_VIOLATIONS_PERMISSION = "Listing a run's violations needs the permission to view violations."
RESULT_KINDS = ("upserts", "violations")
BAD_RESULT_KIND = f"Choose one of: {', '.join(RESULT_KINDS)}."


@extend_schema_view(
    list=extend_schema(
        summary="List runs", description="Newest first; cursor pages (no total count)."
    ),
    retrieve=extend_schema(summary="A run with its counters and progress"),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = ImportRun.objects.select_related("source", "created_by")
    serializer_class = ImportRunSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"cancel": ["runs.cancel_importrun"], "replay": ["runs.replay_importrun"]}
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = RunFilter
    ordering_fields = ["id", "created_at", "rows_total", "quarantined"]
    ordering = ["-id"]
    lookup_value_regex = r"\d+"
    throttle_scope = "uploads"

    @property
    def max_body_bytes(self) -> int | None:
        """An upload's body may be as large as the file limit (read by the bounded parsers)."""
        if self.action == "create":
            return settings.IMPORTER_MAX_UPLOAD_BYTES + MULTIPART_SLACK_BYTES
        return None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: a session's CSRF check would read the body.
        if self.action == "create":
            check_content_length(request, self.max_body_bytes or 0)
        super().initial(request, *args, **kwargs)

    def get_parsers(self) -> list[Any]:
        """Only an upload takes multipart. DRF asks before it sets ``action``."""
        action = getattr(self, "action", None)
        if action is None and getattr(self, "request", None) is not None:
            action = getattr(self, "action_map", {}).get((self.request.method or "").lower())
        if action == "create":
            return [BoundedMultiPartParser()]
        return super().get_parsers()

    def filter_queryset(self, queryset: Any) -> Any:
        """Filters are the list's: ``results/?kind=violations`` is not the run filter ``kind``."""
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        """``results/`` answers CSV whatever the Accept header asks; its errors are JSON."""
        return super().perform_content_negotiation(request, force=force or self.action == "results")

    def get_throttles(self) -> list[Any]:
        if self.action == "create":
            return [UploadThrottle()]
        return super().get_throttles()

    @extend_schema(
        summary="Upload a file",
        description=(
            "Store the file and queue a run (with `dry_run`, nothing is written to the core "
            "tables; the would-be upserts become the run's results). Poll the run's URL "
            "(`Location`) until its status is finished. A parameter left out (`format`, `encoding`, "
            "`delimiter`, `sheet`, `column_map`) is taken from the source's profile when it has one "
            "(the run's `ingest_params_json.profile_used` names them); `remember` saves the given ones there."
        ),
        request={"multipart/form-data": RunCreateSerializer},
        responses={
            202: ImportRunSerializer,
            400: error_response(
                "400",
                "Invalid form: unknown target (with the choices), bad encoding, a bad value saved on the source's profile, …",
            ),
            413: error_response("413", "The file is over IMPORTER_MAX_UPLOAD_BYTES."),
            429: error_response("429", "Too many uploads: the `uploads` throttle scope."),
        },
    )
    def create(self, request: Request) -> Response:
        form = RunCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        upload = data["file"]
        try:
            if upload.size > settings.IMPORTER_MAX_UPLOAD_BYTES:
                raise BodyTooLarge(
                    errors.TOO_LARGE.format(
                        size=upload.size, limit=settings.IMPORTER_MAX_UPLOAD_BYTES
                    )
                )
            with transaction.atomic():
                run = run_create(
                    target=data["target"],
                    source=data["source"],
                    file=upload,
                    filename=upload.name or "upload",
                    dry_run=data["dry_run"],
                    created_by=request.user,
                    format=data.get("format"),
                    encoding=data.get("encoding"),
                    delimiter=data.get("delimiter"),
                    sheet=data.get("sheet"),
                    column_map=data.get("column_map"),
                    remember=data["remember"],
                )
                run_enqueue(run=run)
        finally:
            upload.close()  # a temporary upload file is deleted on close
        return self._accepted(run)  # without Redis the job has already run

    @extend_schema(
        summary="Cancel a run",
        description="A queued run is cancelled at once; a running one stops after its current chunk.",
        request=None,
        responses={
            200: ImportRunSerializer,
            409: error_response("409", "The run is already finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        run = run_cancel(run=self.get_object())
        return Response(self.get_serializer(run).data)

    @extend_schema(
        summary="Replay a run",
        description="A new run of the same stored file with the same parameters.",
        request=RunReplaySerializer,
        responses={
            202: ImportRunSerializer,
            400: error_response(
                "400", "The body is not a JSON object, or `dry_run` is not a boolean or null."
            ),
            409: error_response("409", "The run has no stored file."),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        run = self.get_object()
        form = RunReplaySerializer(data=request.data)  # a body that is not an object is a 400
        form.is_valid(raise_exception=True)
        with transaction.atomic():
            replay = run_replay(
                run=run, created_by=request.user, dry_run=form.validated_data["dry_run"]
            )
        return self._accepted(replay)

    def _accepted(self, run: ImportRun) -> Response:
        """202 with the new run as it stands now and its URL in Location."""
        run.refresh_from_db()
        location = self.request.build_absolute_uri(reverse("run-detail", kwargs={"pk": run.pk}))
        return Response(self.get_serializer(run).data, status=202, headers={"Location": location})

    @extend_schema(
        summary="Download a run's results as CSV",
        description=(
            "`kind=upserts` (default): the run's results file, one line per row with its outcome "
            "and dedupe decision; for a dry run also the would-be record values (masked, like the "
            "natural key a row was matched on, for callers who may not view payloads). "
            "`kind=violations`: every row the run quarantined, from its results file, whatever "
            "later runs did; each with the id and current status of the violation it belongs to, "
            "and the messages and payload this run found when the violation still knows them "
            "(payload values only for callers who may view payloads). Cells a spreadsheet would "
            "run as formulas are quoted."
        ),
        parameters=[OpenApiParameter("kind", str, enum=list(RESULT_KINDS), required=False)],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A CSV attachment."),
            400: error_response(
                "400", "`kind` is not one of the choices (an empty `kind=` included)."
            ),
            403: error_response(
                "403", "`kind=violations` without the permission to view violations."
            ),
            404: error_response("404", "No such run, or the run has no results file (yet)."),
        },
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> FileResponse | StreamingHttpResponse:
        run = self.get_object()
        kind = request.query_params.get("kind", "upserts")
        if kind == "":  # as for every filter: docs/api.md's rule for empty values
            raise exceptions.ValidationError({"kind": [EMPTY_FILTER]})
        if kind not in RESULT_KINDS:
            raise exceptions.ValidationError({"kind": [BAD_RESULT_KIND]})
        if kind == "violations":
            if not request.user.has_perm("dq.view_violation"):
                raise exceptions.PermissionDenied(NO_VIOLATIONS_PERMISSION)
            rows = violation_csv_rows(
                run=run, include_payload=request.user.has_perm("dq.view_payload")
            )
            response = StreamingHttpResponse(
                csv_lines(rows), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-violations.csv"'
            return response
        if not run.results_file:
            raise exceptions.NotFound(NO_RESULTS.format(run_id=run.pk))
        try:
            handle = run.results_file.open("rb")
        except FileNotFoundError:
            raise exceptions.NotFound(NO_RESULTS.format(run_id=run.pk)) from None
        filename = f"run-{run.pk}-results.csv"
        if can_view_payload(request.user):
            return FileResponse(
                handle, as_attachment=True, filename=filename, content_type="text/csv"
            )
        response = StreamingHttpResponse(
            csv_lines(masked_results_rows(handle)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
