"""Ids in admin URLs: a number past what a bigint holds is a bad link, like
``?run=abc``, never a 500 (SQLite's driver raises OverflowError for it).
Django checks the range itself only for exact and comparison lookups on a
model's own integer fields, not for a foreign key (``?parent_run=``) or
``__in``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

BIGINT_MAX = models.BigIntegerField.MAX_BIGINT


def id_param(value: str | None, *, name: str) -> int | None:
    """A primary key given in the URL (None when left out or empty);
    anything else is a bad link: ``IncorrectLookupParameters``, which the
    admin's list answers with a redirect to ``?e=1``."""
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= BIGINT_MAX:
        raise IncorrectLookupParameters(f"{name} must be an id, got {value!r}")
    return number


def _is_integer_field(model: type[models.Model], lookup: str) -> bool:
    """Whether ``lookup`` (``parent_run``, ``run__in``, ``source__id__exact``)
    compares an integer column, a foreign key to one included."""
    field: Any = None
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break  # a lookup name (``in``, ``exact``) or not a field: Django says
        if field.is_relation and field.related_model is not None:
            model = field.related_model
            if not (field.many_to_one or field.one_to_one):
                field = model._meta.pk
    if field is not None and field.is_relation and hasattr(field, "target_field"):
        field = field.target_field
    return isinstance(field, models.IntegerField)


def check_id_lookup(model: type[models.Model], lookup: str, value: str) -> None:
    """Refuse a whole number out of the bigint range in a lookup on an
    integer column; any other value is Django's to judge."""
    if not _is_integer_field(model, lookup):
        return
    for part in str(value).split(","):
        try:
            number = int(part)
        except ValueError:
            continue
        if abs(number) > BIGINT_MAX:
            raise IncorrectLookupParameters(f"{lookup} is out of range: {part!r}")


class IdLookupsMixin(admin.ModelAdmin):
    """For every ModelAdmin: each filter parameter of the list's URL passes
    here before any filter reads it, so one check covers list filters and
    plain field lookups alike."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        check_id_lookup(self.model, lookup, value)
        return super().lookup_allowed(lookup, value, request)
