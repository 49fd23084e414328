"""The runs dashboard: the operators' list, upload form, read-only run page
and actions. Thin: reads come from runs.selectors, writes from
ingest.services; the views behind the buttons live in runs.views."""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import zipfile
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
)
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from common.admin_lookups import IdLookupsMixin
from dq.selectors import can_view_payload
from ingest.errors import ImporterError
from ingest.filters import SourceFilter
from runs import selectors, services, views
from runs.admin_run_page import RunPageAdminMixin, violations_url
from runs.admin_upload import UploadAdminMixin
from runs.display import (
    DRY_RUN_BADGE,
    format_age,
    format_duration,
    progress_cell,
    source_name,
    status_badge,
    target_label,
)
from runs.exports import csv_lines, masked_results_rows
from runs.filters import CreatedByFilter, CreatedFilter, HasQuarantinedFilter, TargetFilter
from runs.models import ImportRun

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@admin.register(ImportRun)
class ImportRunAdmin(IdLookupsMixin, UploadAdminMixin, RunPageAdminMixin):
    # What people triage by, in a table that fits 1280 px with the sidebar
    # open; the rest of a run is on its page.
    list_display = [
        "id",
        "title_display",
        "status_display",
        "progress",
        "quarantined",
        "age",
    ]
    list_display_links = ["id"]
    list_filter = [
        "status",
        TargetFilter,
        ("source", SourceFilter),
        "dry_run",
        "kind",
        CreatedFilter,
        HasQuarantinedFilter,
        CreatedByFilter,
    ]
    search_fields = ["=id", "original_filename", "=file_sha256"]
    search_help_text = "A run id, part of a file name, or a file's sha256."
    list_select_related = ["source", "created_by"]
    # At 100,000 runs: no second COUNT(*) of the whole table, no facet counts,
    # sorting only on indexed columns. The list's own count is exact (Django's
    # Paginator), so "Select all N runs" acts on and says N: on PostgreSQL a
    # COUNT(*) of 50,000 runs takes 1-5 ms filtered, about 20 ms with a file
    # name search (docs/runs-dashboard.md, "Scale").
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["id", "created_at"]
    list_per_page = 50
    actions = ["cancel_runs", "replay_runs", "download_results"]

    # --- permissions --------------------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False  # a run is a record of what happened; it changes only through services

    # --- list ---------------------------------------------------------------

    @admin.display(description="status")
    def status_display(self, run: ImportRun) -> str:
        # A dry run's badge under its status: one column, as wide as the widest status.
        if run.dry_run:
            return format_html('{}<br class="run-badge-break">{}', status_badge(run), DRY_RUN_BADGE)
        return status_badge(run)

    @admin.display(description="dry run", empty_value="")
    def dry_run_display(self, run: ImportRun) -> str:
        return DRY_RUN_BADGE if run.dry_run else ""

    @admin.display(description="source → target")
    def title_display(self, run: ImportRun) -> str:
        return format_html(
            '<span class="run-title" title="{}">{}</span>'
            '<span class="run-title__target">→ {}</span>',
            source_name(run),
            source_name(run),
            target_label(run.target),
        )

    @admin.display(description="quarantined")
    def quarantined(self, run: ImportRun) -> str:
        return f"{run.quarantined:,}"

    @admin.display(description="progress or outcome")
    def progress(self, run: ImportRun) -> str:
        return progress_cell(run)

    @admin.display(description="age", ordering="created_at")
    def age(self, run: ImportRun) -> str:
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            run.created_at.isoformat(),
            run.created_at.strftime("%Y-%m-%d %H:%M"),
            format_age(run.created_at),
        )

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Search by run id, file name or sha256, with lookups the indexes
        can serve (the default ``=id`` would compare id as upper-cased text)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(original_filename__icontains=term)
        if term.isdigit():
            condition |= Q(pk=int(term))
        if _SHA256.fullmatch(term):
            condition = Q(file_sha256=term.lower())
        return queryset.filter(condition), False

    def summary_view(self, request: HttpRequest) -> HttpResponse:
        """The summary cards for the list's current filters (same query
        string as the list), built from the changelist's filtered queryset.
        The list page loads them separately, so a hundred thousand runs to
        aggregate never slow the list itself down."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("These filters are not valid.")
        summary = selectors.run_summary(queryset=changelist.queryset)
        summary["duration_p50_display"] = format_duration(summary["duration_p50"])
        summary["duration_p95_display"] = format_duration(summary["duration_p95"])
        for row in summary["by_status"]:
            row["url"] = changelist.get_query_string(
                {"status__exact": row["status"]}, ["status__exact", "p"]
            )
        context = {
            "summary": summary,
            "open_violations_url": self._open_violations_url(request, changelist),
        }
        return TemplateResponse(request, "admin/runs/importrun/summary_cards.html", context)

    # The runs list's filters the inbox has too (same parameter, same meaning).
    INBOX_FILTERS = ("target", "source__id__exact")

    def _open_violations_url(self, request: HttpRequest, changelist: Any) -> str | None:
        """The inbox filtered as the list is, when the inbox can say it: no
        filter, or filters by target and source only. The inbox filters by
        one run at most, so for other filters (status, dates, a search)
        the card has no link rather than a link to other counts."""
        params = {
            key: value
            for key, value in request.GET.items()
            if key not in ("o", "p", "_changelist_filters")
        }
        if changelist.query or not set(params) <= set(self.INBOX_FILTERS):
            return None
        return violations_url(**params)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        return super().changelist_view(request, {"title": "Import runs", **(extra_context or {})})

    # --- actions ------------------------------------------------------------

    @admin.action(description="Cancel selected queued or running runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[ImportRun]) -> None:
        cancelled = stopping = refused = 0
        for run in queryset:
            try:
                run = services.run_cancel(run=run)
            except ImporterError:
                refused += 1
                continue
            if run.status == ImportRun.Status.CANCELLED:
                cancelled += 1
            else:
                stopping += 1
        self.message_user(
            request,
            f"{cancelled} run(s) cancelled, {stopping} will stop after their current chunk, "
            f"{refused} already finished (left alone).",
            messages.SUCCESS if not refused else messages.WARNING,
        )

    @admin.action(description="Replay selected runs", permissions=["replay"])
    def replay_runs(self, request: HttpRequest, queryset: QuerySet[ImportRun]) -> None:
        replayed, refused = [], 0
        for run in queryset:
            try:
                replayed.append(services.run_replay(run=run, created_by=request.user))
            except ImporterError:
                refused += 1
        links = format_html_join(", ", "{}", ((views.run_link(run),) for run in replayed)) or "none"
        self.message_user(
            request,
            format_html(
                "{} run(s) replayed: {}. {} without a stored file (left alone).",
                len(replayed),
                links,
                refused,
            ),
            messages.SUCCESS if not refused else messages.WARNING,
        )

    @admin.action(description="Download results of selected runs", permissions=["view"])
    def download_results(
        self, request: HttpRequest, queryset: QuerySet[ImportRun]
    ) -> HttpResponseBase | None:
        """One run: its results CSV. Several: a zip of them. Personal data
        masked for users without the payload permission, as on the run's page."""
        runs = [
            run
            for run in queryset.exclude(results_file="")
            if run.results_file.name and run.results_file.storage.exists(run.results_file.name)
        ]
        if not runs:
            self.message_user(
                request, "None of the selected runs has a results file.", messages.WARNING
            )
            return None
        if len(runs) == 1:
            return views.run_results_download(request, runs[0].pk)
        masked = not can_view_payload(request.user)
        spool = tempfile.TemporaryFile()
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for run in runs:
                with archive.open(f"run-{run.pk}-results.csv", "w") as entry:
                    if masked:
                        for line in csv_lines(masked_results_rows(run.results_file.open("rb"))):
                            entry.write(line.encode("utf-8"))
                    else:
                        with run.results_file.open("rb") as handle:
                            shutil.copyfileobj(handle, entry)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename="run-results.zip")

    # --- URLs ---------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        # The upload form's steps.
        upload = [
            path(
                "add/match/",
                wrap(self.match_columns_view),
                name="runs_importrun_match_columns",
            ),
        ]
        custom = [
            path("progress/", wrap(views.run_progress_view), name="runs_importrun_progress"),
            path("summary/", wrap(self.summary_view), name="runs_importrun_summary"),
            path("<int:pk>/file/", wrap(views.run_file_download), name="runs_importrun_file"),
            path(
                "<int:pk>/results/", wrap(views.run_results_download), name="runs_importrun_results"
            ),
            # The run page's actions: a GET confirms, a POST does (runs.views).
            *(
                path(
                    f"<int:pk>/{segment}/",
                    wrap(functools.partial(view, model_admin=self)),
                    name=f"runs_importrun_{name}",
                )
                for segment, view, name in [
                    ("run-for-real", views.run_for_real_view, "run_for_real"),
                    ("cancel", views.run_cancel_view, "cancel"),
                    ("replay", views.run_replay_view, "replay"),
                    ("preview", views.run_preview_view, "preview"),
                ]
            ),
        ]
        return upload + custom + super().get_urls()
