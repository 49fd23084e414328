"""The audit log (who did what to which violation) and the value mappings
(remembered replacements), in the admin. Read-only but for a mapping's
value and switch; every write elsewhere is in dq/services.py."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from common.admin_lookups import IdLookupsMixin
from dq import selectors
from dq.models import RemediationAudit, ValueMapping
from ingest import registry
from ingest.filters import SourceFilter


@admin.register(ValueMapping)
class ValueMappingAdmin(IdLookupsMixin):
    """The remembered replacements, per source, target and field; editable
    (value, active) by Stewards. A change applies to runs created after it."""

    list_display = [
        "id",
        "source",
        "target",
        "field",
        "from_value",
        "to_value",
        "active",
        "created_by",
        "updated_at",
    ]
    list_display_links = ["id"]
    list_editable = ["to_value", "active"]
    list_filter = ["active", ("source", SourceFilter), "target", "field"]
    search_fields = ["from_value", "to_value"]
    fields = [
        "source",
        "target",
        "field",
        "from_value",
        "to_value",
        "active",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    ordering = ["source", "target", "field", "from_value"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by "Replace value … remember", where a steward sees what it fixes


class AuditTargetFilter(admin.SimpleListFilter):
    title = "target"
    parameter_name = "target"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in registry.names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(violation__target=self.value()) if self.value() else queryset


@admin.register(RemediationAudit)
class RemediationAuditAdmin(IdLookupsMixin):
    """Who did what to which violation. Searched by the violation's external
    id or number, the actor, or the reason; filtered by action, outcome,
    target, source and time."""

    list_display = [
        "id",
        "created_at",
        "violation_link",
        "action",
        "outcome",
        "actor",
        "run_link",
    ]
    list_filter = [
        "action",
        "outcome",
        AuditTargetFilter,
        ("violation__source", SourceFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["violation__external_id", "=violation__id", "actor__username", "reason"]
    search_help_text = "A violation's external id or number, a user name, or words of a reason."
    raw_id_fields = ["violation", "actor", "run"]
    list_select_related = ["actor", "violation"]
    ordering = ["-id"]
    show_full_result_count = False
    readonly_fields = [
        "violation",
        "actor",
        "action",
        "changes",
        "outcome",
        "run",
        "reason",
        "created_at",
    ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(
            request, {"title": "Remediation audit log", **(extra_context or {})}
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="violation", ordering="violation_id")
    def violation_link(self, obj: RemediationAudit) -> str:
        url = reverse("admin:dq_violation_change", args=[obj.violation_id])
        label = obj.violation.external_id or f"violation {obj.violation_id}"
        return format_html('<a href="{}">{}</a> ({})', url, label, obj.violation.target)

    @admin.display(description="run", ordering="run_id")
    def run_link(self, obj: RemediationAudit) -> str:
        if obj.run_id is None:
            return ""
        url = reverse("admin:runs_importrun_change", args=[obj.run_id])
        return format_html('<a href="{}">{}</a>', url, obj.run_id)

    @admin.display(description="changed (before → after)")
    def changes(self, obj: RemediationAudit) -> str:
        changes = selectors.audit_changes(obj.before, obj.after)
        if not changes:
            return "—"
        return format_html_join(
            "",
            "<div>{}<code>{}</code> → <code>{}</code></div>",
            (
                (
                    format_html("<strong>{}</strong>: ", change.field) if change.field else "",
                    "(empty)" if change.before is None else change.before,
                    "(empty)" if change.after is None else change.after,
                )
                for change in changes
            ),
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        """Before/after are payload values: only for those who may see them."""
        fields = list(self.readonly_fields)
        if not selectors.can_view_payload(request.user):
            fields = [name for name in fields if name != "changes"]
        return fields
