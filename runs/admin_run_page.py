"""The runs admin's page of one run: header, live progress, outcome,
failure advice, violations by rule and field, actions, then the details.
A mixin of ImportRunAdmin (runs/admin.py), kept apart so each file reads
in one sitting."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
)
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from dq import selectors as dq_selectors
from runs import selectors, views
from runs.display import (
    failure_advice,
    format_age,
    format_duration,
    format_time_left,
    outcome_bar,
    outcome_counts,
    run_title,
    source_name,
)
from runs.models import ImportRun

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


FILE_REMOVED = "Deleted after the retention period (IMPORTER_RETAIN_UPLOADS_DAYS)."


def violations_url(**params: Any) -> str:
    """A link into the DQ inbox with the contract's query parameters."""
    inbox = reverse("admin:dq_violation_changelist")
    return f"{inbox}?{urlencode(params)}" if params else inbox


PAYLOAD_PERMISSION = "dq.view_payload"


class RunPageAdminMixin(admin.ModelAdmin):
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

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("runs.cancel_importrun")

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("runs.replay_importrun")

    @admin.display(description="duration")
    def duration(self, run: ImportRun) -> str:
        return format_duration(run.duration_s)

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
                "quarantined_rows_url": reverse("run-results", args=[run.pk]) + "?kind=violations"
                if run.quarantined and user.has_perm("dq.view_violation")
                else None,
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
