"""The target registry: apps declare, in ``targets.py``, how a model is
imported, the way an ``admin.py`` declares how it is administered.

    from ingest import fields, registry

    @registry.register
    class OrganizationTarget(registry.Target):
        name = "organization"
        model = Organization
        fields = [...]

or, for a model whose fields say enough, ``registry.from_model(Product,
external_id="sku", exclude=[...])`` (see ingest/model_fields.py and
docs/targets.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.utils.module_loading import autodiscover_modules

from ingest.errors import UsageError
from ingest.fields import ExternalId, Field, Reference, Timestamp
from ingest.model_fields import fields_for_model

UNKNOWN_TARGET = "Unknown target {name!r}; choose one of: {choices}."
ALREADY_REGISTERED = "Target {name!r} is already registered."
NOT_A_GOLDEN_RECORD = (
    "{model} cannot be an import target: it has no {field!r} field. "
    "Make it inherit core.models.GoldenRecord."
)
ONE_EXTERNAL_ID = "Target {name!r} needs exactly one ExternalId field (it has {count})."
NO_SUCH_COLUMN = "Target {name!r}: field {field!r} fills {column!r}, which {model} does not have."
NOT_FILLED = (
    "Target {name!r} does not fill {model}.{field}, which cannot be NULL and has no database "
    "default, so no new record could be inserted: import it, or make it null=True or give it "
    "a db_default."
)
NATURAL_KEY_FIELD = (
    "Target {name!r}: natural key field {field!r} is not one of its stored fields ({choices})."
)

# What the pipeline writes on every record besides the target's fields:
# core.models.GoldenRecord declares them.
GOLDEN_RECORD_FIELDS = ("natural_key", "provenance", "created_at", "modified_at")
# The natural_key column's length (core.models.GoldenRecord).
NATURAL_KEY_LENGTH = 300


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

    def natural_keys(self, values: Mapping[str, Sequence[Any]]) -> list[str | None]:
        """``natural_key`` of each row of a chunk held column-wise: each
        field's clean values by field name, one list per field. A target
        whose key reads a few fields may override it to read only those
        (the column-wise engine makes a field's values as they are read)."""
        names = list(values)
        columns = [values[name] for name in names]
        return [self.natural_key(dict(zip(names, row))) for row in zip(*columns)]

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

    @cached_property
    def record_fields(self) -> list[Field]:
        """Stored fields a steward edits on the record itself (its admin
        form): all but references, for which the form picks the record."""
        return [field for field in self.data_fields if not isinstance(field, Reference)]

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
        raise ValueError(ALREADY_REGISTERED.format(name=target.name))
    check(target)
    _targets[target.name] = target
    return target_class


def check(target: Target) -> None:
    """What the pipeline needs of a target, said at start-up rather than by
    a failing run: a golden-record model, one external id, real columns."""
    model = target.model
    label = model._meta.label
    attnames = {field.attname for field in model._meta.concrete_fields}
    for name in GOLDEN_RECORD_FIELDS:
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                NOT_A_GOLDEN_RECORD.format(model=label, field=name)
            ) from None
    count = sum(isinstance(field, ExternalId) for field in target.fields)
    if count != 1:
        raise ImproperlyConfigured(ONE_EXTERNAL_ID.format(name=target.name, count=count))
    for field in target.data_fields:
        if field.column not in attnames:
            raise ImproperlyConfigured(
                NO_SUCH_COLUMN.format(
                    name=target.name, field=field.name, column=field.column, model=label
                )
            )
    # New records are inserted with the target's columns only (and the
    # golden-record ones): any other column gets its database default.
    filled = {field.column for field in target.data_fields} | set(GOLDEN_RECORD_FIELDS)
    for column in model._meta.concrete_fields:
        if (
            not column.primary_key
            and not column.null
            and column.attname not in filled
            and column.db_default is models.NOT_PROVIDED
        ):
            raise ImproperlyConfigured(
                NOT_FILLED.format(name=target.name, model=label, field=column.name)
            )


def key_of(names: Sequence[str]) -> Callable[[Target, dict[str, Any]], str | None]:
    """A ``natural_key`` method: the values of ``names`` joined by ":", or
    None when one is empty; a key longer than the column is hashed."""

    def natural_key(self: Target, values: dict[str, Any]) -> str | None:
        parts = []
        for name in names:
            value = values.get(name)
            if value is None or value == "":
                return None
            parts.append(str(value))
        key = ":".join(parts)
        if len(key) > NATURAL_KEY_LENGTH:
            return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
        return key

    return natural_key


def from_model(
    model: type[models.Model],
    *,
    external_id: str,
    name: str | None = None,
    fields: Sequence[str] | str | None = None,
    exclude: Sequence[str] | None = None,
    overrides: Mapping[str, Field] | None = None,
    natural_key: Sequence[str] | Callable[[dict[str, Any]], str | None] | None = None,
    timestamp: str | None = "updated_at",
    verbose_name: str = "",
) -> type[Target]:
    """Register a target for ``model`` whose fields are derived from the
    model's (ingest/model_fields.py), the way a ModelForm derives its own;
    returns the target class, as ``register`` does.

    ``name`` defaults to the model's name (``product``). ``natural_key`` is
    either the names of the fields whose values, joined, are the dedupe key
    (``["sku"]``), or a function of the cleaned values returning the key or
    None. ``timestamp`` names the optional column that dates a row for
    survivorship (None for none). A foreign key becomes a reference
    (``<field>_external_id``) when its model is a target registered before."""
    targets = {target.model: target.name for target in _targets.values()}
    target_name = name or str(model._meta.model_name)
    targets.setdefault(model, target_name)  # a foreign key to itself
    specs = fields_for_model(
        model,
        external_id=external_id,
        fields=fields,
        exclude=exclude,
        overrides=overrides,
        timestamp=timestamp,
        targets=targets,
    )
    attrs: dict[str, Any] = {
        "name": target_name,
        "model": model,
        "fields": specs,
        "verbose_name": verbose_name,
        "__doc__": f"{model.__name__}, imported with fields derived from the model.",
    }
    if callable(natural_key):
        function = natural_key
        attrs["natural_key"] = lambda self, values: function(values)
    elif natural_key:
        stored = [spec.name for spec in specs if spec.column]
        for field_name in natural_key:
            if field_name not in stored:
                raise ImproperlyConfigured(
                    NATURAL_KEY_FIELD.format(
                        name=target_name, field=field_name, choices=", ".join(stored)
                    )
                )
        attrs["natural_key"] = key_of(list(natural_key))
    target_class = type(f"{model.__name__}Target", (Target,), attrs)
    return register(target_class)


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
