import datetime as dt

import pytest
import time_machine

from core.targets import OrganizationTarget
from ingest import fields
from ingest.registry import get

ORG = get("organization")


def check(payload):
    clean, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", **payload}
    )
    return clean, [(e["field"], e["code"]) for e in errors]


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"country": " de "}, "DE"),
        ({"country": "us"}, "US"),
    ],
)
def test_country_any_case(payload, expected):
    clean, errors = check(payload)
    assert errors == [] and clean["country"] == expected


@pytest.mark.parametrize(
    "phone, country, expected",
    [
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("+1 (415) 555-0132", "US", "+14155550132"),
        ("+49.30.1234567", "DE", "+49301234567"),
        (
            "+44 (0)20 7946 0958",
            "GB",
            "+442079460958",
        ),  # (0): the trunk prefix, not dialled from abroad
        ("+49 (0) 30 1234567", "DE", "+49301234567"),
        # A trunk 0 without its brackets: phonenumbers takes it off ...
        ("+49 030 1234567", "DE", "+49301234567"),
        ("+49 (030) 1234567", "DE", "+49301234567"),
        ("+36 06 1 234 5678", "HU", "+3612345678"),  # Hungary's trunk prefix is 06
        # ... but Italy's leading 0 is part of the number.
        ("+39 06 1234 5678", "IT", "+390612345678"),
        ("+390212345678", "IT", "+390212345678"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("01 42 68 53 00", "FR", "+33142685300"),
    ],
)
def test_phone_is_stored_in_e164(phone, country, expected):
    clean, errors = check({"phone": phone, "country": country})
    assert errors == [] and clean["phone"] == expected


@pytest.mark.parametrize(
    "phone", ["+12 34", "+1234567890123456", "+44 20 7946 095x", "hello", "12"]
)
def test_bad_phones_are_invalid_format(phone):
    assert check({"phone": phone})[1] == [("phone", "invalid_format")]


@pytest.mark.parametrize("phone", ["+0049 30 1234567", "+999 1234567", "+00 44 20 7946 0958"])
def test_a_phone_whose_digits_after_the_plus_are_no_calling_code_is_refused(phone):
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", "phone": phone}
    )
    assert errors == [
        {"field": "phone", "code": "invalid_format", "message": fields.MSG_PHONE_CALLING_CODE}
    ]


def test_a_plus_phone_with_a_trunk_0_is_refused_when_phonenumbers_refuses_it():
    assert check({"phone": "+49 0 12 34"})[1] == [("phone", "invalid_format")]


@pytest.mark.parametrize(
    "phone, country",
    [
        ("1234567", "DE"),  # possible, but no German number starts with 12
        ("555-0100", "US"),  # "possible local only": no area code
        ("7946 0958", "GB"),
    ],
)
def test_a_national_phone_without_its_area_code_is_refused(phone, country):
    # Stored, it would be a wrong international number: +491234567, +15550100.
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": country, "phone": phone}
    )
    assert errors == [
        {"field": "phone", "code": "invalid_format", "message": fields.MSG_PHONE_AREA_CODE}
    ]


def test_national_phone_without_a_valid_country_is_invalid_format():
    assert check({"phone": "020 7946 0958", "country": "XX"})[1] == [
        ("country", "invalid_choice"),
        ("phone", "invalid_format"),
    ]


def test_a_national_phone_of_a_target_without_a_country_asks_for_the_country_code():
    contact = get("contact")
    _, errors = fields.validate_row(
        contact.fields, {"external_id": "C", "last_name": "L", "phone": "030 1234567"}
    )
    assert errors == [
        {"field": "phone", "code": "invalid_format", "message": fields.MSG_PHONE_INTERNATIONAL}
    ]
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "O", "name": "N", "country": "", "phone": "030 1234567"}
    )
    assert {
        "field": "phone",
        "code": "invalid_format",
        "message": fields.MSG_PHONE_NO_REGION,
    } in errors


@pytest.mark.parametrize(
    "payload, error",
    [
        ({"name": ""}, ("name", "required")),
        ({"name": "   "}, ("name", "required")),
        ({"external_id": ""}, ("external_id", "required")),
        ({"name": "x" * 201}, ("name", "too_long")),
        ({"email": "nope"}, ("email", "invalid_format")),
        ({"website": "ftp//x"}, ("website", "invalid_format")),
        ({"country": "Germany"}, ("country", "invalid_choice")),
        ({"country": "XX"}, ("country", "invalid_choice")),
        ({"employees": "12a"}, ("employees", "invalid_format")),
        ({"employees": "1.5"}, ("employees", "invalid_format")),
        ({"employees": "1.01"}, ("employees", "invalid_format")),
        ({"employees": ".0"}, ("employees", "invalid_format")),
        ({"employees": "-1.0"}, ("employees", "out_of_range")),
        ({"employees": "-1"}, ("employees", "out_of_range")),
        ({"employees": "99999999999"}, ("employees", "out_of_range")),
        ({"founded": "31/12/2020"}, ("founded", "invalid_format")),
        ({"founded": "2020-02-30"}, ("founded", "invalid_format")),
        ({"founded": "2999-01-01"}, ("founded", "out_of_range")),
        ({"updated_at": "yesterday"}, ("updated_at", "invalid_format")),
        ({"name": "Nul\x00Byte"}, ("name", "invalid_format")),
    ],
)
def test_each_rule(payload, error):
    assert check(payload)[1] == [error]


def test_every_error_of_a_row_is_reported():
    _, errors = check({"name": "", "country": "ZZ", "email": "bad", "employees": "many"})
    assert errors == [
        ("name", "required"),
        ("country", "invalid_choice"),
        ("email", "invalid_format"),
        ("employees", "invalid_format"),
    ]


def test_values_are_trimmed_and_typed():
    clean, errors = check(
        {
            "name": "  Acme  ",
            "employees": " 42 ",
            "founded": "2001-02-03",
            "updated_at": "2024-05-01T12:00:00+02:00",
        }
    )
    assert errors == []
    assert clean["name"] == "Acme" and clean["employees"] == 42
    assert clean["founded"] == dt.date(2001, 2, 3)
    assert clean["updated_at"] == dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


def test_field_specs_describe_the_target():
    spec = ORG.spec()
    assert spec["name"] == "organization"
    employees = next(f for f in spec["fields"] if f["name"] == "employees")
    assert employees == {
        "name": "employees",
        "type": "integer",
        "required": False,
        "constraints": {"max_length": 32, "min_value": 0, "max_value": 2147483647},
        "help_text": "",
    }
    assert isinstance(get("organization"), OrganizationTarget)


@pytest.mark.parametrize(
    "url, valid",
    [
        ("https://www.example.com", True),
        ("http://example.co.uk:8080/path?q=1#x", True),
        ("https://bücher.example", True),
        ("https://-bad.example", False),
        ("https://example", False),
        ("https://exa mple.com", False),
        ("ftp://example.com", False),
    ],
)
def test_urls_agree_with_djangos_validator(url, valid):
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    errors = check({"website": url})[1]
    assert (errors == []) is valid
    try:
        URLValidator(schemes=["http", "https"])(url)
        django_valid = True
    except ValidationError:
        django_valid = False
    assert django_valid is valid


@pytest.mark.parametrize(
    "email, valid",
    [
        ("info@example.com", True),
        ("First.Last+tag@Sub.Example.CO.UK", True),
        ("o'brien@example.ie", True),
        ("user@bücher.example", True),
        ("a..b@example.com", False),
        (".a@example.com", False),
        ("a@-example.com", False),
        ("a@example", False),
        ("info(at)example.com", False),
        ("a@b@example.com", False),
    ],
)
def test_emails_agree_with_djangos_validator(email, valid):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    assert (check({"email": email})[1] == []) is valid
    try:
        validate_email(email)
        django_valid = True
    except ValidationError:
        django_valid = False
    assert django_valid is valid


@pytest.mark.parametrize(
    "value",
    [
        "info@example.com",
        "INFO@EXAMPLE.COM",
        "a@\u212aelvin.example",
        "\u017fam@example.com",
        "https://www.example.com",
        "HTTPS://WWW.EXAMPLE.COM",
        "https://\u212a.example",
        "a@b",
        "https://example",
    ],
)
def test_ascii_patterns_accept_only_what_the_plain_patterns_accept(value):
    for ascii_pattern, plain_pattern in (
        (fields._ASCII_EMAIL, fields._PLAIN_EMAIL),
        (fields._ASCII_URL, fields._PLAIN_URL),
    ):
        if ascii_pattern.fullmatch(value):
            assert plain_pattern.fullmatch(value) and value.isascii()


def test_utc_today_is_the_current_utc_date(monkeypatch):
    assert fields.utc_today() == dt.datetime.now(dt.UTC).date()
    midnight = dt.datetime(2031, 1, 2, tzinfo=dt.UTC).timestamp()
    monkeypatch.setattr(fields.time, "time", lambda: midnight - 0.5)
    assert fields.utc_today() == dt.date(2031, 1, 1)
    monkeypatch.setattr(fields.time, "time", lambda: midnight)
    assert fields.utc_today() == dt.date(2031, 1, 2)
    assert check({"founded": "2031-01-02"})[1] == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1200.0", 1200),
        ("1200.", 1200),
        ("+7.00", 7),
        ("7.0000", 7),
        ("1200.000", 1200),
        ("0.000", 0),
    ],
)
def test_a_whole_number_with_a_zero_fraction_is_that_number(raw, expected):
    clean, errors = check({"employees": raw})
    assert errors == [] and clean["employees"] == expected


@pytest.mark.parametrize("raw, whole", [("1.000", 1), ("250.000", 250), ("+7.000", 7)])
def test_a_point_grouping_thousands_is_refused_not_read_as_a_fraction(raw, whole):
    # A German export's 1.000 employees are a thousand, not one.
    clean, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", "employees": raw}
    )
    assert clean["employees"] is None
    assert [(e["code"], e["message"]) for e in errors] == [
        (
            "invalid_format",
            f"Enter a whole number without a thousands separator: {raw} could be "
            f"{whole} or {whole * 1000}.",
        )
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "2003-02-01",
        "2003-02-01 00:00:00",
        "2003-02-01T00:00:00.000Z",
        "2003-02-01T00:00",
        "2003-02-01 00:00:00+02:00",
        "2003-02-01 00:00:00 UTC",
    ],
)
def test_a_date_at_midnight_is_that_date(raw):
    clean, errors = check({"founded": raw})
    assert errors == [] and clean["founded"] == dt.date(2003, 2, 1)


@pytest.mark.parametrize(
    "raw",
    [
        "2003-02-01 13:45:00",
        "2003-02-01T00:00:01",
        "01.02.2003",
        "2003-02-30",
        "2003-02-01 00:00:00 junk",
    ],
)
def test_a_date_with_a_time_of_day_or_another_shape_is_invalid_format(raw):
    assert check({"founded": raw})[1] == [("founded", "invalid_format")]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("www.example.com", "https://www.example.com"),
        ("Example.co.uk/about?x=1", "https://Example.co.uk/about?x=1"),
        ("bücher.example", "https://bücher.example"),
        ("https://www.example.com", "https://www.example.com"),
    ],
)
def test_a_website_without_its_scheme_gets_https(raw, expected):
    clean, errors = check({"website": raw})
    assert errors == [] and clean["website"] == expected


@pytest.mark.parametrize(
    "raw, code",
    [
        ("info@example.com", "invalid_format"),  # an e-mail in the wrong column
        ("n/a", "invalid_format"),
        ("www.exa mple.com", "invalid_format"),
        ("http//example.com", "invalid_format"),
        ("example", "invalid_format"),
        (
            "www." + "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + ".example",
            "too_long",
        ),  # 200 with https://
    ],
)
def test_what_https_does_not_make_a_url_stays_invalid(raw, code):
    assert check({"website": raw})[1] == [("website", code)]


@pytest.mark.parametrize("raw", ["1,200", "1.200", "12 500", "1'200"])
def test_grouped_thousands_are_invalid_format_as_for_djangos_integer_field(raw):
    # Django's IntegerField refuses them too, and "1,200" or "1.200" is 1.2 in half the world.
    assert check({"employees": raw})[1] == [("employees", "invalid_format")]


@pytest.mark.parametrize(
    "raw, whole", [("1,200", 1200), ("12,345,678", 12345678), ("-1,000", -1000)]
)
def test_a_comma_grouping_thousands_is_refused_with_the_separator_named(raw, whole):
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", "employees": raw}
    )
    assert errors == [
        {
            "field": "employees",
            "code": "invalid_format",
            "message": f"Enter a whole number without a thousands separator: {whole}, not {raw}.",
        }
    ]


@pytest.mark.parametrize("raw", ["1,2", "1,20", "1234,567", "1,2345", ",200", "1,200.5"])
def test_other_commas_in_a_whole_number_get_the_plain_message(raw):
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", "employees": raw}
    )
    assert [e["message"] for e in errors] == [fields.MSG_INTEGER]


@pytest.mark.parametrize(
    "raw, message",
    [
        ("2020-02-30", "2020-02-30 is not a date: February 2020 has 29 days."),
        ("2021-02-29", "2021-02-29 is not a date: February 2021 has 28 days."),
        ("2021-04-31 00:00:00", "2021-04-31 is not a date: April 2021 has 30 days."),
        ("2021-13-01", "2021-13-01 is not a day of the calendar."),
        ("2021-01-00", "2021-01-00 is not a day of the calendar."),
        ("0000-01-01", "0000-01-01 is not a day of the calendar."),
    ],
)
def test_a_date_in_the_right_shape_but_not_in_the_calendar_is_told_so(raw, message):
    _, errors = fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", "founded": raw}
    )
    assert errors == [{"field": "founded", "code": "invalid_format", "message": message}]


def test_invisible_characters_around_a_value_are_trimmed_but_not_inside_it():
    clean, errors = check(
        {
            "external_id": "\ufeffX-1\u200b",
            "name": "\u00a0Ac\u200bme\u2060 ",
            "country": "\u200bde\u200d",
        }
    )
    assert errors == []
    assert (clean["external_id"], clean["name"], clean["country"]) == ("X-1", "Ac\u200bme", "DE")
    assert fields.trim("\u200b \u3000") == "" and fields.trim(" plain ") == "plain"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-01-10 09:00:00 UTC", dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)),
        ("2024-01-10T09:00:00.000+0000", dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)),  # Salesforce
        ("2024-01-10 10:00:00+01", dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)),  # PostgreSQL
    ],
)
def test_timestamps_as_exports_write_them(raw, expected):
    clean, errors = check({"updated_at": raw})
    assert errors == [] and clean["updated_at"] == expected


@pytest.mark.parametrize("raw", ["2024-01-10 09:00:00 CET", "UTC", "1704877200"])
def test_other_timestamps_are_invalid_format(raw):
    assert check({"updated_at": raw})[1] == [("updated_at", "invalid_format")]


def full_check(payload):
    return fields.validate_row(
        ORG.fields, {"external_id": "X", "name": "N", "country": "DE", **payload}
    )[1]


@pytest.mark.parametrize("raw", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-05:00"])
def test_a_timestamp_outside_the_calendar_in_utc_is_out_of_range(raw):
    assert full_check({"updated_at": raw}) == [
        fields.error("updated_at", fields.OUT_OF_RANGE, fields.MSG_DATETIME_RANGE)
    ]


NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "raw, ok",
    [
        ("2026-06-02T12:00:00Z", True),  # now + one day: the default skew
        ("2026-06-02T12:00:01Z", False),
        ("2026-06-02T13:59:59+02:00", True),
        ("9999-12-31T23:59:59Z", False),
        ("9999-12-31", False),
        ("0001-01-01T00:00:00Z", True),
    ],
)
def test_a_timestamp_later_than_now_plus_the_skew_is_out_of_range(raw, ok):
    with time_machine.travel(NOW, tick=False):
        errors = full_check({"updated_at": raw})
    message = fields.MSG_FUTURE_DATETIME.format(skew="1 day")
    assert errors == ([] if ok else [fields.error("updated_at", fields.OUT_OF_RANGE, message)])


def test_the_future_skew_is_a_setting(settings):
    settings.IMPORTER_MAX_FUTURE_SKEW = 3600
    with time_machine.travel(NOW, tick=False):
        assert full_check({"updated_at": "2026-06-01T13:00:00Z"}) == []
        errors = full_check({"updated_at": "2026-06-01T13:00:01Z"})
    assert errors == [
        fields.error(
            "updated_at", fields.OUT_OF_RANGE, fields.MSG_FUTURE_DATETIME.format(skew="1 hour")
        )
    ]
    assert "more than 1 hour after now" in errors[0]["message"]


@pytest.mark.parametrize(
    "seconds, said",
    [(86400, "1 day"), (172800, "2 days"), (7200, "2 hours"), (60, "1 minute"), (90, "90 seconds")],
)
def test_describe_seconds(seconds, said):
    assert fields.describe_seconds(seconds) == said


@pytest.mark.parametrize(
    "name", ["Acme\x1b[31mCorp", "Bell\x07", "Vertical\x0btab", "Form\x0cfeed", "Del\x7f"]
)
def test_control_characters_inside_text_are_invalid_format(name):
    assert full_check({"name": name}) == [
        fields.error("name", fields.INVALID_FORMAT, fields.MSG_CONTROL)
    ]


@pytest.mark.parametrize("name", ["Line\nbreak", "Car\rriage\r\nreturn", "Tab\tinside"])
def test_tabs_and_line_breaks_inside_text_are_text(name):
    """A spreadsheet cell may hold several lines (Alt+Enter in Excel)."""
    assert full_check({"name": name}) == []


def test_control_characters_around_text_are_trimmed():
    assert full_check({"name": "\tAcme\r\n"}) == []


def test_control_characters_in_an_external_id_are_invalid_format():
    assert full_check({"external_id": "X\x1b1"}) == [
        fields.error("external_id", fields.INVALID_FORMAT, fields.MSG_CONTROL)
    ]


def test_nul_inside_text_keeps_its_own_message():
    assert full_check({"name": "Acme\x00Corp"}) == [
        fields.error("name", fields.INVALID_FORMAT, fields.MSG_NUL)
    ]


@pytest.mark.parametrize("field", ["name", "email", "updated_at", "country", "phone"])
def test_a_lone_surrogate_is_invalid_format_in_any_field(field):
    assert full_check({field: "X\ud800"}) == [
        fields.error(field, fields.INVALID_FORMAT, fields.MSG_SURROGATE)
    ]


def test_a_surrogate_pair_written_as_one_character_is_text():
    assert full_check({"name": "Acme \U0001f600"}) == []


def test_the_latest_timestamp_accepted_moves_with_the_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        assert full_check({"updated_at": "2026-06-03T12:00:00Z"})[0]["code"] == fields.OUT_OF_RANGE
        traveller.shift(dt.timedelta(days=1))
        assert full_check({"updated_at": "2026-06-03T12:00:00Z"}) == []
        traveller.move_to(NOW - dt.timedelta(days=1))
        assert full_check({"updated_at": "2026-06-01T12:00:00Z"}) == []
        assert full_check({"updated_at": "2026-06-01T12:00:01Z"})[0]["code"] == fields.OUT_OF_RANGE


def test_a_skew_past_the_year_9999_means_no_limit(settings):
    settings.IMPORTER_MAX_FUTURE_SKEW = 10**12
    assert full_check({"updated_at": "9999-12-31T23:59:59Z"}) == []


@pytest.mark.parametrize("name", ["Ac\u200bme\x1b", "Ünïcode\x07", "Ñame\x7f"])
def test_control_characters_inside_non_ascii_text_are_invalid_format(name):
    assert full_check({"name": name}) == [
        fields.error("name", fields.INVALID_FORMAT, fields.MSG_CONTROL)
    ]


def test_non_ascii_text_that_is_not_printable_but_has_no_control_character_is_text():
    assert full_check({"name": "Ac\u200bme\u00a0Co\u2028rp"}) == []
