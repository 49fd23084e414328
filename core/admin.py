"""The golden records' admin. A steward's edit is checked and normalised by
the target's import rules (core.forms) and makes the edited fields manual
(imports leave them alone), an action releases that, and each record's
page shows every field's lineage. Logic lives in ingest.identity."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from common.admin_lookups import IdLookupsMixin
from core.forms import GoldenRecordForm
from core.keys import normalize_email, normalize_registration_number
from core.models import Contact, Organization
from ingest import identity
from ingest.errors import ImporterError

RULE_LABELS = {
    "manual": "manual: set by hand, imports leave it alone",
    "most_recent": "most recent",
    "non_null": "non-null: filled an empty field",
}


RELEASE_NEXT = (
    "Imports may update {fields} again: the next row for this record from a source "
    "sets them by survivorship (the most recent value wins; an empty one never overwrites)."
)
RELEASED = "Released {fields}. " + "Imports may update them again."
NOTHING_MANUAL = "No field of this record is set by hand: there is nothing to release."


def local_time(value: str) -> str:
    """A lineage time (ISO 8601, UTC) in the site's time zone, said as
    "3 hours ago" with the exact time beside it."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    local = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moment.isoformat(),
        local.strftime("%Y-%m-%d %H:%M %Z"),
        f"{naturaltime(moment)} ({local.strftime('%Y-%m-%d %H:%M %Z')})",
    )


class GoldenRecordAdmin(IdLookupsMixin):
    # The target's import rules check and normalise what a steward types.
    form = GoldenRecordForm
    readonly_fields = ["natural_key", "external_ids", "lineage", "created_at", "modified_at"]
    actions = ["release_manual_override"]
    show_full_result_count = False
    change_form_template = "admin/core/golden_record_change_form.html"

    def get_urls(self):
        meta = self.model._meta
        return [
            path(
                "<int:object_id>/release-manual/",
                self.admin_site.admin_view(self.release_manual_view),
                name=f"{meta.app_label}_{meta.model_name}_release_manual",
            )
        ] + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        record = self.get_object(request, object_id)
        manual = identity.record_manual_fields(record=record) if record is not None else []
        meta = self.model._meta
        extra_context = {
            **(extra_context or {}),
            "manual_fields": manual,
            "release_next": RELEASE_NEXT.format(fields=", ".join(manual)) if manual else "",
            "release_url": reverse(
                f"admin:{meta.app_label}_{meta.model_name}_release_manual", args=[record.pk]
            )
            if record is not None
            else "",
            "can_release": record is not None and self.has_change_permission(request, record),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def release_manual_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """POST: release the record's manual fields (a GET goes back to the record)."""
        record = get_object_or_404(self.model, pk=object_id)
        meta = self.model._meta
        back = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        if not self.has_change_permission(request, record):
            raise PermissionDenied
        released = identity.record_release_manual(record=record)
        if released:
            self.message_user(
                request, RELEASED.format(fields=", ".join(released)), messages.SUCCESS
            )
        else:
            self.message_user(request, NOTHING_MANUAL, messages.INFO)
        return HttpResponseRedirect(back)

    @admin.display(description="External ids (who sends this record)")
    def external_ids(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        try:
            mappings = identity.record_external_ids(record=obj)
        except ImporterError as exc:
            return exc.message
        if not mappings:
            return "None: this record was made by hand, not imported."
        body = format_html_join(
            "",
            '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
            (
                (
                    mapping.source.slug,
                    reverse("admin:ingest_externalidmap_change", args=[mapping.pk]),
                    mapping.external_id,
                    self._run_link(mapping.first_run_id),
                    self._run_link(mapping.last_run_id),
                )
                for mapping in mappings
            ),
        )
        return format_html(
            '<table class="external-ids"><thead><tr><th>source</th><th>external id</th>'
            "<th>first run</th><th>last run</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """Every field the steward changed becomes manual (survivorship)."""
        fields = [obj._meta.get_field(name).attname for name in form.changed_data]
        identity.record_save_by_hand(record=obj, fields=fields, actor=request.user.get_username())

    @admin.action(
        description="Release manual override (imports may update these records again)",
        permissions=["change"],
    )
    def release_manual_override(self, request: HttpRequest, queryset: QuerySet) -> None:
        released = 0
        for record in queryset:
            released += bool(identity.record_release_manual(record=record))
        self.message_user(
            request,
            f"Released the manual fields of {released} of {queryset.count()} record(s).",
            messages.SUCCESS,
        )

    @admin.display(description="Lineage (who set each field, and the rule that made it win)")
    def lineage(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        try:
            rows = identity.record_lineage(record=obj)
        except ImporterError as exc:
            return exc.message
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.field,
                    "" if row.value is None else row.value,
                    row.actor if row.manual or row.rule == "manual" else row.source,
                    self._run_link(row.run_id),
                    local_time(row.at),
                    RULE_LABELS.get(row.rule, row.rule)
                    + (" (released)" if row.rule == "manual" and not row.manual else ""),
                )
                for row in rows
            ),
        )
        return format_html(
            '<table class="lineage"><thead><tr><th>field</th><th>value</th><th>source / steward</th>'
            "<th>run</th><th>time</th><th>rule</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @staticmethod
    def _run_link(run_id: int | None) -> str:
        if run_id is None:
            return ""
        try:
            return format_html(
                '<a href="{}">run {}</a>',
                reverse("admin:runs_importrun_change", args=[run_id]),
                run_id,
            )
        except NoReverseMatch:
            return f"run {run_id}"


@admin.register(Organization)
class OrganizationAdmin(GoldenRecordAdmin):
    list_display = [
        "name",
        "country",
        "registration_number",
        "email",
        "phone",
        "employees",
        "modified_at",
    ]
    list_filter = ["country", "industry"]
    search_fields = ["name", "registration_number", "email", "natural_key"]
    # A website typed without a scheme gets https:// (Django 6's default, today).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Also find a registration number however it is written ('hrb 123-45'
        finds HRB12345), with the helper the importer's dedupe uses."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = normalize_registration_number(search_term.strip())
        if number:
            results = results | queryset.filter(natural_key__endswith=f":{number}")
        return results, may_have_duplicates


@admin.register(Contact)
class ContactAdmin(GoldenRecordAdmin):
    list_display = ["last_name", "first_name", "email", "organization", "title", "modified_at"]
    search_fields = ["last_name", "first_name", "email", "natural_key"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """An e-mail finds its contact in any case, as the importer's dedupe does."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        email = normalize_email(search_term)
        if "@" in email:
            results = results | queryset.filter(natural_key=email)
        return results, may_have_duplicates
