from django.contrib import admin

from dq.models import RemediationAudit, Violation


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ["id", "target", "source", "run", "row_number", "external_id", "codes", "status", "created_at"]
    list_filter = ["status", "target", "source"]
    search_fields = ["external_id"]
    list_select_related = ["source", "run"]
    raw_id_fields = ["run", "resolved_by_run", "assignee"]
    show_full_result_count = False


@admin.register(RemediationAudit)
class RemediationAuditAdmin(admin.ModelAdmin):
    list_display = ["violation", "action", "actor", "outcome", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["violation", "actor"]
