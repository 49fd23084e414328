"""Filters of the run list (``GET /api/v1/runs/``)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from common.api_filters import StrictBooleanFilter, StrictFilterSet, UtcDateTimeFilter
from runs.models import ImportRun


class RunFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ImportRun.Status.choices)
    target = django_filters.CharFilter()
    source = django_filters.CharFilter(field_name="source__slug", help_text="The source's slug.")
    dry_run = StrictBooleanFilter()
    kind = django_filters.ChoiceFilter(choices=ImportRun.Kind.choices)
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    has_quarantined = StrictBooleanFilter(
        method="filter_has_quarantined",
        help_text="Runs with (true) or without (false) quarantined rows.",
    )

    class Meta:
        model = ImportRun
        fields = ["status", "target", "source", "dry_run", "kind"]

    def filter_has_quarantined(
        self, queryset: QuerySet[ImportRun], name: str, value: bool | None
    ) -> QuerySet[ImportRun]:
        if value is None:
            return queryset
        return queryset.filter(quarantined__gt=0) if value else queryset.filter(quarantined=0)
