"""The natural keys' normalization (core/keys.py): a registration number
that says there is none gives no key, and letters of any script stay in it."""

import pytest

from core.keys import normalize_email, normalize_registration_number, organization_key


@pytest.mark.parametrize(
    "placeholder",
    [
        "n/a", "N/A", "na", "N.A.", " n. a. ", "none", "NONE", "None.", "null", "NULL",
        "nil", "unknown", "Unknown!", "tbd", "TBA", "NaN", "not applicable", "Not-Available",
        "-", "--", "?", "...", "0", "000", "0000-000", "00 00", "０", "", None,
    ],
)  # fmt: skip
def test_a_number_that_says_there_is_none_normalizes_to_nothing(placeholder):
    assert normalize_registration_number(placeholder) == ""
    assert organization_key("DE", placeholder) is None


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("hrb 123-45", "HRB12345"),
        ("HRB/123.45", "HRB12345"),
        ("ÄÖÜ 1", "ÄÖÜ1"),
        ("äöü-1", "ÄÖÜ1"),
        ("A\u0308O\u0308U\u0308 1", "ÄÖÜ1"),  # decomposed umlauts
        ("ＨＲＢ １２３", "HRB123"),  # full-width
        ("١٢٣", "123"),  # Arabic-Indic digits
        ("straße 1", "STRASSE1"),
        ("Ω-7", "Ω7"),
        ("कि 5", "कि5"),  # a vowel sign is kept with its letter
        ("0 1", "01"),
        ("NA 1", "NA1"),
        ("NONE1", "NONE1"),
    ],
)
def test_letters_and_digits_of_any_script_stay(written, normalized):
    assert normalize_registration_number(written) == normalized


def test_letters_outside_ascii_make_a_different_number():
    assert organization_key("DE", "ÄÖÜ 1") == "DE:ÄÖÜ1"
    assert organization_key("DE", "1") == "DE:1"


def test_no_country_no_key():
    assert organization_key("", "HRB 1") is None
    assert organization_key(None, "HRB 1") is None


def test_email_key_is_trimmed_and_lower_cased():
    assert normalize_email(" Ann@Example.COM ") == "ann@example.com"
    assert normalize_email(None) == ""
