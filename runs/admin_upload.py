"""The runs admin's upload: the add form, then, when the file's header does
not name the target's fields, the column-matching step (runs.staging). A
mixin of ImportRunAdmin (runs/admin.py), kept apart so each file reads in
one sitting."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse

from ingest import errors, matching
from ingest.errors import FileError, ImporterError, UsageError
from ingest.models import Source
from runs import services, staging, views
from runs.forms import ColumnMatchForm, UploadForm
from runs.models import ImportRun

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class UploadAdminMixin(admin.ModelAdmin):
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
