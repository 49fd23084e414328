"""The inbox's filters. Their URL parameters are a contract (the runs
dashboard links here): ``?run=ID``, ``&code=RULE``, ``&field=NAME``,
``&status=open|requeued|resolved|ignored|all`` (no ``status``: open)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.utils import timezone

from common.admin_lookups import id_param
from dq.models import Violation
from dq.selectors import code_filter, field_filter
from ingest import fields as rules
from ingest import registry

ALL = "all"


def run_id_param(value: str | None) -> int | None:
    """The ``run`` parameter as an id; anything else (``abc``, a number
    past a bigint) is a bad link, not a 500."""
    return id_param(value, name="run")


class StatusFilter(admin.SimpleListFilter):
    """Opens on open violations; ``status=all`` shows every status."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [*Violation.Status.choices, (ALL, "All")]

    def value(self) -> str:
        return super().value() or Violation.Status.OPEN

    def choices(self, changelist: Any):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == ALL:
            return queryset
        if value not in Violation.Status.values:
            raise IncorrectLookupParameters(f"unknown status {value!r}")
        return queryset.filter(status=value)


class TargetFilter(admin.SimpleListFilter):
    title = "target"
    parameter_name = "target"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in registry.names()]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        return queryset.filter(target=self.value()) if self.value() else queryset


class CodeFilter(admin.SimpleListFilter):
    title = "rule code"
    parameter_name = "code"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in rules.RULE_CODES]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(code_filter(value)) if value else queryset


class FieldFilter(admin.SimpleListFilter):
    title = "field with errors"
    parameter_name = "field"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        names = sorted({name for target in registry.all_targets() for name in target.field_names})
        return [(name, name) for name in names]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(field_filter(value)) if value else queryset


class RunFilter(admin.SimpleListFilter):
    """Only shown when set (there are too many runs to list); a dry run's
    violations appear only through it."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        run_id = run_id_param(request.GET.get(self.parameter_name))
        return [(str(run_id), f"Run {run_id}")] if run_id is not None else []

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        run_id = run_id_param(self.value())
        return queryset.filter(run_id=run_id) if run_id is not None else queryset


AGES = {
    "1d": ("Today", 0, 1),
    "7d": ("1 to 7 days", 1, 7),
    "30d": ("7 to 30 days", 7, 30),
    "old": ("Older than 30 days", 30, None),
}


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in AGES.items()]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None or value not in AGES:
            return queryset
        _, newest, oldest = AGES[value]
        now = timezone.now()
        queryset = queryset.filter(created_at__lte=now - dt.timedelta(days=newest))
        if oldest is not None:
            queryset = queryset.filter(created_at__gt=now - dt.timedelta(days=oldest))
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Assigned to me"), ("nobody", "Nobody")]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


class RequeueOutcomeFilter(admin.SimpleListFilter):
    """``?requeue_outcome=failed_again``: rows a requeue sent back (the
    inbox's "Failed again" badge); the requeue's message links here."""

    title = "last requeue"
    parameter_name = "requeue_outcome"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (Violation.RequeueOutcome.FAILED_AGAIN, "Failed again"),
            (Violation.RequeueOutcome.RESOLVED, "Resolved"),
        ]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if self.value() in (None, ""):
            return queryset
        if self.value() not in Violation.RequeueOutcome.values:
            raise IncorrectLookupParameters(f"unknown requeue outcome {self.value()!r}")
        return queryset.filter(requeue_outcome=self.value())


class ResolutionFilter(admin.SimpleListFilter):
    title = "resolved by"
    parameter_name = "resolution"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (Violation.Resolution.STEWARD, "A steward"),
            (Violation.Resolution.SOURCE, "The source"),
        ]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if self.value() in (None, ""):
            return queryset
        if self.value() not in Violation.Resolution.values:
            raise IncorrectLookupParameters(f"unknown resolution {self.value()!r}")
        return queryset.filter(resolution=self.value())


class SeenFilter(admin.SimpleListFilter):
    """Occurrences and regressions: rows that keep coming back."""

    title = "seen"
    parameter_name = "seen"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("again", "More than once"), ("regressed", "Broke again after resolved")]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if self.value() == "again":
            return queryset.filter(occurrences__gt=1)
        if self.value() == "regressed":
            return queryset.filter(regressions__gt=0)
        return queryset


class _RunIdFilter(admin.SimpleListFilter):
    """A run id given in the URL (too many runs to list)."""

    field = ""

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        run_id = run_id_param(request.GET.get(self.parameter_name))
        return [(str(run_id), f"Run {run_id}")] if run_id is not None else []

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        run_id = run_id_param(self.value())
        return queryset.filter(**{self.field: run_id}) if run_id is not None else queryset


class RemediationRunFilter(_RunIdFilter):
    title = "remediation run"
    parameter_name = "remediation_run"
    field = "remediation_run_id"


class FirstSeenRunFilter(_RunIdFilter):
    title = "first seen in run"
    parameter_name = "first_seen_run"
    field = "first_seen_run_id"


class LastSeenRunFilter(_RunIdFilter):
    title = "last seen in run"
    parameter_name = "last_seen_run"
    field = "last_seen_run_id"
