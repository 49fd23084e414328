"""Field specs derived from a model's fields, the way a ``ModelForm`` (or a
django-import-export ``ModelResource``) derives its form fields: each
concrete, editable model field gets the rule of its type, with the limits
the model declares (``max_length``, integer ranges, ``max_digits``,
``choices``, min/max validators), required when the model needs a value.

``registry.from_model`` calls ``fields_for_model``; a field whose type has no
rule here must be overridden or left out, which the error says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

from ingest import fields as rules

ALL_FIELDS = "__all__"

FIELDS_OR_EXCLUDE = (
    "from_model({model}) needs fields=[...] (or fields='__all__') or exclude=[...], "
    "as a ModelForm does: a field added to the model later is then not imported by accident."
)
UNKNOWN_MODEL_FIELD = "{model} has no field {name!r} (in {argument})."
NOT_IMPORTABLE = (
    "{model}.{name} is not editable (or not a column), so no import can fill it; "
    "leave it out of fields=[...]."
)
NO_RULE = (
    "{model}.{name} is a {type}, which has no import rule: give one in "
    "overrides={{{name!r}: fields.…}} or leave it out."
)
NOT_A_TARGET = (
    "{model}.{name} refers to {related}, which no registered target imports: register that "
    "target first (an app listed earlier in INSTALLED_APPS, or earlier in this targets.py), "
    "give an override, or leave the field out."
)
BAD_OVERRIDE = "overrides[{name!r}] must be an ingest field (ingest.fields.…), not {value!r}."
OVERRIDE_COLUMN = (
    "overrides[{name!r}] fills column {column!r}, which {model} does not have "
    "(give column='{attname}' or column=None)."
)

# The integer ranges every database Django supports can hold (SQLite's are
# wider): a value outside them is out_of_range, whatever the database.
INTEGER_RANGES: Mapping[str, tuple[int, int]] = BaseDatabaseOperations.integer_field_ranges

RuleMaker = Callable[[models.Field, dict[str, Any]], rules.Field]


def _text(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.Text(field.name, max_length=field.max_length, **options)


def _email(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.Email(field.name, max_length=field.max_length, **options)


def _url(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.URL(field.name, max_length=field.max_length, **options)


def _integer(field: models.Field, options: dict[str, Any]) -> rules.Field:
    low, high = INTEGER_RANGES.get(field.get_internal_type(), (None, None))
    low, high = _validator_limits(field, low, high)
    return rules.Integer(field.name, min_value=low, max_value=high, **options)


def _decimal(field: models.Field, options: dict[str, Any]) -> rules.Field:
    assert isinstance(field, models.DecimalField)  # _rule_maker picks this maker for those only
    low, high = _validator_limits(field, None, None)
    return rules.Decimal(
        field.name,
        max_digits=field.max_digits,
        decimal_places=field.decimal_places,
        min_value=low,
        max_value=high,
        **options,
    )


def _boolean(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.Boolean(field.name, **options)


def _date(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.Date(field.name, **options)


def _datetime(field: models.Field, options: dict[str, Any]) -> rules.Field:
    return rules.DateTime(field.name, **options)


# Looked up along the model field's class hierarchy (most derived first), as
# DRF's ModelSerializer maps fields: an EmailField is a CharField with its own
# rule, a PositiveIntegerField an IntegerField with its own range.
RULES: dict[type[models.Field], RuleMaker] = {
    models.CharField: _text,
    models.TextField: _text,
    models.EmailField: _email,
    models.URLField: _url,
    models.IntegerField: _integer,
    models.DecimalField: _decimal,
    models.BooleanField: _boolean,
    models.DateField: _date,
    models.DateTimeField: _datetime,
}


def _validator_limits(field: models.Field, low: Any, high: Any) -> tuple[Any, Any]:
    """Narrow (low, high) by the field's own Min/MaxValueValidators."""
    for validator in field.validators:
        if not isinstance(validator, (MinValueValidator, MaxValueValidator)):
            continue
        limit = validator.limit_value
        if callable(limit):
            continue
        if isinstance(validator, MinValueValidator) and (low is None or limit > low):
            low = limit
        elif isinstance(validator, MaxValueValidator) and (high is None or limit < high):
            high = limit
    return low, high


def _rule_maker(field: models.Field) -> RuleMaker | None:
    for cls in type(field).__mro__:
        if cls in RULES:
            return RULES[cls]
    return None


def is_required(field: models.Field) -> bool:
    """The model needs a value: not ``blank=True`` and no default to fall
    back on; or a column that cannot be NULL, has no default and no empty
    value of its own (an integer with ``blank=True`` only): a row without
    it could not be inserted, so it is quarantined instead."""
    if field.has_default():
        return False
    return not field.blank or (not field.null and not field.empty_strings_allowed)


def reference_name(field: models.Field) -> str:
    """The file column of a foreign key: the referenced record's external id."""
    return f"{field.name}_external_id"


def rule_for(field: models.Field, *, targets: Mapping[type[models.Model], str]) -> rules.Field:
    """The import rule of one model field. ``targets``: registered model → target name."""
    model = field.model.__name__
    options: dict[str, Any] = {"required": is_required(field), "help_text": str(field.help_text)}
    if field.is_relation:
        if not (field.many_to_one or field.one_to_one):
            raise ImproperlyConfigured(NOT_IMPORTABLE.format(model=model, name=field.name))
        related = field.related_model
        if related is None or related not in targets:
            raise ImproperlyConfigured(
                NOT_A_TARGET.format(
                    model=model,
                    name=field.name,
                    related=related._meta.label if related is not None else "?",
                )
            )
        return rules.Reference(
            reference_name(field), target=targets[related], column=field.attname, **options
        )
    if field.choices:
        return rules.Choice(field.name, choices=list(field.flatchoices), **options)
    maker = _rule_maker(field)
    if maker is None:
        raise ImproperlyConfigured(
            NO_RULE.format(model=model, name=field.name, type=type(field).__name__)
        )
    return maker(field, options)


def importable_fields(model: type[models.Model]) -> list[models.Field]:
    """The model fields an import can fill, in model order: concrete,
    editable, not the primary key (GoldenRecord's natural_key, provenance
    and timestamps are not editable, so they are never among them)."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key and not field.auto_created
    ]


def fields_for_model(
    model: type[models.Model],
    *,
    external_id: str,
    fields: Sequence[str] | str | None = None,
    exclude: Sequence[str] | None = None,
    overrides: Mapping[str, rules.Field] | None = None,
    timestamp: str | None = "updated_at",
    targets: Mapping[type[models.Model], str],
) -> list[rules.Field]:
    """The field specs of a target filling ``model``, in order: the external
    id, the chosen model fields (in ``fields`` order when listed, else model
    order), then the survivorship timestamp.

    ``external_id`` names the file column of the external id; when the model
    has a field of that name, the external id fills it too. ``overrides``
    replaces the derived rule of a model field (keyed by the model field's
    name) by the one given, used as it is."""
    label = model.__name__
    if fields is None and exclude is None:
        raise ImproperlyConfigured(FIELDS_OR_EXCLUDE.format(model=label))
    overrides = dict(overrides or {})
    exclude = list(exclude or ())
    importable = {field.name: field for field in importable_fields(model)}
    for argument, names in (
        ("fields", [] if fields in (None, ALL_FIELDS) else fields),
        ("exclude", exclude),
        ("overrides", overrides),
    ):
        for name in names:
            try:
                model._meta.get_field(name)
            except FieldDoesNotExist:
                raise ImproperlyConfigured(
                    UNKNOWN_MODEL_FIELD.format(model=label, name=name, argument=argument)
                ) from None
            if name not in importable and argument != "exclude":
                raise ImproperlyConfigured(NOT_IMPORTABLE.format(model=label, name=name))
    names = list(importable) if fields in (None, ALL_FIELDS) else list(fields)
    names = [name for name in names if name not in exclude and name != external_id]

    attnames = {field.attname for field in model._meta.concrete_fields}
    id_field = importable.get(external_id)
    id_options: dict[str, Any] = {"column": None}
    if id_field is not None:
        id_options["column"] = id_field.attname
        if id_field.max_length:
            id_options["max_length"] = min(id_field.max_length, 255)
    specs: list[rules.Field] = [rules.ExternalId(external_id, **id_options)]
    for name in names:
        spec = overrides.get(name)
        if spec is None:
            spec = rule_for(importable[name], targets=targets)
        elif not isinstance(spec, rules.Field):
            raise ImproperlyConfigured(BAD_OVERRIDE.format(name=name, value=spec))
        elif spec.column is not None and spec.column not in attnames:
            raise ImproperlyConfigured(
                OVERRIDE_COLUMN.format(
                    name=name, column=spec.column, model=label, attname=importable[name].attname
                )
            )
        specs.append(spec)
    if timestamp:
        specs.append(rules.Timestamp(timestamp, column=None))
    return specs
