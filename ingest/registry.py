"""The target registry: apps declare, in ``targets.py``, how a model is
imported, the way an ``admin.py`` declares how it is administered.

    from ingest import fields, registry

    @registry.register
    class OrganizationTarget(registry.Target):
        name = "organization"
        model = Organization
        fields = [...]
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from django.db import models
from django.utils.module_loading import autodiscover_modules

from ingest.errors import UsageError
from ingest.fields import ExternalId, Field, Reference, Timestamp

UNKNOWN_TARGET = "Unknown target {name!r}; choose one of: {choices}."


class Target:
    """How one core model is filled from files.

    Subclasses set ``name``, ``model`` and ``fields``; one field must be an
    ``ExternalId`` and at most one a ``Timestamp`` named ``updated_at`` that
    dates the row for survivorship.
    """

    name: ClassVar[str]
    model: ClassVar[type[models.Model]]
    fields: ClassVar[list[Field]]
    verbose_name: ClassVar[str] = ""
    # Column names a file may use for a field, by field (the upload form
    # suggests them; see ingest.matching): checked before the common ones.
    column_synonyms: ClassVar[dict[str, tuple[str, ...]]] = {}

    def natural_key(self, values: dict[str, Any]) -> str | None:
        """The normalized dedupe key of a record's values, or None when it has none."""
        return None

    @cached_property
    def field_names(self) -> list[str]:
        return [field.name for field in self.fields]

    @cached_property
    def required_names(self) -> list[str]:
        return [field.name for field in self.fields if field.required]

    @cached_property
    def external_id_field(self) -> str:
        return next(field.name for field in self.fields if isinstance(field, ExternalId))

    @cached_property
    def timestamp_field(self) -> str | None:
        return next((field.name for field in self.fields if isinstance(field, Timestamp)), None)

    @cached_property
    def references(self) -> list[Reference]:
        return [field for field in self.fields if isinstance(field, Reference)]

    @cached_property
    def data_fields(self) -> list[Field]:
        """Fields stored on the model, subject to survivorship."""
        return [field for field in self.fields if field.column]

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verbose_name": self.verbose_name or self.model._meta.verbose_name,
            "fields": [field.spec() for field in self.fields],
        }

    def __repr__(self) -> str:
        return f"<Target {self.name}>"


_targets: dict[str, Target] = {}


def register(target_class: type[Target]) -> type[Target]:
    target = target_class()
    if target.name in _targets:
        raise ValueError(f"Target {target.name!r} is already registered.")
    _targets[target.name] = target
    return target_class


def get(name: str) -> Target:
    try:
        return _targets[name]
    except KeyError:
        raise UsageError(UNKNOWN_TARGET.format(name=name, choices=", ".join(names()))) from None


def names() -> list[str]:
    return sorted(_targets)


def all_targets() -> list[Target]:
    return [_targets[name] for name in names()]


def autodiscover() -> None:
    autodiscover_modules("targets")
