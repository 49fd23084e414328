"""ingest.hints.field_hint: what a field wants, in a person's words, for
every field type (issue 19: not "allow_future False" or "max_value 2147483647")."""

import pytest

from ingest import fields, hints, registry


@pytest.mark.parametrize(
    "field, hint",
    [
        (fields.Text("name", max_length=32), "Text, up to 32 characters"),
        (
            fields.Text("name", required=True, max_length=200),
            "Required: text, up to 200 characters",
        ),
        (fields.Text("notes"), "Text"),
        (
            fields.ExternalId(),
            "Required: the source system's id for this row, up to 255 characters",
        ),
        (fields.Email("email"), "An e-mail address, up to 254 characters"),
        (
            fields.URL("website"),
            "A web address (https:// is added when it is left out), up to 200 characters",
        ),
        (
            fields.Country("country", required=True),
            "Required: a two-letter ISO country code, such as DE or US",
        ),
        (
            fields.Phone("phone"),
            "A phone number, with + and its country code or national for the row's country, up to 40 characters",
        ),
        (
            fields.Integer("employees", min_value=0, max_value=2_147_483_647),
            "A whole number, 0 or more",
        ),
        (fields.Integer("n", min_value=1, max_value=10), "A whole number from 1 to 10"),
        (fields.Integer("n", max_value=10), "A whole number, 10 or less"),
        (fields.Integer("n"), "A whole number"),
        (fields.Date("founded", allow_future=False), "A date as YYYY-MM-DD, not in the future"),
        (fields.Date("due"), "A date as YYYY-MM-DD"),
        (fields.Timestamp("updated_at"), "A date and time, such as 2024-05-01T12:00:00Z"),
        (
            fields.Reference("org", target="organization"),
            "The external id of a organization from the same source, up to 255 characters",
        ),
        (fields.Boolean("active"), "Yes or no (true/false, 1/0, y/n and on/off work too)"),
        (
            fields.Decimal("price", max_digits=12, decimal_places=2),
            "A number with up to 2 decimal places, up to 10 digits before the point",
        ),
        (
            fields.Decimal("price", max_digits=8, decimal_places=2, min_value=0),
            "A number with up to 2 decimal places, 0 or more, up to 6 digits before the point",
        ),
        (
            fields.Decimal("rate", max_digits=5, decimal_places=2, min_value=0, max_value=100),
            "A number with up to 2 decimal places, from 0 to 100",
        ),
        (
            fields.Decimal("share", max_digits=3, decimal_places=3, required=True),
            "Required: a number with up to 3 decimal places, with no digits before the point "
            "(such as 0.25)",
        ),
        (
            fields.Decimal("n", max_digits=4, decimal_places=0, max_value=10),
            "A whole number, 10 or less, up to 4 digits before the point",
        ),
        (fields.Decimal("x", decimal_places=1), "A number with up to 1 decimal place"),
        (fields.Decimal("x"), "A number"),
        (
            fields.Choice("category", choices=[("hw", "Hardware"), ("sw", "Software")]),
            "One of: hw, sw",
        ),
        (
            fields.Choice("size", choices=[1, 2, 3], required=True),
            "Required: one of: 1, 2, 3",
        ),
        (
            fields.Choice("n", choices=[str(n) for n in range(25)]),
            "One of: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … (15 more)",
        ),
    ],
)
def test_each_field_type_has_a_hint_in_words(field, hint):
    assert hints.field_hint(field.spec()) == hint


def test_no_hint_of_a_declared_target_reads_like_code():
    for name in registry.names():
        for spec in registry.get(name).spec()["fields"]:
            hint = hints.field_hint(spec)
            assert "_" not in hint.replace(spec["name"], "") or spec["type"] == "reference", hint
            assert "2147483647" not in hint and "False" not in hint and "True" not in hint


@pytest.mark.parametrize(
    "value, message",
    [
        ("Germany", "Enter the two-letter ISO 3166-1 country code: DE for Germany."),
        ("united states", "Enter the two-letter ISO 3166-1 country code: US for United States."),
        ("DEU", "Enter the two-letter ISO 3166-1 country code: DE for Germany."),
        ("UK", "Enter the two-letter ISO 3166-1 country code: GB for United Kingdom."),
        ("uk", "Enter the two-letter ISO 3166-1 country code: GB for United Kingdom."),
        ("EL", "Enter the two-letter ISO 3166-1 country code: GR for Greece."),  # the EU's code
        ("Atlantis", fields.MSG_COUNTRY),
        ("XX", fields.MSG_COUNTRY),
        ("x" * 500, fields.MSG_COUNTRY),
    ],
)
def test_a_country_name_gets_its_code_suggested(value, message):
    _, errors = fields.validate_row([fields.Country("country")], {"country": value})
    assert errors == [{"field": "country", "code": fields.INVALID_CHOICE, "message": message}]


def test_a_country_code_in_any_case_is_stored_upper_case():
    clean, errors = fields.validate_row([fields.Country("country")], {"country": "de"})
    assert (clean, errors) == ({"country": "DE"}, [])


def test_a_model_targets_decimal_and_choice_fields_have_hints_in_words():
    """As ingest.model_fields derives them from a model (tests/targetapp)."""
    specs = {spec["name"]: spec for spec in registry.get("product").spec()["fields"]}
    assert hints.field_hint(specs["price"]).endswith(
        "a number with up to 2 decimal places, 0 or more, up to 6 digits before the point"
    )
    assert hints.field_hint(specs["category"]).endswith("one of: hardware, software, service")
    assert hints.field_hint(specs["in_stock"]).lower().startswith("yes or no")
