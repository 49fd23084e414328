from django.contrib import admin

from runs.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "target", "source", "status", "dry_run", "kind", "rows_total", "inserted", "updated",
        "unchanged", "skipped", "quarantined", "created_at",
    ]
    list_filter = ["status", "target", "source", "dry_run", "kind"]
    search_fields = ["=id", "original_filename", "=file_sha256"]
    list_select_related = ["source", "created_by"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False
