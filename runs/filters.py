"""List filters for the runs dashboard. Their choices come from small
tables or the target registry, never from a DISTINCT over the runs table
(which would scan it on every page view at 100,000 runs)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from common.admin_lookups import id_param
from ingest import registry

BAD_DATE = "Enter dates as YYYY-MM-DD."
BAD_RANGE = "The range's start is after its end."


class TargetFilter(admin.SimpleListFilter):
    title = "target"
    parameter_name = "target"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(name, name) for name in registry.names()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.filter(target=self.value()) if self.value() else queryset


class HasQuarantinedFilter(admin.SimpleListFilter):
    title = "has quarantined rows"
    parameter_name = "has_quarantined"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(quarantined__gt=0)
        if self.value() == "no":
            return queryset.filter(quarantined=0)
        return queryset


class CreatedByFilter(admin.SimpleListFilter):
    """Staff users (the only ones who can create runs in the admin or hold a
    token worth the name), plus runs nobody created (CLI, remediation)."""

    title = "created by"
    parameter_name = "created_by"
    NOBODY = "none"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        users = (
            get_user_model()
            .objects.filter(is_staff=True)
            .order_by("username")
            .values_list("pk", "username")
        )
        return [(str(pk), username) for pk, username in users] + [
            (self.NOBODY, "nobody (command line, system)")
        ]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value == self.NOBODY:
            return queryset.filter(created_by__isnull=True)
        return queryset.filter(created_by_id=id_param(value, name="created_by"))


class CreatedRangeForm(forms.Form):
    created_from = forms.DateField(
        required=False, label="From", error_messages={"invalid": BAD_DATE}
    )
    created_to = forms.DateField(
        required=False, label="To (inclusive)", error_messages={"invalid": BAD_DATE}
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError(BAD_RANGE)
        return data


class CreatedFilter(admin.ListFilter):
    """Created today, in the past 7 or 30 days, or in a custom date range
    (days in the site's time zone, both ends included)."""

    title = "created"
    template = "admin/runs/importrun/created_filter.html"
    parameter_name = "created"
    PRESETS = {"today": ("Today", 0), "7d": ("Past 7 days", 7), "30d": ("Past 30 days", 30)}
    RANGE_PARAMS = ("created_from", "created_to")

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        for name in (self.parameter_name, *self.RANGE_PARAMS):
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        self.range_form = CreatedRangeForm(
            {name: self.used_parameters.get(name, "") for name in self.RANGE_PARAMS}
        )
        # What the custom-range form must carry along: every other filter.
        self.other_params = [
            (key, value)
            for key, values in request.GET.lists()
            for value in values
            if key not in (self.parameter_name, *self.RANGE_PARAMS, "p", "e")
        ]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name, *self.RANGE_PARAMS]

    def choices(self, changelist) -> Iterator[dict[str, Any]]:
        current = self.used_parameters.get(self.parameter_name)
        has_range = any(self.used_parameters.get(name) for name in self.RANGE_PARAMS)
        remove = self.expected_parameters()
        choices = [
            {
                "selected": current is None and not has_range,
                "query_string": changelist.get_query_string(remove=remove),
                "display": "Any date",
            }
        ]
        for value, (label, _days) in self.PRESETS.items():
            choices.append(
                {
                    "selected": current == value,
                    "query_string": changelist.get_query_string(
                        {self.parameter_name: value}, remove
                    ),
                    "display": label,
                }
            )
        return iter(choices)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        preset = self.used_parameters.get(self.parameter_name)
        if preset:
            if preset not in self.PRESETS:
                raise IncorrectLookupParameters(f"Unknown created filter {preset!r}.")
            queryset = queryset.filter(
                created_at__gte=_start_of(today - datetime.timedelta(days=self.PRESETS[preset][1]))
            )
        if not any(self.used_parameters.get(name) for name in self.RANGE_PARAMS):
            return queryset
        if not self.range_form.is_valid():
            # The admin answers a bad filter with a redirect to the plain
            # list; the message says why.
            problem = " ".join(
                str(message) for errors in self.range_form.errors.values() for message in errors
            )
            messages.error(request, f"Created range: {problem}")
            raise IncorrectLookupParameters(problem)
        start, end = (
            self.range_form.cleaned_data["created_from"],
            self.range_form.cleaned_data["created_to"],
        )
        condition = Q()
        if start:
            condition &= Q(created_at__gte=_start_of(start))
        if end:
            condition &= Q(created_at__lt=_start_of(end + datetime.timedelta(days=1)))
        return queryset.filter(condition)


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
