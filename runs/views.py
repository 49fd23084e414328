"""Admin views of the runs dashboard, mounted by ImportRunAdmin.get_urls
(wrapped in admin_site.admin_view: staff login required). Each checks one
permission and calls one service or selector; mutations are POST only: a GET
of one shows what it will do and asks to confirm (CSRF-protected POST)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.contrib.admin.options import IncorrectLookupParameters
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
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from common.admin_lookups import id_param
from dq.selectors import can_view_payload
from ingest.errors import ImporterError
from runs import display, preview, selectors, services
from runs.exports import csv_lines, masked_results_rows
from runs.models import ImportRun

FILE_MISSING = "The stored file of run {run_id} is missing."
NO_RESULTS = "Run {run_id} has no results file."
BAD_IDS = "ids must be a comma-separated list of run ids."


def run_url(run: ImportRun) -> str:
    return reverse("admin:runs_importrun_change", args=[run.pk])


def run_link(run: ImportRun) -> str:
    return format_html('<a href="{}">run {}</a>', run_url(run), run.pk)


def run_state_words(run: ImportRun) -> str:
    """What a run is doing, as the end of a sentence about it."""
    words: dict[str, str] = {
        ImportRun.Status.QUEUED: "it waits for a worker",
        ImportRun.Status.RUNNING: "it is running",
        ImportRun.Status.SUCCEEDED: "it finished, every row imported"
        if not run.dry_run
        else "it finished, every row would be imported",
        ImportRun.Status.PARTIAL: f"it finished; {run.quarantined:,} row(s) quarantined",
        ImportRun.Status.FAILED: f"it failed: {run.error_message.rstrip('.')}"
        if run.error_message
        else "it failed",
        ImportRun.Status.CANCELLED: "it was cancelled",
    }
    return words.get(run.status, run.get_status_display())


def run_started_message(run: ImportRun) -> str:
    """The upload's message, right in every state the run may already be in
    ("Dry run 12 of orgs.csv: it failed: The file is empty.")."""
    kind = "Dry run" if run.dry_run else "Run"
    return format_html(
        "{} of {} from {}: {}.",
        format_html('<a href="{}">{} {}</a>', run_url(run), kind, run.pk),
        run.original_filename or "the file",
        display.source_name(run),
        run_state_words(run),
    )


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


# --- Confirmations: a GET says what will happen, a POST does it ----------------

ALREADY_RUN_FOR_REAL = "Dry run {run_id} was already run for real as run {real_id}."


def _confirm_page(
    request: HttpRequest,
    model_admin: ModelAdmin,
    run: ImportRun,
    *,
    title: str,
    verb: str,
    button: str,
    consequences: list[str],
    blocked: str = "",
    blocked_link: ImportRun | None = None,
) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/runs/importrun/confirm.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "run": run,
            "title": title,
            "run_title": display.run_title(run),
            "action_url": reverse(f"admin:runs_importrun_{verb}", args=[run.pk]),
            "button": button,
            "consequences": consequences,
            "blocked": blocked,
            "blocked_link": blocked_link,
        },
    )


def _start_new_run(
    request: HttpRequest, run: ImportRun, start: Callable[..., ImportRun], done: str
) -> HttpResponse:
    """Start a new run from this one (``start`` is the service), then go to
    the new run with ``done`` (this run's id, a link to the new one, what it is doing)."""
    try:
        new_run = start(run=run, created_by=request.user)
    except ImporterError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(run_url(run))
    new_run.refresh_from_db()
    level = messages.ERROR if new_run.status == ImportRun.Status.FAILED else messages.SUCCESS
    messages.add_message(
        request, level, format_html(done, run.pk, run_link(new_run), run_state_words(new_run))
    )
    return HttpResponseRedirect(run_url(new_run))


def _outcome_words(run: ImportRun) -> str:
    return ", ".join(f"{count:,} {label}" for _name, label, count in display.outcome_counts(run))


def run_for_real_view(request: HttpRequest, pk: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """Import a finished dry run's file for real; not offered again once a
    standard run was made from it (that run is linked instead)."""
    _require(request, "runs.add_importrun")
    run = get_object_or_404(ImportRun.objects.select_related("source"), pk=pk)
    real = selectors.run_for_real_of(run=run)
    if request.method == "POST":
        if real is not None:
            messages.error(request, ALREADY_RUN_FOR_REAL.format(run_id=run.pk, real_id=real.pk))
            return HttpResponseRedirect(run_url(real))
        return _start_new_run(
            request,
            run,
            services.run_for_real,
            "Dry run {} is now being imported for real as {}: {}.",
        )
    consequences = [
        f"A new run imports {run.original_filename or 'the stored file'} from "
        f"{display.source_name(run)} into {display.target_label(run.target)}, with the same "
        "parameters. It is not a dry run: it writes records.",
        f"The dry run found: {_outcome_words(run)}. The real run may differ where the data "
        "changed since.",
        "Quarantined rows go to the DQ inbox for the stewards.",
        "It cannot be undone: written records stay (a later import only changes them).",
    ]
    return _confirm_page(
        request,
        model_admin,
        run,
        title=f"Import {run.original_filename or 'this file'} for real?",
        verb="run_for_real",
        button="Yes, import it for real",
        consequences=consequences,
        blocked=(
            ALREADY_RUN_FOR_REAL.format(run_id=run.pk, real_id=real.pk) if real is not None else ""
        ),
        blocked_link=real,
    )


def run_replay_view(request: HttpRequest, pk: int, *, model_admin: ModelAdmin) -> HttpResponse:
    _require(request, "runs.replay_importrun")
    run = get_object_or_404(ImportRun.objects.select_related("source"), pk=pk)
    if request.method == "POST":
        return _start_new_run(request, run, services.run_replay, "Run {} replayed as {}: {}.")
    if run.dry_run:
        writes = "Like this run it is a dry run: it writes nothing."
    else:
        writes = (
            "It is not a dry run: it writes records again (rows whose values have not "
            "changed stay unchanged) and cannot be undone."
        )
    consequences = [
        f"A new run reads the stored file {run.original_filename or ''} again, from "
        f"{display.source_name(run)} into {display.target_label(run.target)}, with this run's "
        "parameters.",
        writes,
    ]
    return _confirm_page(
        request,
        model_admin,
        run,
        title=f"Replay run {run.pk}?",
        verb="replay",
        button="Yes, replay it",
        consequences=consequences,
        blocked="" if run.file else f"Run {run.pk} has no stored file to replay.",
    )


def run_cancel_view(request: HttpRequest, pk: int, *, model_admin: ModelAdmin) -> HttpResponse:
    _require(request, "runs.cancel_importrun")
    run = get_object_or_404(ImportRun.objects.select_related("source"), pk=pk)
    if request.method == "POST":
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
    if run.status == ImportRun.Status.QUEUED:
        consequences = ["The run is taken off the queue at once: it never starts."]
    elif run.dry_run:
        consequences = [
            "The dry run stops after its current chunk and writes nothing, as always.",
        ]
    else:
        consequences = [
            "The run stops after its current chunk.",
            f"The {run.rows_processed:,} row(s) already processed and the chunk under way stay "
            "written: a cancel does not undo them. Replay the run later to import the rest.",
        ]
    return _confirm_page(
        request,
        model_admin,
        run,
        title=f"Cancel run {run.pk}?",
        verb="cancel",
        button="Yes, cancel the run",
        consequences=consequences,
        blocked=""
        if not run.is_finished
        else f"Run {run.pk} is {run.get_status_display().lower()}: there is nothing to cancel.",
    )


# --- A dry run's preview ------------------------------------------------------------


def run_preview_view(request: HttpRequest, pk: int, *, model_admin: ModelAdmin) -> HttpResponse:
    """One page of what a dry run would do (``?outcome=update&p=2``)."""
    _require(request, "runs.view_importrun")
    run = get_object_or_404(ImportRun.objects.select_related("source"), pk=pk)
    outcome = request.GET.get("outcome") or None
    try:
        number = int(request.GET.get("p") or 1)
    except ValueError:
        number = 0
    try:
        page = preview.dry_run_preview(
            run=run, outcome=outcome, page=number, masked=not can_view_payload(request.user)
        )
    except preview.PreviewError as exc:
        messages.error(request, str(exc))
        if outcome is None and number == 1 or not run.dry_run:
            return HttpResponseRedirect(run_url(run))
        return HttpResponseRedirect(reverse("admin:runs_importrun_preview", args=[run.pk]))
    base = reverse("admin:runs_importrun_preview", args=[run.pk])
    filters = [
        {
            "label": "all",
            "count": preview.outcome_count(run, None),
            "url": base,
            "selected": outcome is None,
        }
    ] + [
        {
            "label": word,
            "count": preview.outcome_count(run, word),
            "url": f"{base}?{urlencode({'outcome': word})}",
            "selected": outcome == word,
        }
        for word in preview.OUTCOME_FILTERS
    ]

    def page_url(n: int) -> str:
        params = {"outcome": outcome} if outcome else {}
        params["p"] = str(n)
        return f"{base}?{urlencode(params)}"

    real = selectors.run_for_real_of(run=run)
    return TemplateResponse(
        request,
        "admin/runs/importrun/preview.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "run": run,
            "title": f"Preview of dry run {run.pk}: {display.source_name(run)} → "
            f"{display.target_label(run.target)}",
            "page": page,
            "filters": filters,
            "previous_url": page_url(page.number - 1) if page.number > 1 else "",
            "next_url": page_url(page.number + 1) if page.number < page.pages else "",
            "masked": not can_view_payload(request.user),
            "real_run": real,
            "can_run_for_real": request.user.has_perm("runs.add_importrun")
            and real is None
            and run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL)
            and bool(run.file),
        },
    )


def run_progress_view(request: HttpRequest) -> JsonResponse:
    """Live progress of the runs the list shows as queued or running:
    ``?ids=1,2,3`` → ``{"runs": [...]}``."""
    _require(request, "runs.view_importrun")
    raw = request.GET.get("ids", "")
    try:
        ids = [id_param(part, name="ids") for part in raw.split(",") if part.strip()]
    except IncorrectLookupParameters:
        return JsonResponse({"detail": BAD_IDS}, status=400)
    runs = selectors.run_progress(ids=[run_id for run_id in ids if run_id is not None])
    for run in runs:
        run["time_left"] = display.format_time_left(run["seconds_left"])
    return JsonResponse({"runs": runs})
