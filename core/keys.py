"""The natural keys of the golden records: what makes two rows from sources
that do not share ids the same organization or contact (docs/identity.md).

Plain functions of plain values, importing nothing of ours, so that the
targets (the importer's dedupe), the core admin's search and the data
migrations that recompute stored keys all use these very ones."""

import re
import unicodedata

# Registration numbers that say there is none, in their normalized form
# ('n/a', 'N.A.' and 'na' are all 'NA'). Such a number gives no natural key,
# as an empty one does; so do numbers of zeros only ('0', '000-000') and of
# punctuation only ('-', '?'), which normalize to zeros or to nothing.
NO_REGISTRATION_NUMBER = frozenset(
    {
        "NA",
        "NAN",
        "NIL",
        "NONE",
        "NULL",
        "TBA",
        "TBD",
        "UNKNOWN",
        "NOTAPPLICABLE",
        "NOTAVAILABLE",
    }
)


_NOT_ASCII_ALNUM = re.compile(r"[^0-9A-Z]")


def _key_character(character: str) -> str:
    """A letter or digit of any script as the key keeps it (a decimal digit
    as its ASCII digit: '٣' is '3'), combining marks kept with their letter;
    '' for anything else (spaces, punctuation, symbols)."""
    if character.isdecimal():
        return str(unicodedata.decimal(character))
    if character.isalnum() or unicodedata.category(character).startswith("M"):
        return character
    return ""


def normalize_registration_number(value: str | None) -> str:
    """The number's letters and digits, upper-cased, in any script; '' when
    there is none or it says there is none (NO_REGISTRATION_NUMBER).
    'hrb 123-45' -> 'HRB12345', 'ÄÖÜ 1' -> 'ÄÖÜ1' (not '1': dropping the
    letters an ASCII-only rule does not know would merge distinct numbers),
    'n/a' -> ''. NFKC first, so a full-width or decomposed character is the
    same as its usual form; NFC after upper-casing for the same reason."""
    if not value:
        return ""
    if value.isascii():  # nearly every number: the same result, a tenth of the cost
        number = _NOT_ASCII_ALNUM.sub("", value.upper())
    else:
        text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", value).upper())
        number = "".join(_key_character(character) for character in text)
    if number in NO_REGISTRATION_NUMBER or not number.strip("0"):
        return ""
    return number


def normalize_email(value: str | None) -> str:
    """Trimmed and lower-cased. A placeholder ('n/a', 'none') needs no list
    here: it is not an e-mail, so validation refuses it before any key."""
    return value.strip().lower() if value else ""


def organization_key(country: str | None, registration_number: str | None) -> str | None:
    """'COUNTRY:NUMBER', or None without a country or a registration number."""
    number = normalize_registration_number(registration_number)
    return f"{country}:{number}" if number and country else None
