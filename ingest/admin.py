from django.contrib import admin

from ingest.models import ExternalIdMap, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(ExternalIdMap)
class ExternalIdMapAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "target", "record_id", "last_run"]
    list_filter = ["target", "source"]
    search_fields = ["external_id"]
    list_select_related = ["source"]
    raw_id_fields = ["first_run", "last_run"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
