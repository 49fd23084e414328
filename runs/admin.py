"""The runs dashboard: the operators' list, upload form, read-only run page
and actions. Thin: reads come from runs.selectors, writes from
ingest.services; the views behind the buttons live in runs.views."""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import zipfile
from typing import Any
from urllib.parse import urlencode

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
    HttpResponseRedirect,
)
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from dq import selectors as dq_selectors
from dq.selectors import can_view_payload
from ingest import errors, matching
from ingest.errors import FileError, ImporterError, UsageError
from ingest.models import Source
from runs import selectors, services, staging, views
from runs.display import (
    DRY_RUN_BADGE,
    failure_advice,
    format_age,
    format_duration,
    format_time_left,
    outcome_bar,
    outcome_counts,
    progress_cell,
    run_title,
    source_name,
    status_badge,
    target_label,
)
from runs.exports import csv_lines, masked_results_rows
from runs.filters import CreatedByFilter, CreatedFilter, HasQuarantinedFilter, TargetFilter
from runs.forms import ColumnMatchForm, UploadForm
from runs.models import ImportRun
from runs.pagination import CappedCountPaginator

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
FILE_REMOVED = "Deleted after the retention period (IMPORTER_RETAIN_UPLOADS_DAYS)."


def violations_url(**params: Any) -> str:
    """A link into the DQ inbox with the contract's query parameters."""
    inbox = reverse("admin:dq_violation_changelist")
    return f"{inbox}?{urlencode(params)}" if params else inbox


PAYLOAD_PERMISSION = "dq.view_payload"


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
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
        "source",
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
    # sorting only on indexed columns.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["id", "created_at"]
    list_per_page = 50
    actions = ["cancel_runs", "replay_runs", "download_results"]
    fieldsets = [
        (
            "Run",
            {
                "fields": [
                    "status_display",
                    "dry_run_display",
                    "kind",
                    "target",
                    "source",
                    "created_by",
                    "parent_link",
                ]
            },
        ),
        (
            "Rows",
            {
                "fields": [
                    "rows_total",
                    "rows_processed",
                    "inserted",
                    "updated",
                    "unchanged",
                    "skipped",
                    "quarantined",
                    "resolved",
                    "values_mapped",
                ]
            },
        ),
        (
            "Timing",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "finished_at",
                    "waited",
                    "duration",
                    "heartbeat_at",
                ]
            },
        ),
        (
            "File",
            {
                "fields": [
                    "original_filename",
                    "file_size_display",
                    "file_sha256",
                    "file_download",
                    "results_download",
                ]
            },
        ),
        ("Ingest parameters", {"fields": ["params_display"]}),
        ("Failure", {"fields": ["error_message"]}),
    ]
    # Every entry of the fieldsets above is a field name (none is a group of them).
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]  # type: ignore[misc]

    # --- permissions --------------------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: ImportRun | None = None) -> bool:
        return False  # a run is a record of what happened; it changes only through services

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("runs.cancel_importrun")

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("runs.replay_importrun")

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

    @admin.display(description="duration")
    def duration(self, run: ImportRun) -> str:
        return format_duration(run.duration_s)

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

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> CappedCountPaginator:
        return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)

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
        # The inbox filters by one run at most: link it only when the counts match.
        filtered = changelist.has_active_filters or bool(changelist.query)
        context = {
            "summary": summary,
            "open_violations_url": None if filtered else violations_url(),
        }
        return TemplateResponse(request, "admin/runs/importrun/summary_cards.html", context)

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

    # --- upload (the add form) -------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ):
        """The upload form; saving calls the same services as the CLI and API."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        bound = request.method == "POST"
        form = UploadForm(request.POST if bound else None, request.FILES if bound else None)
        if bound and form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            try:
                accepted = staging.upload_accept(
                    file=upload,
                    filename=upload.name,
                    upload=staging.Upload(
                        target=data["target"],
                        source=data["source"],
                        dry_run=data["dry_run"],
                        format=data["format"],
                        encoding=data["encoding"],
                        delimiter=data["delimiter"],
                        sheet=data["sheet"],
                        column_map=data["column_map"],
                        remember=data["remember"],
                    ),
                    created_by=request.user,
                )
            except ImporterError as exc:
                form.add_error(None, exc.message)
            else:
                if isinstance(accepted, ImportRun):
                    return self._run_started(request, accepted)
                return self._match_page(request, accepted, self._match_form(accepted))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a file",
            "form": form,
            "sources": Source.objects.order_by("slug").values_list("slug", flat=True)[:200],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/runs/importrun/upload.html", context)

    def _run_started(self, request: HttpRequest, run: ImportRun) -> HttpResponse:
        services.run_enqueue(run=run)
        run.refresh_from_db()
        self.message_user(
            request,
            views.run_started_message(run),
            messages.ERROR if run.status == ImportRun.Status.FAILED else messages.SUCCESS,
        )
        return HttpResponseRedirect(views.run_url(run))

    # --- upload, second step: match the file's columns to the target's fields ----

    def match_columns_view(self, request: HttpRequest) -> HttpResponse:
        """The columns of a staged upload (see runs.staging) beside the
        target's fields; POST the choices to create the run. A GET has
        nothing to show: back to the upload form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        add_url = reverse("admin:runs_importrun_add")
        if request.method != "POST":
            return HttpResponseRedirect(add_url)
        post = request.POST
        try:
            staged = staging.staged_upload_get(token=post.get("token", ""), user=request.user)
        except UsageError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(add_url)
        shown_sheet = post.get("shown_sheet") or None
        sheet = post.get("sheet") or shown_sheet
        problem = None
        try:
            try:
                shown = staging.staged_upload_matching(staged=staged, sheet=sheet)
            except FileError as exc:  # that sheet cannot be read: stay on the one shown
                if sheet == shown_sheet:
                    raise
                problem, sheet = exc.message, shown_sheet
                shown = staging.staged_upload_matching(staged=staged, sheet=shown_sheet)
        except ImporterError as exc:  # imported meanwhile (another tab), or unreadable now
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(add_url)
        if problem or "_show" in post or sheet != shown_sheet:
            form = self._match_form(shown, remember=post.get("remember") == "on")
            return self._match_page(request, shown, form, problem)
        form = self._match_form(shown, data=post)
        if form.is_valid():
            try:
                run = staging.staged_upload_import(
                    shown=shown,
                    choices=form.choices(),
                    remember=form.cleaned_data["remember"],
                    created_by=request.user,
                )
            except matching.ChoicesInvalid as exc:
                for index, message in exc.by_column.items():
                    form.add_error(f"column_{index}", message)
                if exc.missing:
                    form.add_error(
                        None, errors.MATCH_REQUIRED_UNMATCHED.format(fields=", ".join(exc.missing))
                    )
            except ImporterError as exc:
                form.add_error(None, exc.message)
            else:
                return self._run_started(request, run)
        return self._match_page(request, shown, form)

    def _match_form(
        self,
        shown: staging.ColumnMatching,
        *,
        data: Any = None,
        remember: bool | None = None,
    ) -> ColumnMatchForm:
        """The matching form: bound to ``data``, else showing the suggestions."""
        staged = shown.staged
        assert staged is not None  # the admin's matching pages always show a staged upload
        initial = {
            "token": staged.token,
            "shown_sheet": shown.preview.sheet or "",
            "sheet": shown.preview.sheet or "",
            "remember": staged.upload.remember if remember is None else remember,
        }
        for index, suggestion in enumerate(shown.matching.suggestions):
            initial[f"column_{index}"] = suggestion.field or ""
        return ColumnMatchForm(
            data,
            initial=initial,
            columns=shown.columns,
            fields=shown.target.field_names,
            required=shown.target.required_names,
            sheets=shown.preview.sheets,
            source=staged.upload.source,
        )

    def _match_page(
        self,
        request: HttpRequest,
        shown: staging.ColumnMatching,
        form: ColumnMatchForm,
        problem: str | None = None,
    ) -> TemplateResponse:
        preview = shown.preview
        rows = [
            {
                "field": bound,
                "column": column,
                "samples": [row[index] for row in preview.rows],
                "suggestion": suggestion,
            }
            for index, (bound, column, suggestion) in enumerate(
                zip(form.column_fields(), shown.columns, shown.matching.suggestions)
            )
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Match the file's columns",
            "form": form,
            "shown": shown,
            "staged": shown.staged,
            "rows": rows,
            "sample_count": len(preview.rows),
            "required": shown.target.required_names,
            "unmatched_required": shown.matching.unmatched_required,
            "problem": problem,
        }
        return TemplateResponse(request, "admin/runs/importrun/match_columns.html", context)

    # --- the run's page ----------------------------------------------------------

    @admin.display(description="parent run")
    def parent_link(self, run: ImportRun) -> str:
        return views.run_link(run.parent_run) if run.parent_run else "—"

    @admin.display(description="waited in queue")
    def waited(self, run: ImportRun) -> str:
        return format_duration(run.started_at - run.created_at) if run.started_at else "—"

    @admin.display(description="file size")
    def file_size_display(self, run: ImportRun) -> str:
        return filesizeformat(run.file_size) if run.file_size is not None else "—"

    @admin.display(description="stored file")
    def file_download(self, run: ImportRun) -> str:
        if not run.file:
            # A sha256 without a file: purge_personal_data deleted it after the retention.
            return FILE_REMOVED if run.file_sha256 else "—"
        return format_html(
            '<a href="{}">Download {}</a>',
            reverse("admin:runs_importrun_file", args=[run.pk]),
            run.original_filename or "the file",
        )

    @admin.display(description="results")
    def results_download(self, run: ImportRun) -> str:
        if not run.results_file:
            return "—"
        label = "Download the dry run's results (CSV)" if run.dry_run else "Download results (CSV)"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:runs_importrun_results", args=[run.pk]), label
        )

    @admin.display(description="parameters")
    def params_display(self, run: ImportRun) -> str:
        params = run.ingest_params_json or {}
        return format_html(
            '<dl class="run-params">{}</dl>',
            format_html_join(
                "",
                "<dt>{}</dt><dd>{}</dd>",
                (
                    (
                        key,
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
                    )
                    for key, value in sorted(params.items())
                ),
            ),
        )

    def get_fieldsets(self, request: HttpRequest, obj: ImportRun | None = None):
        fieldsets = self.fieldsets
        if obj is not None and not obj.error_message:
            fieldsets = [fieldset for fieldset in fieldsets if fieldset[0] != "Failure"]
        if not request.user.has_perm(PAYLOAD_PERMISSION):
            # The stored file holds every row's values: only for who may see payloads.
            fieldsets = [
                (
                    name,
                    {**options, "fields": [f for f in options["fields"] if f != "file_download"]},
                )
                for name, options in fieldsets
            ]
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRun]:
        return super().get_queryset(request).select_related("source", "created_by", "parent_run")

    def run_facts(self, request: HttpRequest, run: ImportRun) -> list[tuple[str, list]]:
        """The run's details, in groups, for the page's collapsed sections."""
        stored_file = self.file_download(run) if request.user.has_perm(PAYLOAD_PERMISSION) else None
        return [
            (
                "File",
                [
                    ("Name", run.original_filename or "—"),
                    ("Size", self.file_size_display(run)),
                    ("sha256", run.file_sha256 or "—"),
                    *([("Stored file", stored_file)] if stored_file is not None else []),
                    ("Results", self.results_download(run)),
                ],
            ),
            (
                "Timing",
                [
                    ("Created", run.created_at),
                    ("Started", run.started_at or "—"),
                    ("Finished", run.finished_at or "—"),
                    ("Waited in queue", self.waited(run)),
                    ("Duration", self.duration(run)),
                    ("Last heartbeat", run.heartbeat_at or "—"),
                ],
            ),
            (
                "Run",
                [
                    ("Kind", run.get_kind_display()),
                    ("Source", f"{source_name(run)} ({run.source.slug})"),
                    ("Target", run.target),
                    ("Started by", run.created_by or "—"),
                    ("Made from", self.parent_link(run)),
                    ("Rows read", f"{run.rows_total:,}"),
                    ("Matched to existing records", f"{run.resolved:,}"),
                    ("Values mapped", f"{run.values_mapped:,}"),
                    ("Partitions", f"{run.partitions_done} of {run.partitions} done"),
                ],
            ),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        run = self.get_object(request, object_id)
        extra = {}
        if run is not None and self.has_view_permission(request, run):
            breakdown = selectors.run_violation_breakdown(run=run)
            for row in breakdown:
                row["open_url"] = violations_url(run=run.pk, code=row["code"], field=row["field"])
                row["all_url"] = violations_url(
                    run=run.pk, code=row["code"], field=row["field"], status="all"
                )
            user = request.user
            requeued = None
            if run.kind == ImportRun.Kind.REMEDIATION:
                requeued = dq_selectors.remediation_run_violations(run_id=run.pk)
            real_run = selectors.run_for_real_of(run=run)
            progress = selectors.run_progress(ids=[run.pk])[0]
            extra = {
                "run": run,
                # The page's title names the source, not its id; the header says the rest.
                "title": run_title(run),
                "subtitle": None,
                "progress": progress,
                "time_left": format_time_left(progress["seconds_left"]),
                "outcomes": outcome_counts(run),
                "outcome_total": sum(count for _name, _label, count in outcome_counts(run)),
                "outcome_bar": outcome_bar(run),
                "advice": failure_advice(run)
                if run.status in (ImportRun.Status.FAILED, ImportRun.Status.CANCELLED)
                else "",
                "breakdown": breakdown,
                "requeued": requeued,
                "requeued_url": violations_url(remediation_run=run.pk, status="all"),
                "requeued_limit": dq_selectors.REMEDIATION_LIST_LIMIT,
                "first_seen_url": violations_url(first_seen_run=run.pk, status="all"),
                "violations_url": violations_url(run=run.pk, status="all"),
                "open_violations_url": violations_url(run=run.pk),
                "child_runs": run.child_runs.select_related("source").order_by(
                    "-created_at", "-id"
                )[:50],
                "real_run": real_run,
                "has_preview": run.dry_run and bool(run.results_file),
                "can_run_for_real": user.has_perm("runs.add_importrun")
                and run.dry_run
                and real_run is None
                and bool(run.file)
                and run.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL),
                "can_cancel": self.has_cancel_permission(request) and not run.is_finished,
                "can_replay": self.has_replay_permission(request) and bool(run.file),
                "facts": self.run_facts(request, run),
                "params": self.params_display(run),
                "age": format_age(run.created_at),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

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
