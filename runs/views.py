"""Admin views of the runs dashboard, mounted by ImportRunAdmin.get_urls
(wrapped in admin_site.admin_view: staff login required). Each checks one
permission and calls one service or selector; mutations are POST only (a GET
goes back to the run's page)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html

from dq.selectors import can_view_payload
from ingest.errors import ImporterError
from runs import selectors, services
from runs.exports import csv_lines, masked_results_rows
from runs.models import ImportRun

FILE_MISSING = "The stored file of run {run_id} is missing."
NO_RESULTS = "Run {run_id} has no results file."
BAD_IDS = "ids must be a comma-separated list of run ids."


def run_url(run: ImportRun) -> str:
    return reverse("admin:runs_importrun_change", args=[run.pk])


def run_link(run: ImportRun) -> str:
    return format_html('<a href="{}">run {}</a>', run_url(run), run.pk)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _attachment(
    request: HttpRequest,
    run: ImportRun,
    field: str,
    filename: str,
    missing: str,
    *,
    masked: bool = False,
) -> HttpResponseBase:
    """The stored file as an attachment; ``masked``: a results file with its
    personal data masked (``runs.exports.masked_results_rows``)."""
    stored = getattr(run, field)
    if not stored or not stored.storage.exists(stored.name):
        messages.error(request, missing.format(run_id=run.pk))
        return HttpResponseRedirect(run_url(run))
    if not masked:
        return FileResponse(stored.open("rb"), as_attachment=True, filename=filename)
    response = StreamingHttpResponse(
        csv_lines(masked_results_rows(stored.open("rb"))), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def run_file_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored upload, as an attachment (MEDIA is never served publicly).
    It holds every row's values, so it needs the payload permission too."""
    _require(request, "runs.view_importrun")
    _require(request, "dq.view_payload")
    run = get_object_or_404(ImportRun, pk=pk)
    return _attachment(request, run, "file", run.original_filename or f"run-{run.pk}", FILE_MISSING)


def run_results_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The run's results CSV (a dry run's would-be upserts), its personal
    data masked for users without the payload permission."""
    _require(request, "runs.view_importrun")
    run = get_object_or_404(ImportRun, pk=pk)
    return _attachment(
        request,
        run,
        "results_file",
        f"run-{run.pk}-results.csv",
        NO_RESULTS,
        masked=not can_view_payload(request.user),
    )


def _mutation(request: HttpRequest, pk: int, permission: str) -> ImportRun | HttpResponse:
    _require(request, permission)
    run = get_object_or_404(ImportRun, pk=pk)
    if request.method != "POST":
        return HttpResponseRedirect(run_url(run))
    return run


def _new_run_view(
    request: HttpRequest, pk: int, permission: str, start: Callable[..., ImportRun], message: str
) -> HttpResponse:
    """POST: start a new run from this one (``start`` is the service), then
    go to the new run with ``message`` (run, link to the new run, its status)."""
    run = _mutation(request, pk, permission)
    if isinstance(run, HttpResponse):
        return run
    try:
        new_run = start(run=run, created_by=request.user)
    except ImporterError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(run_url(run))
    new_run.refresh_from_db()
    messages.success(request, format_html(message, run.pk, run_link(new_run), new_run.status))
    return HttpResponseRedirect(run_url(new_run))


def run_for_real_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _new_run_view(
        request,
        pk,
        "runs.add_importrun",
        services.run_for_real,
        "Run {} started for real as {} ({}).",
    )


def run_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = _mutation(request, pk, "runs.cancel_importrun")
    if isinstance(run, HttpResponse):
        return run
    try:
        run = services.run_cancel(run=run)
    except ImporterError as exc:
        messages.error(request, exc.message)
    else:
        if run.status == ImportRun.Status.CANCELLED:
            messages.success(request, f"Run {run.pk} cancelled.")
        else:
            messages.success(request, f"Run {run.pk} will stop after its current chunk.")
    return HttpResponseRedirect(run_url(run))


def run_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _new_run_view(
        request, pk, "runs.replay_importrun", services.run_replay, "Run {} replayed as {} ({})."
    )


def run_progress_view(request: HttpRequest) -> JsonResponse:
    """Live progress of the runs the list shows as queued or running:
    ``?ids=1,2,3`` → ``{"runs": [...]}``."""
    _require(request, "runs.view_importrun")
    raw = request.GET.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return JsonResponse({"detail": BAD_IDS}, status=400)
    return JsonResponse({"runs": selectors.run_progress(ids=ids)})
