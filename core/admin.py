from django.contrib import admin

from core.models import Contact, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "registration_number", "email", "phone", "employees", "modified_at"]
    list_filter = ["country", "industry"]
    search_fields = ["name", "registration_number", "email", "natural_key"]
    readonly_fields = ["natural_key", "provenance", "created_at", "modified_at"]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "organization", "title", "modified_at"]
    search_fields = ["last_name", "first_name", "email", "natural_key"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    readonly_fields = ["natural_key", "provenance", "created_at", "modified_at"]
    show_full_result_count = False
