"""What a field wants, in a person's words, from its spec (``Field.spec()``,
also what the API's targets/ endpoint lists): the editor's help under each
field ("a date as YYYY-MM-DD, not in the future", "a whole number, 0 or
more", "Required: text, up to 32 characters")."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

# The largest value an integer column holds: a limit of the storage, not of
# the data, so a hint does not mention it.
INT32_MAX = 2_147_483_647
# Types whose length limit a person needs to know (for the others it only
# guards the parser: no date or number is 40 characters long).
_TEXT_TYPES = ("text", "external_id", "reference", "email", "url", "phone")
_TYPE_HINTS = {
    "text": "text",
    "external_id": "the source system's id for this row",
    "email": "an e-mail address",
    "url": "a web address (https:// is added when it is left out)",
    "country": "a two-letter ISO country code, such as DE or US",
    "phone": "a phone number, with + and its country code or national for the row's country",
    "datetime": "a date and time, such as 2024-05-01T12:00:00Z",
    "boolean": "yes or no (true/false, 1/0, y/n and on/off work too)",
}
# How many of a choice field's values its hint lists before "…".
_HINT_CHOICES = 10


def _decimal_hint(constraints: Mapping[str, Any]) -> str:
    """ "a number with up to 2 decimal places, 0 or more, up to 10 digits
    before the point": the places, the bounds, and the digits the column
    holds unless both bounds already keep a value within them."""
    places = constraints.get("decimal_places")
    if places == 0:
        what = "a whole number"
    elif places is None:
        what = "a number"
    else:
        what = f"a number with up to {places} decimal place{'' if places == 1 else 's'}"
    low, high = constraints.get("min_value"), constraints.get("max_value")
    if low is not None and high is not None:
        what += f", from {low} to {high}"
    elif low is not None:
        what += f", {low} or more"
    elif high is not None:
        what += f", {high} or less"
    digits = constraints.get("max_digits")
    if digits is not None:
        whole = digits - (places or 0)
        inside = (
            low is not None
            and high is not None
            and max(abs(decimal.Decimal(low)), abs(decimal.Decimal(high))) < 10**whole
        )
        if not inside:
            what += (
                f", up to {whole} digit{'' if whole == 1 else 's'} before the point"
                if whole
                else ", with no digits before the point (such as 0.25)"
            )
    return what


def _choice_hint(constraints: Mapping[str, Any]) -> str:
    """ "one of: hw, sw, services": the values as stored (their labels are
    accepted too, and the error message lists them), the first ten."""
    values = [str(value) for value in constraints.get("choices") or [] if str(value)]
    what = "one of: " + ", ".join(values[:_HINT_CHOICES])
    if len(values) > _HINT_CHOICES:
        what += f", … ({len(values) - _HINT_CHOICES} more)"
    return what


def field_hint(spec: Mapping[str, Any]) -> str:
    """What a field wants, in a person's words, from its spec (``Field.spec()``,
    also what the API's targets/ endpoint lists): "a date, not in the future",
    "a whole number, 0 or more", "required; text, up to 32 characters"."""
    kind = spec["type"]
    constraints = spec.get("constraints") or {}
    if kind == "integer":
        low, high = constraints.get("min_value"), constraints.get("max_value")
        if high is not None and high >= INT32_MAX:
            high = None
        if low is not None and high is not None:
            what = f"a whole number from {low} to {high}"
        elif low is not None:
            what = f"a whole number, {low} or more"
        elif high is not None:
            what = f"a whole number, {high} or less"
        else:
            what = "a whole number"
    elif kind == "date":
        what = "a date as YYYY-MM-DD"
        if constraints.get("allow_future") is False:
            what += ", not in the future"
    elif kind == "reference":
        what = f"the external id of a {constraints.get('target', 'record')} from the same source"
    elif kind == "decimal":
        what = _decimal_hint(constraints)
    elif kind == "choice":
        what = _choice_hint(constraints)
    else:
        what = _TYPE_HINTS.get(kind, kind)
    limit = constraints.get("max_length")
    if limit and kind in _TEXT_TYPES:
        what += f", up to {limit} characters"
    return f"Required: {what}" if spec.get("required") else what[0].upper() + what[1:]
