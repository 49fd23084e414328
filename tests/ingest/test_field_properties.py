"""Property tests (hypothesis) for the field types and the row check: any
string gives a value or a FieldError, never another exception. One value
that crashed a parser used to fail its whole file, and every replay of it."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest import fields as rules
from ingest import registry

TARGETS = [registry.get("organization"), registry.get("contact")]
FIELDS = [(target.name, field) for target in TARGETS for field in target.fields]
FIELD_IDS = [f"{target}.{field.name}" for target, field in FIELDS]

# Every code point, lone surrogates, NUL and other control characters included.
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
OFFSETS = [
    "Z",
    "z",
    "+00:00",
    "+14:00",
    "-14:00",
    "+23:59",
    "-23:59",
    "-05:00",
    "+0530",
    " UTC",
    "",
]
PIECES = [
    "0000",
    "0001",
    "9999",
    "10000",
    "1",
    "01",
    "12",
    "13",
    "31",
    "32",
    "29",
    "-",
    "--",
    "T",
    "t",
    " ",
    ":",
    ".",
    ",",
    "+",
    "e",
    "E",
    "inf",
    "nan",
    "0" * 30,
    "9" * 30,
    "٣",
    "１",
    "\x00",
    "\x1b",
    "\ud800",
    "\udfff",
    "(0)",
    "@",
    "://",
    "www.",
    "xn--",
    ".com",
    "+49",
    "Z",
    "W",
    "W53",
    "-7",
    "999999999999999999999",
]


def date_like() -> st.SearchStrategy[str]:
    """Dates and times in every shape, at the ends of the calendar too."""
    moments = st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    )
    with_offset = st.tuples(moments, st.sampled_from(OFFSETS), st.sampled_from(["T", " "])).map(
        lambda parts: parts[0].isoformat(sep=parts[2]) + parts[1]
    )
    dates = st.dates().map(dt.date.isoformat)
    pieces = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
    return with_offset | dates | pieces


def number_like() -> st.SearchStrategy[str]:
    return (
        st.integers().map(str)
        | st.floats().map(str)
        | st.decimals().map(str)
        | st.from_regex(r"[+-]?[0-9]{0,40}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,4})?", fullmatch=True)
    )


def any_string() -> st.SearchStrategy[str]:
    return st.text(ANY_CHARACTER, max_size=60) | date_like() | number_like()


ROWS_SO_FAR = st.fixed_dictionaries(
    {}, optional={"country": st.sampled_from(["DE", "US", "GB", None, "XX"])}
)


@pytest.mark.parametrize("target, field", FIELDS, ids=FIELD_IDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=any_string(), row=ROWS_SO_FAR)
@example(raw="0001-01-01T00:00:00+14:00", row={})
@example(raw="9999-12-31T23:59:59-05:00", row={})
@example(raw="9999-12-31", row={})
@example(raw="X\ud800Y", row={"country": "DE"})
def test_a_field_gives_a_value_or_a_field_error(target, field, raw, row):
    raw = rules.trim(raw)
    if not raw:
        return  # the row check never calls clean with an empty value
    try:
        field.clean(raw, row)
    except rules.FieldError as exc:
        assert exc.code in rules.RULE_CODES and exc.message


@pytest.mark.parametrize("target", TARGETS, ids=[target.name for target in TARGETS])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_row_check_gives_values_and_errors(target, data):
    values = st.none() | any_string() | st.integers() | st.floats() | st.booleans()
    payload = data.draw(
        st.fixed_dictionaries({}, optional=dict.fromkeys(target.field_names, values))
    )
    clean, errors, _ = rules.compile_row_check(target.fields)(payload)
    assert set(clean) == set(target.field_names)
    for error in errors:
        assert error["field"] in target.field_names and error["code"] in rules.RULE_CODES
        assert clean[error["field"]] is None


class Exploding(rules.Field):
    type_name = "exploding"

    def clean(self, raw, row):
        raise OverflowError("a parser's own bug")


def test_an_unexpected_exception_in_a_field_quarantines_the_row_not_the_run(caplog):
    check = rules.compile_row_check([rules.ExternalId(), Exploding("odd"), rules.Text("name")])
    with caplog.at_level(logging.ERROR, logger="ingest.fields"):
        clean, errors, _ = check({"external_id": "1", "odd": "x", "name": "Acme"})
    assert errors == [rules.error("odd", rules.INVALID_FORMAT, rules.MSG_UNREADABLE)]
    assert clean == {"external_id": "1", "odd": None, "name": "Acme"}
    assert "'odd'" in caplog.text and "OverflowError" in caplog.text
