"""Sources, the external id map and its audit. A mapping is never edited in
a form: a steward re-points it through its own audited view."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from common.admin_lookups import IdLookupsMixin
from ingest import errors, identity, registry, services
from ingest.errors import ImporterError
from ingest.filters import SourceFilter
from ingest.models import ExternalIdMap, IdMapAudit, Source

REPOINT_PERMISSION = "ingest.repoint_externalidmap"


def record_link(target: str, record_id: int) -> str:
    """A link to a core record's admin page (plain text when it has none)."""
    try:
        meta = registry.get(target).model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record_id])
    except (ImporterError, NoReverseMatch):
        return f"{target} {record_id}"
    return format_html('<a href="{}">{} {}</a>', url, target, record_id)


PROFILE_DELIMITER_CHOICES = [
    ("", "Detect"),
    (",", "Comma ,"),
    (";", "Semicolon ;"),
    ("\t", "Tab"),
    ("|", "Pipe |"),
]


class ColumnMapLinesField(forms.CharField):
    """A column map as text: one ``Column=field`` per line (as on the upload
    form), or a JSON object; shown as lines."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{column}={field}" for column, field in value.items())
        return value

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        if text.startswith("{"):
            try:
                entries = json.loads(text)
            except (ValueError, RecursionError):
                entries = None
            if not isinstance(entries, dict):
                raise forms.ValidationError(errors.COLUMN_MAP_NOT_OBJECT)
        else:
            entries = [line for line in text.splitlines() if line.strip()]
        try:
            return services.profile_column_map_clean(entries=entries)
        except ImporterError as exc:
            raise forms.ValidationError(exc.message) from None

    def has_changed(self, initial, data) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except forms.ValidationError:
            return True


class SourceForm(forms.ModelForm):
    """A source and its profile, checked as an upload's parameters are."""

    profile_format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=[("", "Detect from the file"), *((f, f.upper()) for f in services.FORMATS)],
    )
    profile_delimiter = forms.ChoiceField(
        label="Delimiter", required=False, choices=PROFILE_DELIMITER_CHOICES, help_text="CSV only."
    )
    profile_column_map = ColumnMapLinesField(
        label="Column map",
        required=False,
        max_length=10_000,
        help_text="For columns not named as the target's fields, one per line, like Company Name=name "
        "(or a JSON object). Each field must be a field of a target; the run's target is checked at upload.",
    )

    class Meta:
        model = Source
        fields = [
            "slug",
            "name",
            "profile_format",
            "profile_encoding",
            "profile_delimiter",
            "profile_sheet",
            "profile_column_map",
        ]
        help_texts = {
            "profile_encoding": "e.g. cp1252; detected when empty.",
            "profile_sheet": "Spreadsheets only: the sheet's name, or its position counting from 0.",
        }

    def clean_profile_encoding(self) -> str:
        return self._checked(
            services.encoding_clean, encoding=self.cleaned_data["profile_encoding"].strip()
        )

    def clean_profile_sheet(self) -> str:
        return self._checked(services.sheet_clean, sheet=self.cleaned_data["profile_sheet"])

    def clean_profile_delimiter(self) -> str:
        return self._checked(
            services.delimiter_clean, delimiter=self.cleaned_data["profile_delimiter"]
        )

    @staticmethod
    def _checked(clean, **kwargs) -> str:
        try:
            return clean(**kwargs) or ""
        except ImporterError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Source)
class SourceAdmin(IdLookupsMixin):
    form = SourceForm
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    fieldsets = [
        (None, {"fields": ["slug", "name"]}),
        (
            "How its files look",
            {
                "fields": [
                    "profile_format",
                    "profile_encoding",
                    "profile_delimiter",
                    "profile_sheet",
                    "profile_column_map",
                ],
                "description": "Used by an upload that leaves the setting out (CLI, API, upload form); "
                "a run records what it used, so a replay is not changed by edits here.",
            },
        ),
    ]


RECORD_SEARCH_PAGE = 20


def record_label(record) -> str:
    """How a record reads in the re-point lookup: its name and its id."""
    return f"{record} (id {record.pk})"


class RecordSelect(AutocompleteSelect):
    """The admin's autocomplete (select2, shipped with Django) over one
    target's records, fed by the re-point view's own search URL: the map
    holds a bare record id, not a foreign key the stock view could follow."""

    def __init__(self, *, model, url: str, attrs=None) -> None:
        super().__init__(field=None, admin_site=admin.site, attrs=attrs)
        self.model = model
        self.url = url

    def get_url(self) -> str:
        return self.url

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = forms.Select.build_attrs(self, base_attrs, extra_attrs=extra_attrs)
        attrs.update(
            {
                "data-ajax--cache": "true",
                "data-ajax--delay": 250,
                "data-ajax--type": "GET",
                "data-ajax--url": self.get_url(),
                "data-app-label": self.model._meta.app_label,
                "data-model-name": self.model._meta.model_name,
                "data-field-name": "record",
                "data-theme": "admin-autocomplete",
                "data-allow-clear": "false",
                "data-placeholder": "Type a name, e-mail or number",
                "lang": self.i18n_name,  # type: ignore[attr-defined]  # AutocompleteMixin's, set by its __init__
                "class": "admin-autocomplete",
            }
        )
        return attrs

    def optgroups(self, name, value, attr=None):
        """Only the chosen record (if any) is rendered; the rest come by search."""
        options = []
        chosen = [v for v in value if str(v).isdigit()]
        if chosen:
            record = self.model.objects.filter(pk=int(chosen[0])).first()
            label = record_label(record) if record else f"id {chosen[0]}"
            options.append(self.create_option(name, chosen[0], label, True, 0))
        return [(None, options, 0)]


class RepointForm(forms.Form):
    record_id = forms.IntegerField(
        min_value=1,
        label="New record",
        help_text="Search the target's records by what its list searches (name, e-mail, "
        "registration number…); the id is shown beside each.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args, model, search_url: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["record_id"].widget = RecordSelect(model=model, url=search_url)


@admin.register(ExternalIdMap)
class ExternalIdMapAdmin(IdLookupsMixin):
    list_display = ["external_id", "source", "target", "record", "last_run"]
    list_filter = ["target", ("source", SourceFilter)]
    search_fields = ["external_id"]
    raw_id_fields = ["first_run", "last_run"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExternalIdMap]:
        """The list and the page show runs by name (ImportRun.__str__ reads
        the run's source): joined here, not fetched once per row."""
        return (
            super()
            .get_queryset(request)
            .select_related("source", "first_run__source", "last_run__source")
        )

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        """Never through the form: a move goes through the audited re-point view."""
        return False

    @admin.display(description="record")
    def record(self, obj: ExternalIdMap) -> str:
        return record_link(obj.target, obj.record_id)

    def get_urls(self):
        urls = [
            path(
                "<int:object_id>/repoint/",
                self.admin_site.admin_view(self.repoint_view),
                name="ingest_externalidmap_repoint",
            ),
            path(
                "<int:object_id>/repoint/records/",
                self.admin_site.admin_view(self.record_search_view),
                name="ingest_externalidmap_records",
            ),
        ]
        return urls + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        extra_context = {
            **(extra_context or {}),
            "can_repoint": request.user.has_perm(REPOINT_PERMISSION),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def repoint_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """GET: the form; POST: move the mapping (ingest.identity.id_map_repoint)."""
        if not request.user.has_perm(REPOINT_PERMISSION):
            raise PermissionDenied
        mapping = get_object_or_404(ExternalIdMap.objects.select_related("source"), pk=object_id)
        form = RepointForm(
            request.POST or None,
            model=registry.get(mapping.target).model,
            search_url=reverse("admin:ingest_externalidmap_records", args=[mapping.pk]),
        )
        if request.method == "POST" and form.is_valid():
            try:
                identity.id_map_repoint(
                    mapping=mapping,
                    record_id=form.cleaned_data["record_id"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ImporterError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{mapping.external_id} from {mapping.source.display_name} now points to {mapping.target} {mapping.record_id}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ingest_externalidmap_change", args=[mapping.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Re-point {mapping.external_id} from {mapping.source.display_name}",
            "mapping": mapping,
            "current_record": record_link(mapping.target, mapping.record_id),
            "audits": mapping.audits.select_related("actor")[:20],
            "form": form,
        }
        return TemplateResponse(request, "admin/ingest/externalidmap/repoint.html", context)

    def record_search_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """The re-point lookup's answers, as select2 wants them: records of
        the mapping's target found by that target's admin search."""
        if not request.user.has_perm(REPOINT_PERMISSION):
            raise PermissionDenied
        mapping = get_object_or_404(ExternalIdMap, pk=object_id)
        model = registry.get(mapping.target).model
        model_admin = self.admin_site._registry.get(model)
        term = request.GET.get("term", "").strip()[:200]
        try:
            page = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            page = 1
        records = model._default_manager.order_by("pk")
        if term.isdigit():
            found = records.filter(pk=int(term))
        else:
            found = records.none()
        if model_admin is not None and term:
            searched, _ = model_admin.get_search_results(request, records, term)
            found = found | searched
        elif not term:
            found = records
        start = (page - 1) * RECORD_SEARCH_PAGE
        chunk = list(found.distinct().order_by("pk")[start : start + RECORD_SEARCH_PAGE + 1])
        return JsonResponse(
            {
                "results": [
                    {"id": str(record.pk), "text": record_label(record)}
                    for record in chunk[:RECORD_SEARCH_PAGE]
                ],
                "pagination": {"more": len(chunk) > RECORD_SEARCH_PAGE},
            }
        )


@admin.register(IdMapAudit)
class IdMapAuditAdmin(IdLookupsMixin):
    list_display = [
        "created_at",
        "source",
        "target",
        "external_id",
        "old_record",
        "new_record",
        "actor",
        "reason",
    ]
    list_filter = ["target", ("source", SourceFilter)]
    search_fields = ["external_id", "reason"]
    list_select_related = ["source", "actor"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="from")
    def old_record(self, obj: IdMapAudit) -> str:
        return record_link(obj.target, obj.old_record_id)

    @admin.display(description="to")
    def new_record(self, obj: IdMapAudit) -> str:
        return record_link(obj.target, obj.new_record_id)
