"""Filters shared by the API's FilterSets: strict about what they accept,
so a mistyped query is a 400 rather than silently no filter, and the schema
tells what is accepted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
import django_filters.fields
from django import forms
from django.db import models
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, filters


class _StrictBooleanFormField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise forms.ValidationError("Use true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    """A query-string boolean that is ``true`` or ``false``; anything else is
    a 400 (django-filter's own silently ignores what it cannot read)."""

    field_class = _StrictBooleanFormField


@extend_schema_field(
    {"type": "integer", "minimum": 1, "maximum": models.BigIntegerField.MAX_BIGINT}
)
class IdFilter(django_filters.NumberFilter):
    """A primary key: a whole number that fits a bigint, else a 400 (a wild
    number must not reach the database)."""

    # The stubs fix NumberFilter's form field to DecimalField; a whole number is wanted.
    field_class = forms.IntegerField  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", models.BigIntegerField.MAX_BIGINT)
        super().__init__(*args, **kwargs)


EMPTY_FILTER = "Give a value, or leave the parameter out."


class StrictFilterSet(django_filters.FilterSet):
    """A filter given with an empty value (``?status=``) is a 400, not
    silently no filter; text filters take empty text as text."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        data = self.data or {}
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) or name not in data:
                continue
            values = data.getlist(name) if isinstance(data, QueryDict) else [data[name]]
            if "" in values and name not in self.form.errors:
                self.form.add_error(name, EMPTY_FILTER)
                valid = False
        return valid


class _UtcDateTimeFormField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value: Any) -> Any:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(
                "The date and time is out of range.", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time, compared in UTC: PostgreSQL refuses offsets
    beyond ±15:59 that ISO 8601 (and Python) allow."""

    field_class = _UtcDateTimeFormField


BAD_ORDERING = "Order by one of: {choices}."


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=`` with a field it cannot order by is a 400 (DRF's own
    filter ignores it), and the schema lists the choices."""

    def _choices(self, view: Any) -> list[str]:
        fields = [
            name
            for name, _ in self.get_valid_fields(
                view.get_queryset(), view, {"request": view.request}
            )
        ]
        return [prefix + name for name in fields for prefix in ("", "-")]

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> Any:
        params = request.query_params.get(self.ordering_param)
        if params is not None:
            terms = [term.strip() for term in params.split(",")]
            choices = self._choices(view)
            if not all(term in choices for term in terms):
                raise exceptions.ValidationError(
                    {self.ordering_param: [BAD_ORDERING.format(choices=", ".join(choices))]}
                )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "enum": self._choices(view)}
        return parameters
