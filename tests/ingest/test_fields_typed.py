"""The rules model fields need besides the demo targets': decimal, boolean,
choice and a plain date-time (ingest/fields.py). Each refuses with a stable
rule code and a message constant."""

import datetime as dt
import decimal

import pytest
import time_machine

from ingest import fields

PRICE = fields.Decimal("price", max_digits=6, decimal_places=2, min_value=0)
FLAG = fields.Boolean("in_stock")
KIND = fields.Choice("kind", choices=[("hw", "Hardware"), ("sw", "Software")])
WHEN = fields.DateTime("released_at")


def check(field, raw):
    clean, errors = fields.validate_row([field], {field.name: raw})
    return clean[field.name], [(e["code"], e["message"]) for e in errors]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19.9", decimal.Decimal("19.90")),
        (" 19.90 ", decimal.Decimal("19.90")),
        ("19.900", decimal.Decimal("19.90")),  # trailing zeros are no precision
        ("5", decimal.Decimal("5.00")),
        (".5", decimal.Decimal("0.50")),
        ("+0012.5", decimal.Decimal("12.50")),
        ("0", decimal.Decimal("0.00")),
        ("9999.99", decimal.Decimal("9999.99")),
    ],
)
def test_a_decimal_is_stored_with_its_decimal_places(raw, expected):
    value, errors = check(PRICE, raw)
    assert errors == [] and value == expected
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("12,50", fields.INVALID_FORMAT, fields.MSG_DECIMAL),
        ("1,234.50", fields.INVALID_FORMAT, fields.MSG_DECIMAL),
        ("1e3", fields.INVALID_FORMAT, fields.MSG_DECIMAL),
        ("NaN", fields.INVALID_FORMAT, fields.MSG_DECIMAL),
        ("€5", fields.INVALID_FORMAT, fields.MSG_DECIMAL),
        ("1.999", fields.OUT_OF_RANGE, fields.MSG_DECIMAL_PLACES.format(limit=2)),
        ("10000", fields.OUT_OF_RANGE, fields.MSG_DECIMAL_WHOLE.format(limit=4)),
        ("-0.01", fields.OUT_OF_RANGE, fields.MSG_MIN.format(limit=0)),
        ("1" * 65, fields.TOO_LONG, fields.MSG_TOO_LONG.format(limit=64, length=65)),
    ],
)
def test_a_bad_decimal_says_why(raw, code, message):
    value, errors = check(PRICE, raw)
    assert value is None and errors == [(code, message)]


def test_a_decimal_without_limits_takes_any_size():
    value, errors = check(fields.Decimal("x"), "1" * 50 + ".123456789")
    assert errors == [] and value == decimal.Decimal("1" * 50 + ".123456789")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("y", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("off", False),
        ("F", False),
    ],
)
def test_a_boolean_in_the_words_exports_use(raw, expected):
    assert check(FLAG, raw) == (expected, [])


@pytest.mark.parametrize("raw", ["maybe", "2", "ja", "yes please", "x" * 500])
def test_another_word_is_no_boolean(raw):
    assert check(FLAG, raw) == (None, [(fields.INVALID_FORMAT, fields.MSG_BOOLEAN)])


def test_an_empty_boolean_is_no_value_not_false():
    assert check(FLAG, "") == (None, [])
    assert fields.validate_row([fields.Boolean("b", required=True)], {"b": " "})[1] == [
        fields.error("b", fields.REQUIRED, fields.MSG_REQUIRED)
    ]


@pytest.mark.parametrize(
    ("raw", "expected"), [("hw", "hw"), ("HW", "hw"), ("hardware", "hw"), (" Software ", "sw")]
)
def test_a_choice_takes_its_value_or_label_in_any_case(raw, expected):
    assert check(KIND, raw) == (expected, [])


def test_another_value_is_an_invalid_choice_that_lists_the_choices():
    message = fields.MSG_CHOICE.format(choices="hw (Hardware), sw (Software)")
    assert check(KIND, "gadget") == (None, [(fields.INVALID_CHOICE, message)])


def test_a_long_list_of_choices_is_cut_short_in_the_message():
    field = fields.Choice("n", choices=[str(n) for n in range(25)])
    _, [(_, message)] = check(field, "x")
    assert message == fields.MSG_CHOICE.format(
        choices=", ".join(str(n) for n in range(20)) + ", … (5 more)"
    )


def test_a_choice_needs_choices():
    with pytest.raises(ValueError):
        fields.Choice("n", choices=[])


def test_a_date_time_may_be_in_the_future_unlike_the_survivorship_timestamp():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        value, errors = check(WHEN, "2030-05-01T12:00:00+02:00")
        assert errors == [] and value == dt.datetime(2030, 5, 1, 10, tzinfo=dt.UTC)
        _, errors = check(fields.Timestamp("updated_at"), "2030-05-01T12:00:00+02:00")
        assert [code for code, _ in errors] == [fields.OUT_OF_RANGE]


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("next tuesday", fields.INVALID_FORMAT, fields.MSG_DATETIME),
        ("0001-01-01T00:00:00+14:00", fields.OUT_OF_RANGE, fields.MSG_DATETIME_RANGE),
    ],
)
def test_a_bad_date_time_says_why(raw, code, message):
    assert check(WHEN, raw) == (None, [(code, message)])
