"""Typed field specs: each parses one trimmed raw string into a Python value or
raises FieldError with a stable rule code and a message.

The pipeline, the admin editor and the API's validate endpoint all validate
through ``validate_row`` below, so a payload gets the same words everywhere.
Fields are built once per target and reused for every row: anything costly
(regexes, reference tables) is prepared at construction or import time.

Why one module of this length: it is the single source of every rule code
and message a steward, an integration or the pipeline reads; kept together,
a message and the check that raises it are reviewed side by side.
"""

from __future__ import annotations

import calendar
import datetime as dt
import decimal
import functools
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import phonenumbers
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.core.validators import EmailValidator, URLValidator

logger = logging.getLogger(__name__)

# Rule codes (stable: filters, API and metrics use them).
REQUIRED = "required"
INVALID_FORMAT = "invalid_format"
INVALID_CHOICE = "invalid_choice"
OUT_OF_RANGE = "out_of_range"
TOO_LONG = "too_long"
UNKNOWN_REFERENCE = "unknown_reference"
DUPLICATE_IN_FILE = "duplicate_in_file"
MALFORMED_ROW = "malformed_row"
RULE_CODES = (
    REQUIRED,
    INVALID_FORMAT,
    INVALID_CHOICE,
    OUT_OF_RANGE,
    TOO_LONG,
    UNKNOWN_REFERENCE,
    DUPLICATE_IN_FILE,
    MALFORMED_ROW,
)

# Messages.
MSG_REQUIRED = "This field is required."
MSG_TOO_LONG = "Ensure this value has at most {limit} characters (it has {length})."
MSG_NUL = "The value contains a NUL character, which cannot be stored."
MSG_CONTROL = (
    "The value contains a control character (such as ESC or BEL), which text here cannot hold."
)
MSG_SURROGATE = (
    "The value contains half of a UTF-16 surrogate pair (such as \\ud800), which is not text."
)
MSG_UNREADABLE = "The value could not be read as this field's type."
MSG_EMAIL = "Enter a valid email address."
MSG_URL = "Enter a valid URL."
MSG_COUNTRY = "Enter a two-letter ISO 3166-1 country code (for example DE or us)."
MSG_COUNTRY_NAMED = "Enter the two-letter ISO 3166-1 country code: {code} for {name}."
MSG_PHONE = "Enter a valid phone number."
MSG_PHONE_NO_REGION = "Enter the phone number with its + country code, or give a valid country."
MSG_PHONE_INTERNATIONAL = "Enter the phone number with its + country code."
MSG_PHONE_AREA_CODE = "Enter the phone number with its area code, or with + and its country code."
MSG_PHONE_CALLING_CODE = (
    "Enter the phone number with + and its country calling code, such as +49 30 1234567 "
    "(no 00 after the +)."
)
MSG_INTEGER = "Enter a whole number."
MSG_INTEGER_GROUPED = (
    "Enter a whole number without a thousands separator: {value} could be {whole} or {thousands}."
)
MSG_INTEGER_COMMAS = "Enter a whole number without a thousands separator: {whole}, not {value}."
MSG_MIN = "Ensure this value is greater than or equal to {limit}."
MSG_MAX = "Ensure this value is less than or equal to {limit}."
MSG_DECIMAL = "Enter a number such as 1234.56: a point before the decimals, no thousands separator."
MSG_DECIMAL_PLACES = "Ensure there are no more than {limit} digits after the decimal point."
MSG_DECIMAL_WHOLE = "Ensure there are no more than {limit} digits before the decimal point."
MSG_BOOLEAN = "Enter yes or no (true/false, 1/0, y/n and on/off work too)."
MSG_CHOICE = "Select one of: {choices}."
MSG_DATE = "Enter a valid date as YYYY-MM-DD."
MSG_DATE_DAYS = "{value} is not a date: {month} {year} has {days} days."
MSG_DATE_CALENDAR = "{value} is not a day of the calendar."
MSG_FUTURE_DATE = "The date cannot be in the future."
MSG_DATETIME = "Enter a valid ISO 8601 date and time, for example 2024-05-01T12:00:00Z."
MSG_DATETIME_RANGE = "The date and time is outside the years 1 to 9999 once converted to UTC."
MSG_FUTURE_DATETIME = "The date and time is in the future (more than {skew} after now)."
MSG_UNKNOWN_REFERENCE = "No {target} with external id {value!r} is known for this source."
MSG_DUPLICATE_IN_FILE = "External id {external_id!r} appears earlier in this file (row {first_row}) with different values."


class FieldError(Exception):
    """One field's problem; ``code`` is a stable rule code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Field:
    """A target field: a column in the file and (usually) one on the model.

    ``column`` names the model attribute it fills; None means the field only
    steers the import (external_id, updated_at).
    """

    type_name = "text"

    def __init__(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        column: str | None = "",
        help_text: str = "",
    ) -> None:
        self.name = name
        self.required = required
        self.max_length = max_length
        self.column = name if column == "" else column
        self.help_text = help_text

    def clean(self, raw: str, row: Mapping[str, Any]) -> Any:
        """Parse a trimmed, non-empty value. ``row`` holds the values
        cleaned so far (fields declared earlier)."""
        return raw

    def constraints(self) -> dict[str, Any]:
        return {"max_length": self.max_length} if self.max_length else {}

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "required": self.required,
            "constraints": self.constraints(),
            "help_text": self.help_text,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Text(Field):
    pass


class ExternalId(Field):
    type_name = "external_id"

    def __init__(self, name: str = "external_id", **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("column", None)
        super().__init__(name, **kwargs)


_email_validator = EmailValidator()
# Plain addresses this pattern accepts are valid for EmailValidator too, at a
# tenth of its cost; anything else goes to EmailValidator.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.IGNORECASE,
)


# The same pattern for ASCII letters only, without IGNORECASE: what it accepts
# the pattern above accepts too, in two thirds of the time.
_ASCII_EMAIL = re.compile(_PLAIN_EMAIL.pattern.replace("a-z", "a-zA-Z"))


class Email(Field):
    type_name = "email"

    def __init__(self, name: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(name, **kwargs)

    def clean(self, raw: str, row: Mapping[str, Any]) -> str:
        if _ASCII_EMAIL.fullmatch(raw) or _PLAIN_EMAIL.fullmatch(raw):
            local, _, domain = raw.rpartition("@")
            return f"{local}@{domain.lower()}"
        try:
            _email_validator(raw)
        except ValidationError:
            raise FieldError(INVALID_FORMAT, MSG_EMAIL) from None
        local, _, domain = raw.rpartition("@")
        return f"{local}@{domain.lower()}"


_url_validator = URLValidator(schemes=["http", "https"])
# Plain ASCII URLs this pattern accepts are valid for URLValidator too; it
# costs a microsecond where URLValidator costs ~80. Anything else (IDN, IPs)
# goes to URLValidator.
_PLAIN_URL = re.compile(
    r"https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::[0-9]{1,5})?(?:[/?#][!-~]*)?",
    re.IGNORECASE,
)


# As for e-mail: the same pattern for ASCII letters only, checked first.
_ASCII_URL = re.compile(_PLAIN_URL.pattern.replace("a-z", "a-zA-Z"))


class URL(Field):
    """An http(s) URL. One written without its scheme (``www.example.com``,
    as CRM and spreadsheet exports write websites) gets ``https://``, as
    Django's forms.URLField does; an address with ``@`` in it (an e-mail in
    the wrong column) does not."""

    type_name = "url"

    def __init__(self, name: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(name, **kwargs)

    def clean(self, raw: str, row: Mapping[str, Any]) -> str:
        if "://" not in raw and "@" not in raw:
            raw = "https://" + raw
            if self.max_length is not None and len(raw) > self.max_length:
                raise FieldError(
                    TOO_LONG, MSG_TOO_LONG.format(limit=self.max_length, length=len(raw))
                )
        if _ASCII_URL.fullmatch(raw) or _PLAIN_URL.fullmatch(raw):
            return raw
        try:
            _url_validator(raw)
        except ValidationError:
            raise FieldError(INVALID_FORMAT, MSG_URL) from None
        return raw


COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)
# Longer than any country's name, official name or code pycountry knows.
COUNTRY_LOOKUP_CHARS = 80


# Two-letter codes in use that ISO 3166-1 reserves for something else: the
# United Kingdom's domain .uk and the EU's code for Greece. Suggested, never
# accepted: the design fixes ISO 3166-1 alpha-2.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


@functools.lru_cache(maxsize=1024)
def country_suggestion(value: str) -> tuple[str, str] | None:
    """The (alpha-2 code, name) of a country written by its name, official
    name, three-letter code or a code in use outside ISO ("Germany", "DEU",
    "UK"), for the message; None when pycountry does not know it. Cached: a
    file repeats its values."""
    if len(value) > COUNTRY_LOOKUP_CHARS:
        return None
    try:
        country = pycountry.countries.lookup(COUNTRY_ALIASES.get(value.upper(), value))
    except LookupError:
        return None
    return country.alpha_2, country.name


class Country(Field):
    """An ISO 3166-1 alpha-2 code in any case, stored upper-case. A country
    written by its name is refused with its code suggested, by the same
    message wherever a value is checked (pipeline, editor, API)."""

    type_name = "country"

    def clean(self, raw: str, row: Mapping[str, Any]) -> str:
        code = raw.upper()
        if code in COUNTRY_CODES:
            return code
        suggestion = country_suggestion(raw)
        if suggestion is not None:
            raise FieldError(
                INVALID_CHOICE, MSG_COUNTRY_NAMED.format(code=suggestion[0], name=suggestion[1])
            )
        raise FieldError(INVALID_CHOICE, MSG_COUNTRY)

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {"choices": "ISO 3166-1 alpha-2, any case"}


_PHONE_PUNCTUATION = str.maketrans("", "", " .-()\u00a0")

# The length of the country calling code a number written with + starts
# with, by its first three digits: calling codes are prefix-free (1, 7, 20,
# 212, 49, 800, ...), so three digits always tell. None: no calling code.
_CALLING_CODE_LENGTH = {
    f"{code}{fill:0{3 - len(str(code))}}"[:3]: len(str(code))
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    for fill in range(10 ** (3 - len(str(code))))
}


@functools.cache
def _reads_a_trunk_prefix(calling_code: str) -> bool:
    """Whether phonenumbers takes a trunk prefix off a number of this calling
    code (the 0 of +49 030): not Italy's, whose leading 0 is part of the
    number, so +39 06 … stays on the cheap path."""
    code = int(calling_code)
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is not None and metadata.national_prefix_for_parsing:
            return True
    return False


class Phone(Field):
    """Stored as E.164. A number written with ``+`` is accepted by its shape
    (7–15 digits), without the ``(0)`` that means "dial 0 only from inside
    the country" (``+44 (0)20 …`` is +4420…), when its digits start with a
    country calling code and no 0 follows it; the few others go through
    phonenumbers, which takes off a trunk 0 written without its brackets
    (``+49 030 …`` is +4930…). A national number is parsed with the row's
    country and must be a valid number there: one without its area code is
    refused."""

    type_name = "phone"

    def __init__(self, name: str, *, region_field: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(name, **kwargs)
        self.region_field = region_field

    def clean(self, raw: str, row: Mapping[str, Any]) -> str:
        if raw[0] == "+":
            digits = raw[1:].replace("(0)", "", 1).translate(_PHONE_PUNCTUATION)
            if not (digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15):
                raise FieldError(INVALID_FORMAT, MSG_PHONE)
            length = _CALLING_CODE_LENGTH.get(digits[:3])
            if length is None:
                # +999 or +0049: phonenumbers knows no such calling code either.
                raise FieldError(INVALID_FORMAT, MSG_PHONE_CALLING_CODE)
            if digits[length] != "0" or not _reads_a_trunk_prefix(digits[:length]):
                return "+" + digits
            return _e164("+" + digits, None)
        if not self.region_field:
            raise FieldError(INVALID_FORMAT, MSG_PHONE_INTERNATIONAL)
        region = row.get(self.region_field)
        if not region:
            raise FieldError(INVALID_FORMAT, MSG_PHONE_NO_REGION)
        return _e164(raw, region)


def _e164(raw: str, region: str | None) -> str:
    """``raw`` parsed by phonenumbers (with ``region`` for a national number)
    and written in E.164, or FieldError. Costs ~25 µs: only national numbers
    and the rare ``+`` numbers the cheap path cannot take come here.

    A national number must be a whole one: "possible" alone lets through a
    local number dialled without its area code (US 555-0100, GB 7946 0958:
    "possible local only"; DE 1234567: possible, but no German number),
    which would be stored as a wrong international one (+15550100)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise FieldError(INVALID_FORMAT, MSG_PHONE) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if region is not None and (
        possible == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
        or (
            possible == phonenumbers.ValidationResult.IS_POSSIBLE
            # The row's country first: is_valid_number tries each country
            # of a shared calling code (+44: GB, GG, IM, JE), at twice the cost.
            and not phonenumbers.is_valid_number_for_region(number, region)
            and not phonenumbers.is_valid_number(number)
        )
    ):
        raise FieldError(INVALID_FORMAT, MSG_PHONE_AREA_CODE)
    if not (8 <= len(e164) <= 16 and possible == phonenumbers.ValidationResult.IS_POSSIBLE):
        raise FieldError(INVALID_FORMAT, MSG_PHONE)
    return e164


# A whole number; a zero fraction ("1200.0", as spreadsheets and float
# columns write whole numbers) is accepted, as Django's IntegerField does.
_INTEGER = re.compile(r"([+-]?[0-9]+)(?:\.0*)?")
# ... except a point then three zeros after one to three digits: "1.000" and
# "250.000" are how German, Dutch or Italian exports group thousands.
_GROUPED_THOUSANDS = re.compile(r"[+-]?[1-9][0-9]{0,2}\.000")
# Thousands grouped by commas, as English-language exports write them
# ("1,200", "12,345,678"): refused as Django's IntegerField refuses them
# (1,200 is 1.2 in half the world), with the separator named.
_COMMA_GROUPED = re.compile(r"[+-]?[1-9][0-9]{0,2}(?:,[0-9]{3})+")


class Integer(Field):
    type_name = "integer"

    def __init__(
        self,
        name: str,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(name, **kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def clean(self, raw: str, row: Mapping[str, Any]) -> int:
        match = _INTEGER.fullmatch(raw)
        if match is None:
            if "," in raw and _COMMA_GROUPED.fullmatch(raw):
                whole = int(raw.replace(",", ""))
                raise FieldError(INVALID_FORMAT, MSG_INTEGER_COMMAS.format(whole=whole, value=raw))
            raise FieldError(INVALID_FORMAT, MSG_INTEGER)
        value = int(match.group(1))
        if raw.endswith(".000") and _GROUPED_THOUSANDS.fullmatch(raw):
            raise FieldError(
                INVALID_FORMAT,
                MSG_INTEGER_GROUPED.format(value=raw, whole=value, thousands=value * 1000),
            )
        if self.min_value is not None and value < self.min_value:
            raise FieldError(OUT_OF_RANGE, MSG_MIN.format(limit=self.min_value))
        if self.max_value is not None and value > self.max_value:
            raise FieldError(OUT_OF_RANGE, MSG_MAX.format(limit=self.max_value))
        return value

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {
            key: value
            for key, value in (("min_value", self.min_value), ("max_value", self.max_value))
            if value is not None
        }


# A date, or a date at midnight as database and spreadsheet exports write a
# date column ("2003-02-01 00:00:00", "2003-02-01T00:00:00.000Z"): the date.
_ISO_DATE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2}| UTC)?)?",
    re.IGNORECASE,
)
# The current UTC date and the span of time.time() it holds for.
_utc_day: tuple[dt.date, float, float] = (dt.date.min, 0.0, 0.0)


def utc_today() -> dt.date:
    """``dt.datetime.now(dt.timezone.utc).date()``, at a fifth of the cost:
    the clock is read as a float and compared with the current day's span."""
    global _utc_day
    now = time.time()
    day, start, end = _utc_day
    if start <= now < end:
        return day
    day = dt.datetime.fromtimestamp(now, dt.UTC).date()
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
    _utc_day = (day, start, start + 86400.0)
    return day


class Date(Field):
    """An ISO 8601 date; the same date at midnight with a time is accepted."""

    type_name = "date"

    def __init__(self, name: str, *, allow_future: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(name, **kwargs)
        self.allow_future = allow_future

    def clean(self, raw: str, row: Mapping[str, Any]) -> dt.date:
        match = _ISO_DATE.fullmatch(raw)
        if match is None:
            raise FieldError(INVALID_FORMAT, MSG_DATE)
        try:
            value = dt.date.fromisoformat(match.group(1))
        except ValueError:
            raise FieldError(INVALID_FORMAT, not_a_day(match.group(1))) from None
        if not self.allow_future and value > utc_today():
            raise FieldError(OUT_OF_RANGE, MSG_FUTURE_DATE)
        return value

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {"format": "YYYY-MM-DD", "allow_future": self.allow_future}


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def not_a_day(value: str) -> str:
    """What is wrong with ``value``, YYYY-MM-DD in shape but no date
    ("2020-02-30"): said so, rather than asking for the format it has."""
    year, month, day = int(value[:4]), int(value[5:7]), int(value[8:10])
    if year >= 1 and 1 <= month <= 12 and day >= 1:
        days = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]
        return MSG_DATE_DAYS.format(value=value, month=_MONTHS[month - 1], year=year, days=days)
    return MSG_DATE_CALENDAR.format(value=value)


class Decimal(Field):
    """A decimal number written with a point (``1234.56``, ``-0.5``), as a
    model's ``DecimalField`` holds it: at most ``decimal_places`` digits after
    the point (trailing zeros aside) and ``max_digits`` in all. Stored with
    exactly ``decimal_places`` decimals, so ``9.9`` and ``9.90`` are one value."""

    type_name = "decimal"

    def __init__(
        self,
        name: str,
        *,
        max_digits: int | None = None,
        decimal_places: int | None = None,
        min_value: decimal.Decimal | int | None = None,
        max_value: decimal.Decimal | int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(name, **kwargs)
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self.min_value = None if min_value is None else decimal.Decimal(min_value)
        self.max_value = None if max_value is None else decimal.Decimal(max_value)
        self.quantum = (
            None if decimal_places is None else decimal.Decimal(1).scaleb(-decimal_places)
        )
        self.whole_digits = None if max_digits is None else max_digits - (decimal_places or 0)

    def clean(self, raw: str, row: Mapping[str, Any]) -> decimal.Decimal:
        if _DECIMAL.fullmatch(raw) is None:
            raise FieldError(INVALID_FORMAT, MSG_DECIMAL)
        value = decimal.Decimal(raw)
        if self.quantum is not None:
            rounded = value.quantize(self.quantum, context=_WIDE)
            if rounded != value:
                raise FieldError(OUT_OF_RANGE, MSG_DECIMAL_PLACES.format(limit=self.decimal_places))
            value = rounded
        if self.whole_digits is not None and value and value.adjusted() + 1 > self.whole_digits:
            raise FieldError(OUT_OF_RANGE, MSG_DECIMAL_WHOLE.format(limit=self.whole_digits))
        if self.min_value is not None and value < self.min_value:
            raise FieldError(OUT_OF_RANGE, MSG_MIN.format(limit=self.min_value))
        if self.max_value is not None and value > self.max_value:
            raise FieldError(OUT_OF_RANGE, MSG_MAX.format(limit=self.max_value))
        return value

    def constraints(self) -> dict[str, Any]:
        limits = (
            ("max_digits", self.max_digits),
            ("decimal_places", self.decimal_places),
            ("min_value", None if self.min_value is None else str(self.min_value)),
            ("max_value", None if self.max_value is None else str(self.max_value)),
        )
        return super().constraints() | {key: value for key, value in limits if value is not None}


# Digits with an optional point; no exponent, no thousands separator, no
# comma for a point (12,50 could be twelve and a half or 1,250).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Quantizing a value of up to 64 characters needs more than the default 28 digits.
_WIDE = decimal.Context(prec=100)


_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})


class Boolean(Field):
    """Yes or no, in the words exports use: true/false (JSON Lines and
    spreadsheets' boolean cells), 1/0, yes/no, y/n, on/off, in any case."""

    type_name = "boolean"

    def __init__(self, name: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", None)
        super().__init__(name, **kwargs)

    def clean(self, raw: str, row: Mapping[str, Any]) -> bool:
        word = raw.lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise FieldError(INVALID_FORMAT, MSG_BOOLEAN)

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {"choices": ["true", "false"]}


_MISSING = object()
# How many choices a message lists before it says how many more there are.
_SHOWN_CHOICES = 20


class Choice(Field):
    """One of a fixed set of values, as a model field's ``choices`` gives
    them (``[(value, label), ...]``, or plain values). The value is accepted
    as written or in any case, and so is its label ("Hardware" for ``hw``);
    what is stored is the value, of its own type (an int for an integer field)."""

    type_name = "choice"

    def __init__(self, name: str, *, choices: Sequence[Any], **kwargs: Any) -> None:
        kwargs.setdefault("max_length", None)
        super().__init__(name, **kwargs)
        self.choices = [
            (choice[0], str(choice[1])) if isinstance(choice, tuple) else (choice, str(choice))
            for choice in choices
        ]
        if not self.choices:
            raise ValueError(f"Choice field {name!r} needs at least one choice.")
        self.exact = {str(value): value for value, _ in self.choices}
        self.folded: dict[str, Any] = {}
        for value, _ in self.choices:
            self.folded.setdefault(str(value).casefold(), value)
        for value, label in self.choices:
            self.folded.setdefault(label.casefold(), value)
        shown = [
            str(value) if str(value) == label else f"{value} ({label})"
            for value, label in self.choices[:_SHOWN_CHOICES]
        ]
        if len(self.choices) > _SHOWN_CHOICES:
            shown.append(f"… ({len(self.choices) - _SHOWN_CHOICES} more)")
        self.message = MSG_CHOICE.format(choices=", ".join(shown))

    def clean(self, raw: str, row: Mapping[str, Any]) -> Any:
        value = self.exact.get(raw, _MISSING)
        if value is _MISSING:
            value = self.folded.get(raw.casefold(), _MISSING)
            if value is _MISSING:
                raise FieldError(INVALID_CHOICE, self.message)
        return value

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {"choices": [str(value) for value, _ in self.choices]}


class DateTime(Field):
    """An ISO 8601 date-time, normalized to UTC. Naive values count as UTC,
    and so does a trailing " UTC" (as BigQuery and other exports write it).
    A model's ``DateTimeField`` gets this rule; the time that dates a row for
    survivorship is a ``Timestamp``."""

    type_name = "datetime"

    def __init__(self, name: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(name, **kwargs)

    def clean(self, raw: str, row: Mapping[str, Any]) -> dt.datetime:
        return parse_datetime(raw)

    def constraints(self) -> dict[str, Any]:
        return super().constraints() | {"format": "ISO 8601"}


def parse_datetime(raw: str) -> dt.datetime:
    """``raw`` (trimmed, not empty) as an aware datetime in UTC, or FieldError."""
    if not raw[:1].isdigit():
        raise FieldError(INVALID_FORMAT, MSG_DATETIME)
    if raw[-4:].upper() == " UTC":
        raw = raw[:-4] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise FieldError(INVALID_FORMAT, MSG_DATETIME) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        # 0001-01-01T00:00:00+14:00 is in year 0 in UTC, 9999-12-31T23:59:59-05:00 in year 10000.
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise FieldError(OUT_OF_RANGE, MSG_DATETIME_RANGE) from None


class Timestamp(DateTime):
    """The time that dates a row for survivorship (``updated_at``): a
    ``DateTime`` not later than now plus ``IMPORTER_MAX_FUTURE_SKEW``
    seconds: the most recent ``updated_at`` wins survivorship, so a
    far-future one would win against every later correction."""

    def clean(self, raw: str, row: Mapping[str, Any]) -> dt.datetime:
        value = parse_datetime(raw)
        # latest_allowed(), inlined: this runs for every timestamp of a file.
        now = time.time()
        start, latest = _latest_allowed
        if not start <= now < start + 1.0:
            start, latest = _latest_allowed_at(now)
        if value > latest:
            # A far-future time would win survivorship over every later correction.
            skew = settings.IMPORTER_MAX_FUTURE_SKEW
            raise FieldError(OUT_OF_RANGE, MSG_FUTURE_DATETIME.format(skew=describe_seconds(skew)))
        return value


# The latest timestamp accepted (now + IMPORTER_MAX_FUTURE_SKEW, to the
# second), and the second of time.time() it holds for: a datetime is made
# once a second, not once a value (reading a Django setting alone costs
# half a microsecond).
_NEVER = float("-inf")
_latest_allowed: tuple[float, dt.datetime] = (_NEVER, dt.datetime.max.replace(tzinfo=dt.UTC))


def latest_allowed() -> dt.datetime:
    """The latest timestamp a ``Timestamp`` accepts now (now plus
    ``IMPORTER_MAX_FUTURE_SKEW``, to the second)."""
    now = time.time()
    start, latest = _latest_allowed
    if not start <= now < start + 1.0:
        start, latest = _latest_allowed_at(now)
    return latest


def _latest_allowed_at(now: float) -> tuple[float, dt.datetime]:
    """The latest timestamp accepted in the second ``now`` falls in."""
    global _latest_allowed
    start = now // 1.0
    try:
        latest = dt.datetime.fromtimestamp(start, dt.UTC) + dt.timedelta(
            seconds=settings.IMPORTER_MAX_FUTURE_SKEW
        )
    except OverflowError:  # a skew past the year 9999: no limit
        latest = dt.datetime.max.replace(tzinfo=dt.UTC)
    _latest_allowed = (start, latest)
    return _latest_allowed


def _forget_latest_allowed(*, setting: str, **kwargs: Any) -> None:
    global _latest_allowed
    if setting == "IMPORTER_MAX_FUTURE_SKEW":
        _latest_allowed = (_NEVER, _latest_allowed[1])


setting_changed.connect(_forget_latest_allowed)


def describe_seconds(seconds: int) -> str:
    """A span as a person says it: "1 day", "6 hours", "90 seconds"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


class Reference(Field):
    """The external id of a record of another target from the same source.
    Its shape is checked here; the pipeline resolves it per chunk."""

    type_name = "reference"

    def __init__(self, name: str, *, target: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        super().__init__(name, **kwargs)
        self.target = target

    def constraints(self) -> dict[str, Any]:
        return {**super().constraints(), "target": self.target}


# What trimming takes off a value's ends: what str.strip() takes (Unicode
# whitespace), and the invisible characters that text copied from web pages
# and joined files carry: zero-width space, non-joiner and joiner, word
# joiner, byte order mark.
_BLANK = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u200b\u200c\u200d\u2060\ufeff"
)


def trim(value: str) -> str:
    """The value without surrounding blanks (``_BLANK``): how every value is
    trimmed before it is checked, hashed or used as an external id."""
    value = value.strip()
    return value if value.isascii() else value.strip(_BLANK)


def trimmed_hash(trimmed: Sequence[str]) -> str:
    """The payload hash of a row's values, trimmed and in field order: the
    same row with other whitespace or column order hashes the same. Defined
    here, next to ``trim``, so the row check's callers and the column-wise
    check (``ingest.columns``) hash alike."""
    return hashlib.blake2b("\x1f".join(trimmed).encode(), digest_size=16).hexdigest()


def error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


# What plain text (names, ids) cannot hold: C0 control characters and DEL
# (ESC starts terminal escape sequences; BEL is never meant). Tabs and line
# breaks stay: a quoted cell of a spreadsheet export may hold several lines
# (Alt+Enter in Excel), and around a value they are trimmed anyway.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Half of a UTF-16 surrogate pair (a JSON "\ud800" without its pair): no
# database can store it as UTF-8. Only searched for in non-ASCII values.
_SURROGATE = re.compile("[\ud800-\udfff]")

RowCheck = Callable[
    [Mapping[str, Any]], tuple[dict[str, Any], list[dict[str, str]], list[str] | None]
]


def compile_row_check(fields: Sequence[Field]) -> RowCheck:
    """Build, once per target, the function that validates a row.

    Per field it binds the name, limits and ``clean`` method into a tuple (no
    attribute look-ups or type checks per row) and skips the call for plain
    text, whose ``clean`` returns its input: plain text is checked for
    control characters and lone surrogates instead, which no parser would
    refuse; a parsed value for lone surrogates, and only when it is not
    ASCII. Besides the cleaned values and errors it returns the trimmed raw
    values in field order (None when a value was not a string), so the
    pipeline hashes the payload without trimming it a second time.
    """
    plans = [
        (
            field.name,
            field.required,
            field.max_length if field.max_length is not None else sys.maxsize,
            None if type(field).clean is Field.clean else field.clean,
        )
        for field in fields
    ]
    control = _CONTROL.search
    surrogate = _SURROGATE.search

    def check(
        payload: Mapping[str, Any],
    ) -> tuple[dict[str, Any], list[dict[str, str]], list[str] | None]:
        clean: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        trimmed: list[str] | None = []
        get = payload.get
        for name, required, max_length, clean_value in plans:
            raw = get(name)
            if raw.__class__ is not str:
                trimmed = None
                if raw is not None:
                    raw = str(raw)
            half_pair = None
            if raw:
                raw = raw.strip()  # trim(), inlined: this loop runs for every value of a file
                if not raw.isascii():
                    raw = raw.strip(_BLANK)
                    if clean_value is not None:
                        half_pair = surrogate(raw)
            else:
                raw = ""
            if trimmed is not None:
                trimmed.append(raw)
            if not raw:
                clean[name] = None
                if required:
                    errors.append(error(name, REQUIRED, MSG_REQUIRED))
                continue
            if len(raw) > max_length:
                clean[name] = None
                errors.append(
                    error(name, TOO_LONG, MSG_TOO_LONG.format(limit=max_length, length=len(raw)))
                )
                continue
            if clean_value is None:
                # Plain text: no parser would refuse a control character or a
                # lone surrogate. isprintable() is False for both (and for a
                # few harmless characters, such as a no-break space) and
                # costs a third of a regex search.
                if raw.isprintable():
                    clean[name] = raw
                elif surrogate(raw) is not None:
                    clean[name] = None
                    errors.append(error(name, INVALID_FORMAT, MSG_SURROGATE))
                elif control(raw) is not None:
                    clean[name] = None
                    errors.append(
                        error(name, INVALID_FORMAT, MSG_NUL if "\x00" in raw else MSG_CONTROL)
                    )
                else:
                    clean[name] = raw
                continue
            if half_pair is not None:
                clean[name] = None
                errors.append(error(name, INVALID_FORMAT, MSG_SURROGATE))
                continue
            if "\x00" in raw:
                clean[name] = None
                errors.append(error(name, INVALID_FORMAT, MSG_NUL))
                continue
            try:
                clean[name] = clean_value(raw, clean)
            except FieldError as exc:
                clean[name] = None
                errors.append(error(name, exc.code, exc.message))
            except Exception:
                # A parser's own bug must cost one row, never the run.
                logger.exception(
                    "The check of field %r failed unexpectedly; the row is quarantined.", name
                )
                clean[name] = None
                errors.append(error(name, INVALID_FORMAT, MSG_UNREADABLE))
        return clean, errors, trimmed

    return check


@functools.lru_cache(maxsize=64)
def _row_check(fields: tuple[Field, ...]) -> RowCheck:
    return compile_row_check(fields)


def validate_row(
    fields: Sequence[Field], payload: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Trim and clean every field of one row; return the cleaned values and
    every error found (not just the first)."""
    clean, errors, _ = _row_check(tuple(fields))(payload)
    return clean, errors
