"""The violations API's filters (django-filter): the inbox's filters, as query parameters."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from common.api_filters import IdFilter, StrictBooleanFilter, StrictFilterSet
from dq import selectors
from dq.models import Violation
from ingest import fields as rules


class ViolationFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Violation.Status.choices)
    run = IdFilter(
        field_name="run_id",
        label="the last run that quarantined the row (a dry run: its own); a run's own "
        "quarantined rows are runs/{id}/results/?kind=violations",
    )
    target = django_filters.CharFilter()
    source = django_filters.CharFilter(field_name="source__slug")
    rule = django_filters.ChoiceFilter(
        choices=[(code, code) for code in rules.RULE_CODES], method="filter_rule", label="rule code"
    )
    field = django_filters.CharFilter(
        method="filter_field", label="field with an error", max_length=64
    )
    resolution = django_filters.ChoiceFilter(choices=Violation.Resolution.choices)
    requeue_outcome = django_filters.ChoiceFilter(
        choices=Violation.RequeueOutcome.choices,
        label="outcome of the last requeue (failed_again: the inbox's badge)",
    )
    first_seen_run = IdFilter(field_name="first_seen_run_id")
    last_seen_run = IdFilter(field_name="last_seen_run_id")
    remediation_run = IdFilter(field_name="remediation_run_id")
    min_occurrences = IdFilter(
        field_name="occurrences", lookup_expr="gte", label="seen at least this many times"
    )
    regressed = StrictBooleanFilter(
        method="filter_regressed", label="broke again after being resolved"
    )

    class Meta:
        model = Violation
        fields = [
            "status",
            "run",
            "target",
            "source",
            "rule",
            "field",
            "resolution",
            "requeue_outcome",
            "first_seen_run",
            "last_seen_run",
            "remediation_run",
            "min_occurrences",
            "regressed",
        ]

    def filter_regressed(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(regressions__gt=0) if value else queryset.filter(regressions=0)

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(selectors.code_filter(value))

    def filter_field(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(selectors.field_filter(value))
