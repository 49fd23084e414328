"""Field specs derived from a model (registry.from_model): each Django field
type gets its rule with the limits the model declares, and what cannot be
derived is refused at start-up with a message that says what to do."""

from __future__ import annotations

import decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import Organization
from ingest import fields as rules
from ingest import model_fields, registry
from ingest.models import Source
from tests.targetapp.models import Product

TARGETS = {Organization: "organization", Product: "product"}


def spec_of(name: str) -> dict:
    return next(f for f in registry.get("product").spec()["fields"] if f["name"] == name)


@pytest.mark.parametrize(
    ("name", "type", "required", "constraints"),
    [
        ("sku", "external_id", True, {"max_length": 32}),
        ("name", "text", True, {"max_length": 120}),
        (
            "price",
            "decimal",
            True,
            {"max_length": 64, "max_digits": 8, "decimal_places": 2, "min_value": "0"},
        ),
        ("in_stock", "boolean", False, {"choices": ["true", "false"]}),
        ("category", "choice", True, {"choices": ["hardware", "software", "service"]}),
        (
            "launched",
            "date",
            False,
            {"max_length": 40, "format": "YYYY-MM-DD", "allow_future": True},
        ),
        ("released_at", "datetime", False, {"max_length": 40, "format": "ISO 8601"}),
        ("stock", "integer", False, {"max_length": 32, "min_value": 0, "max_value": 32767}),
        (
            "weight_grams",
            "integer",
            False,
            {"max_length": 32, "min_value": -(2**31), "max_value": 2**31 - 1},
        ),
        ("homepage", "url", False, {"max_length": 200}),
        ("support_email", "email", False, {"max_length": 254}),
        ("notes", "text", False, {}),
        (
            "supplier_external_id",
            "reference",
            False,
            {"max_length": 255, "target": "organization"},
        ),
        ("updated_at", "datetime", False, {"max_length": 40, "format": "ISO 8601"}),
    ],
)
def test_each_model_field_gets_the_rule_of_its_type(name, type, required, constraints):
    assert spec_of(name) == {
        "name": name,
        "type": type,
        "required": required,
        "constraints": constraints,
        "help_text": "",
    }


def test_the_target_has_the_model_fields_in_order_and_golden_record_fields_stay_out():
    target = registry.get("product")
    assert target.field_names == [
        "sku",
        "name",
        "price",
        "in_stock",
        "category",
        "launched",
        "released_at",
        "stock",
        "weight_grams",
        "homepage",
        "support_email",
        "origin_country",
        "notes",
        "supplier_external_id",
        "updated_at",
    ]
    columns = {field.name: field.column for field in target.fields}
    assert columns["sku"] == "sku"  # the external id is a model field: it fills it too
    assert columns["supplier_external_id"] == "supplier_id"
    assert columns["updated_at"] is None  # only dates the row for survivorship
    assert target.timestamp_field == "updated_at"
    assert isinstance(target.fields[-1], rules.Timestamp)
    assert not isinstance(
        next(f for f in target.fields if f.name == "released_at"), rules.Timestamp
    )


def test_an_override_replaces_the_derived_rule():
    assert spec_of("origin_country")["type"] == "country"


def test_the_natural_key_is_the_named_fields_values():
    target = registry.get("product")
    assert target.natural_key({"sku": "P-1"}) == "P-1"
    assert target.natural_key({"sku": ""}) is None


def bound(field: models.Field, name: str = "extra") -> models.Field:
    """A model field as if declared on Product, without changing Product."""
    field.set_attributes_from_name(name)
    field.model = Product
    return field


@pytest.mark.parametrize(
    ("field", "rule", "limits"),
    [
        (models.SmallIntegerField(), rules.Integer, (-32768, 32767)),
        (models.PositiveSmallIntegerField(), rules.Integer, (0, 32767)),
        (models.PositiveIntegerField(), rules.Integer, (0, 2147483647)),
        (models.BigIntegerField(), rules.Integer, (-(2**63), 2**63 - 1)),
        (models.PositiveBigIntegerField(), rules.Integer, (0, 2**63 - 1)),
        (
            models.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)]),
            rules.Integer,
            (1, 5),
        ),
        (
            models.DecimalField(
                max_digits=5, decimal_places=1, validators=[MaxValueValidator(decimal.Decimal(99))]
            ),
            rules.Decimal,
            (None, decimal.Decimal(99)),
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, models.Field) else None,
)
def test_integer_and_decimal_bounds_come_from_the_type_and_validators(field, rule, limits):
    spec = model_fields.rule_for(bound(field), targets=TARGETS)
    assert type(spec) is rule
    assert (spec.min_value, spec.max_value) == limits


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        (models.SlugField(), rules.Text),
        (models.CharField(max_length=5), rules.Text),
        (models.EmailField(), rules.Email),
        (models.URLField(), rules.URL),
        (models.BooleanField(null=True), rules.Boolean),
        (models.DateTimeField(), rules.DateTime),
        (models.DateField(), rules.Date),
        (models.IntegerField(choices=[(1, "One"), (2, "Two")]), rules.Choice),
        (models.OneToOneField(Organization, on_delete=models.CASCADE), rules.Reference),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, models.Field) else None,
)
def test_subclasses_and_relations_get_their_rule(field, rule):
    assert type(model_fields.rule_for(bound(field), targets=TARGETS)) is rule


def test_a_choice_of_integers_stores_the_integer_and_takes_the_label():
    spec = model_fields.rule_for(
        bound(models.IntegerField(choices=[(1, "One"), (2, "Two")])), targets=TARGETS
    )
    assert spec.clean("2", {}) == 2
    assert spec.clean("one", {}) == 1


def test_required_follows_blank_and_default():
    def required(field):
        return model_fields.rule_for(bound(field), targets=TARGETS).required

    assert required(models.CharField(max_length=5))
    assert not required(models.CharField(max_length=5, blank=True))
    assert not required(models.CharField(max_length=5, default="x"))
    assert required(models.BooleanField())
    assert not required(models.BooleanField(default=False))
    assert required(models.IntegerField(blank=True))  # NULL cannot be stored
    assert not required(models.IntegerField(blank=True, null=True))
    assert not required(models.DateField(blank=True, null=True))


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            models.FloatField(),
            model_fields.NO_RULE.format(model="Product", name="extra", type="FloatField"),
        ),
        (
            models.ForeignKey(User, on_delete=models.CASCADE),
            model_fields.NOT_A_TARGET.format(model="Product", name="extra", related="auth.User"),
        ),
    ],
)
def test_a_field_without_a_rule_is_refused_with_what_to_do(field, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        model_fields.rule_for(bound(field), targets=TARGETS)
    assert str(raised.value) == message


def derive(**options):
    return model_fields.fields_for_model(Product, external_id="sku", targets=TARGETS, **options)


def test_fields_or_exclude_must_be_given_as_for_a_model_form():
    with pytest.raises(ImproperlyConfigured) as raised:
        derive()
    assert str(raised.value) == model_fields.FIELDS_OR_EXCLUDE.format(model="Product")


def test_fields_picks_and_orders_them():
    specs = derive(fields=["price", "name"], timestamp=None)
    assert [spec.name for spec in specs] == ["sku", "price", "name"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"fields": ["nope"]},
            model_fields.UNKNOWN_MODEL_FIELD.format(
                model="Product", name="nope", argument="fields"
            ),
        ),
        (
            {"exclude": ["nope"]},
            model_fields.UNKNOWN_MODEL_FIELD.format(
                model="Product", name="nope", argument="exclude"
            ),
        ),
        (
            {"fields": ["provenance"]},
            model_fields.NOT_IMPORTABLE.format(model="Product", name="provenance"),
        ),
        (
            {"fields": "__all__"},
            model_fields.NO_RULE.format(model="Product", name="rating", type="FloatField"),
        ),
        (
            {"fields": ["name"], "overrides": {"name": "text"}},
            model_fields.BAD_OVERRIDE.format(name="name", value="text"),
        ),
        (
            {"fields": ["name"], "overrides": {"name": rules.Text("title")}},
            model_fields.OVERRIDE_COLUMN.format(
                name="name", column="title", model="Product", attname="name"
            ),
        ),
    ],
)
def test_mistakes_in_the_declaration_are_refused(options, message):
    with pytest.raises(ImproperlyConfigured) as raised:
        derive(**options)
    assert str(raised.value) == message


def test_an_override_may_read_another_file_column():
    specs = derive(
        fields=["homepage"], overrides={"homepage": rules.URL("website", column="homepage")}
    )
    assert [(spec.name, spec.column) for spec in specs][1] == ("website", "homepage")


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made by a test are forgotten after it."""
    monkeypatch.setattr(registry, "_targets", dict(registry._targets))


def test_from_model_registers_a_target_under_the_model_name_or_the_given_one(scratch_registry):
    target_class = registry.from_model(
        Product, name="product_copy", external_id="sku", exclude=["rating"], timestamp=None
    )
    target = registry.get("product_copy")
    assert isinstance(target, target_class)
    assert target.field_names == registry.get("product").field_names[:-1]
    assert target.external_id_field == "sku"
    assert target.natural_key({"sku": "P-1"}) is None  # none given: every new id is a new record


def test_an_external_id_that_is_no_model_field_only_keys_the_id_map():
    specs = derive(fields=["name"])
    assert (specs[0].name, specs[0].column) == ("sku", "sku")
    specs = model_fields.fields_for_model(
        Product, external_id="code", fields=["name"], targets=TARGETS
    )
    assert (specs[0].name, specs[0].column) == ("code", None)


def test_from_model_takes_a_natural_key_function(scratch_registry):
    registry.from_model(
        Product,
        name="product_by_name",
        external_id="sku",
        exclude=["rating"],
        natural_key=lambda values: (values.get("name") or "").casefold() or None,
    )
    assert registry.get("product_by_name").natural_key({"name": "Widget"}) == "widget"


def test_a_long_natural_key_is_hashed_to_fit_its_column(scratch_registry):
    registry.from_model(
        Product,
        name="product_long",
        external_id="sku",
        exclude=["rating"],
        natural_key=["name", "notes"],
    )
    key = registry.get("product_long").natural_key({"name": "n", "notes": "x" * 400})
    assert key.startswith("sha256:") and len(key) <= registry.NATURAL_KEY_LENGTH


def test_a_target_must_fill_every_column_that_needs_a_value(scratch_registry):
    with pytest.raises(ImproperlyConfigured) as raised:
        registry.from_model(Product, name="p3", external_id="sku", exclude=["rating", "in_stock"])
    assert str(raised.value) == registry.NOT_FILLED.format(
        name="p3", model="targetapp.Product", field="in_stock"
    )
    assert "p3" not in registry.names()


def test_a_natural_key_field_must_be_stored(scratch_registry):
    with pytest.raises(ImproperlyConfigured) as raised:
        registry.from_model(
            Product, name="p2", external_id="code", fields=["name"], natural_key=["code"]
        )
    assert str(raised.value) == registry.NATURAL_KEY_FIELD.format(
        name="p2", field="code", choices="name"
    )


def test_a_model_that_is_no_golden_record_cannot_be_a_target(scratch_registry):
    with pytest.raises(ImproperlyConfigured) as raised:
        registry.from_model(Source, external_id="slug", fields=["name"])
    assert str(raised.value) == registry.NOT_A_GOLDEN_RECORD.format(
        model="ingest.Source", field="natural_key"
    )
    assert "source" not in registry.names()


def test_a_name_is_registered_once(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        registry.from_model(Product, external_id="sku", exclude=["rating"])
