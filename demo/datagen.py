"""Deterministic generator of realistic organization and contact record files.

Used for benchmarks, load tests and demos of the import hub. Every value comes
from ``random.Random(seed)`` and the output is written row by row, so:

* the same arguments always give byte-identical output (benchmarks stay
  comparable across runs and machines), and
* memory use stays flat no matter how many rows are written.

A small, known share of rows is made invalid on purpose (exactly one defect
per invalid row) so the importer's validation paths get exercised too.
``changed_rate`` produces a later version of the same organization file
(some rows renamed/resized/re-timestamped, all others byte-identical) for
testing incremental imports.

Typical use::

    with open("orgs.csv", "w", encoding="utf-8", newline="") as out:
        summary = generate_organizations(out, rows=1_000_000, seed=1)

Values may contain non-ASCII characters, so open files as UTF-8.
This module is pure Python + stdlib on purpose: it must not import Django.

Why one long module: every value generator and every defect recipe feed one
``random.Random`` in a fixed order, and that order is what makes the output
byte-identical across versions (the benchmarks' files and the tests' expected
summaries depend on it). Split across modules, a reordered import or a moved
call would silently change every generated file.
"""

from __future__ import annotations

import csv
import json
import math
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from types import SimpleNamespace
from typing import TextIO, TypeVar

__all__ = [
    "CONTACT_COLUMNS",
    "COUNTRY_CODES",
    "FORMATS",
    "ORGANIZATION_COLUMNS",
    "GenerationSummary",
    "generate_contacts",
    "generate_organizations",
]

T = TypeVar("T")
Row = list[str]
RandomFloat = Callable[[], float]

FORMATS = ("csv", "jsonl")

ORGANIZATION_COLUMNS = (
    "external_id",
    "name",
    "country",
    "registration_number",
    "website",
    "email",
    "phone",
    "industry",
    "employees",
    "founded",
    "updated_at",
)
CONTACT_COLUMNS = (
    "external_id",
    "organization_external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "updated_at",
)

# Column positions, so defects and changes address fields by name.
_O = {name: index for index, name in enumerate(ORGANIZATION_COLUMNS)}
_C = {name: index for index, name in enumerate(CONTACT_COLUMNS)}

# Shares of optional / formatted values (the "realism knobs").
_EMPTY_REGISTRATION_RATE = 0.05
_EMPTY_WEBSITE_RATE = 0.10
_EMPTY_EMAIL_RATE = 0.05
_LOWERCASE_COUNTRY_RATE = 0.10
_NON_ASCII_NAME_RATE = 0.05
_SURNAME_NAME_RATE = 0.20
_HYPHENATED_DOMAIN_SHARE = (3, 10)  # 3 in 10 domains are "blue-harbor.de"
_DOTCOM_DOMAIN_SHARE = (1, 4)  # 1 in 4 firms use ".com" instead of the country TLD
_EMPTY_PHONE_RATE = 0.05
_NATIONAL_PHONE_RATE = 0.10
_CONTACT_EMPTY_PHONE_RATE = 0.08
_CONTACT_COMPANY_DOMAIN_RATE = 0.65

_MAX_EMPLOYEES = 250_000


@dataclass
class GenerationSummary:
    """What was written; ``invalid_rows`` counts the deliberately broken rows."""

    rows: int
    invalid_rows: int
    changed_rows: int = 0


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _pick(r: RandomFloat, items: Sequence[T]) -> T:
    """Uniform choice from one ``random()`` draw (about 3x faster than ``choice``)."""
    return items[int(r() * len(items))]


_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "œ": "oe",
        "Œ": "oe",
    }
)


def _ascii_slug(text: str) -> str:
    """Lowercase ASCII letters/digits only, for domains and e-mail local parts.

    Names keep their accents ("Müller"), but domains must not ("muller").
    Only called while building the word tables, never per row.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    return "".join(c for c in decomposed.lower() if c.isascii() and c.isalnum())


def _with_slugs(words: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Pair every display word with its precomputed ASCII slug."""
    return tuple((word, _ascii_slug(word)) for word in words)


_HOURS_MINUTES = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in range(60))
_SECONDS_Z = tuple(f":{s:02d}Z" for s in range(60))


class _TimestampRange:
    """Uniform ISO 8601 UTC timestamps ("...Z") between two instants, inclusive.

    Day, "HH:MM" and ":SSZ" strings are precomputed, so a timestamp costs one
    draw, two divmods and two concatenations instead of a ``datetime``
    round trip (which alone would eat a third of the per-row time budget).
    """

    def __init__(self, start: datetime, end: datetime) -> None:
        if start.time() != datetime.min.time():
            raise ValueError("a timestamp range must start at midnight")
        self._span = int((end - start).total_seconds()) + 1
        self._days = tuple(
            f"{start.date() + timedelta(days=n)}T"
            for n in range((end.date() - start.date()).days + 1)
        )

    def pick(self, r: RandomFloat) -> str:
        day, second = divmod(int(r() * self._span), 86_400)
        minute, sec = divmod(second, 60)
        return self._days[day] + _HOURS_MINUTES[minute] + _SECONDS_Z[sec]


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


_UPDATED_AT = _TimestampRange(_utc(2020, 1, 1), _utc(2025, 12, 31, 23, 59, 59))
# Changed rows must be newer than any base row but not after the "now" of demos.
_CHANGED_UPDATED_AT = _TimestampRange(_utc(2026, 1, 1), _utc(2026, 6, 1))

_FOUNDED_YEARS = tuple(str(year) for year in range(2024, 1849, -1))  # newest first
_MONTH_DAYS = tuple(  # "-MM-DD" of a common year; 29 February is never drawn
    f"-{date.fromordinal(n):%m-%d}"
    for n in range(date(2023, 1, 1).toordinal(), date(2024, 1, 1).toordinal())
)
_FOUNDED_DAYS = len(_FOUNDED_YEARS) * len(_MONTH_DAYS)


def _founded(r: RandomFloat) -> str:
    """Founding date 1850-01-01..2024-12-31, skewed to recent years (most firms are young).

    Squaring the draw puts more mass near 0, i.e. near the newest year.
    """
    year, day = divmod(int(r() ** 2 * _FOUNDED_DAYS), len(_MONTH_DAYS))
    return _FOUNDED_YEARS[year] + _MONTH_DAYS[day]


# Employees are log-uniform in 1..250000, int(exp(u * log(250001))): many small
# firms and few giants, like real company registers.
_LOG_MAX_EMPLOYEES = math.log(_MAX_EMPLOYEES + 1)


# --------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------

# National significant number templates per country: "#" is a random digit,
# everything else is literal. Every template was checked against Google's
# libphonenumber (all fills valid for the region); fictional "drama" ranges are
# used where libphonenumber accepts them (US/CA 555-01xx, GB 7946 0xxx / 496 0xxx,
# AU 5550 xxxx / 7010 xxxx / 0491 570 xxx, FR 01 99 00 xx xx).
_PHONE_PLANS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    # country: (calling code, national trunk prefix or style, NSN templates)
    "US": (
        1,
        "nanp",
        ("415 555 01##", "212 555 01##", "312 555 01##", "206 555 01##", "617 555 01##"),
    ),
    "CA": (1, "nanp", ("416 555 01##", "604 555 01##", "514 555 01##")),
    "GB": (
        44,
        "0",
        (
            "20 7946 0###",
            "161 496 0###",
            "113 496 0###",
            "117 496 0###",
            "131 496 0###",
            "7400 ######",
        ),
    ),
    "DE": (
        49,
        "0",
        ("30 ########", "89 #######", "40 ########", "69 ########", "151 ########", "170 #######"),
    ),
    "FR": (
        33,
        "0",
        ("1 ## ## ## ##", "4 72 ## ## ##", "6 12 ## ## ##", "7 5# ## ## ##", "1 99 00 ## ##"),
    ),
    "NL": (31, "0", ("20 ### ####", "10 ### ####", "30 ### ####", "6 1# ## ## ##")),
    "ES": (34, "", ("91 ### ## ##", "93 ### ## ##", "6## ### ###")),
    "IT": (
        39,
        "",
        ("02 #### ####", "011 ### ####", "06 4### ####", "33# ### ####", "34# ### ####"),
    ),
    "SE": (46, "0", ("8 ### ### ##", "31 ### ## ##", "70 ### ## ##", "70 174 06 ##")),
    "PL": (48, "", ("22 ### ## ##", "12 ### ## ##", "6## ### ###")),
    "IE": (353, "0", ("1 ### ####", "21 ### ####", "85 ### ####", "87 ### ####")),
    "AU": (
        61,
        "0",
        ("2 9### ####", "3 9### ####", "2 5550 ####", "3 7010 ####", "491 570 ###", "412 ### ###"),
    ),
    "JP": (81, "0", ("3 5### ####", "6 #### ####", "90 1### ####", "80 3### ####")),
    "BR": (55, "paren", ("11 2### ####", "11 9#### ####", "21 3### ####", "21 9#### ####")),
    "IN": (91, "0", ("11 2### ####", "22 2### ####", "98### #####")),
    "CH": (41, "0", ("44 ### ## ##", "22 ### ## ##", "79 ### ## ##", "76 ### ## ##")),
    "AT": (43, "0", ("1 5## ## ##", "1 40# ####", "664 #######", "316 ######")),
    "BE": (32, "0", ("2 2## ## ##", "2 5## ## ##", "3 2## ## ##", "47# ## ## ##", "49# ## ## ##")),
    "DK": (45, "", ("32 1# ## ##", "33 1# ## ##", "20 1# ## ##")),
    "NO": (47, "", ("22 ## ## ##", "55 ## ## ##", "9## ## ###")),
    "FI": (358, "0", ("9 1## ####", "9 6## ####", "40 #######", "50 #######")),
    "PT": (351, "", ("21 ### ####", "22 ### ####", "91# ### ###", "96# ### ###")),
    "CZ": (420, "", ("2## ### ###", "602 ### ###", "777 ### ###", "731 ### ###")),
    "NZ": (64, "0", ("9 3## ####", "9 5## ####", "4 4## ####", "21 ### ####", "22 ### ####")),
    "SG": (65, "", ("65## ####", "62## ####", "81## ####", "91## ####", "97## ####")),
}

# International spellings and how often they appear (out of 20): mostly
# "+44 20 7946 0958", some E.164 "+442079460958", a few dashed or dotted.
_INTERNATIONAL_STYLE_WEIGHTS = (("spaced", 14), ("compact", 3), ("dashed", 2), ("dotted", 1))


@dataclass(frozen=True, slots=True)
class _DigitPattern:
    """A "#" pattern precompiled for speed, e.g. "20 7946 0###".

    Runs of "#" become "%s" slots and ``split`` cuts a digit string into one
    piece per run (``itemgetter`` of slices, done in C), so filling a number
    is one ``%`` operation instead of a Python loop over characters.
    """

    template: str
    split: Callable[[str], object]

    @classmethod
    def compile(cls, pattern: str) -> _DigitPattern:
        pieces, slices, start = [], [], 0
        for literal, run in _hash_runs(pattern):
            pieces.append(literal.replace("%", "%%"))
            if run:
                pieces.append("%s")
                slices.append(slice(start, start + run))
                start += run
        split = itemgetter(*slices) if len(slices) != 1 else itemgetter(slices[0])
        return cls("".join(pieces), split)


def _hash_runs(pattern: str) -> Iterator[tuple[str, int]]:
    """Yield (literal text, length of the following "#" run) pairs."""
    literal, run = "", 0
    for char in pattern:
        if char == "#":
            run += 1
            continue
        if run:
            yield literal, run
            literal, run = "", 0
        literal += char
    yield literal, run


@dataclass(frozen=True, slots=True)
class _PhoneTemplate:
    """One number plan entry with its national and international spellings."""

    scale: int  # 10 ** number of random digits
    national: _DigitPattern
    international: tuple[_DigitPattern, ...]


def _national_pattern(style: str, nsn: str) -> str:
    """How people write the number at home: trunk prefix, or "(415) 555-0132"."""
    if style in ("nanp", "paren"):
        area, exchange, line = nsn.split(" ")
        return f"({area}) {exchange}-{line}"
    return style + nsn


def _international_pattern(style: str, code: int, nsn: str, spelling: str) -> str:
    if spelling == "compact":
        return f"+{code}{nsn.replace(' ', '')}"
    if spelling == "dashed":
        return f"+{code}-{nsn.replace(' ', '-')}"
    if spelling == "dotted":
        return f"+{code}.{nsn.replace(' ', '.')}"
    if style == "nanp":  # "+1 (415) 555-0132", the common North American spelling
        return f"+{code} {_national_pattern(style, nsn)}"
    return f"+{code} {nsn}"


def _compile_phone_templates(
    code: int, style: str, patterns: Sequence[str]
) -> tuple[_PhoneTemplate, ...]:
    templates = []
    for nsn in patterns:
        international = tuple(
            _DigitPattern.compile(_international_pattern(style, code, nsn, spelling))
            for spelling, weight in _INTERNATIONAL_STYLE_WEIGHTS
            for _ in range(weight)
        )
        templates.append(
            _PhoneTemplate(
                scale=10 ** nsn.count("#"),
                national=_DigitPattern.compile(_national_pattern(style, nsn)),
                international=international,
            )
        )
    return tuple(templates)


def _phone(
    r: RandomFloat, templates: Sequence[_PhoneTemplate], national_rate: float, empty_rate: float
) -> str:
    """A phone number: empty, national (valid for the country) or international."""
    kind = r()
    if kind < empty_rate:
        return ""
    template = templates[int(r() * len(templates))]
    if kind < empty_rate + national_rate:
        pattern = template.national
    else:
        pattern = template.international[int(r() * len(template.international))]
    scale = template.scale
    digits = str(scale + int(r() * scale))[1:]  # zero-padded: "1000 + n", drop the "1"
    return pattern.template % pattern.split(digits)


# --------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------

# Registration numbers are derived from the row number so they are unique
# without remembering anything. Each country's shape (prefix, length,
# separators) differs from every other country's, so values never collide
# across countries either.
_IN_STATES = ("MH", "KA", "DL", "TN", "GJ", "TG", "WB", "HR")
_AT_LETTERS = "abdfghikmpstvwxyz"
_SG_LETTERS = "CDEGHKMNRWZ"


def _grouped(number: int, *sizes: int, sep: str = " ") -> str:
    """Split a number's digits into groups; the last group takes any overflow.

    Callers add an offset so ``number`` always has at least ``sum(sizes)`` digits.
    """
    digits = str(number)
    a = sizes[0]
    if len(sizes) == 2:
        return f"{digits[:a]}{sep}{digits[a:]}"
    b = a + sizes[1]
    if len(sizes) == 3:
        return f"{digits[:a]}{sep}{digits[a:b]}{sep}{digits[b:]}"
    c = b + sizes[2]
    return f"{digits[:a]}{sep}{digits[a:b]}{sep}{digits[b:c]}{sep}{digits[c:]}"


_REGISTRATION_FORMATS: dict[str, Callable[[int], str]] = {
    "US": lambda i: _grouped(200_000_000 + i, 2, 7, sep="-"),  # EIN
    "GB": lambda i: f"{1_000_000 + i:08d}",  # Companies House
    "DE": lambda i: f"HRB {100_000 + i}",  # Handelsregister
    "FR": lambda i: _grouped(300_000_000 + i, 3, 3, 3),  # SIREN
    "NL": lambda i: f"KvK {10_000_000 + i}",  # Kamer van Koophandel
    "ES": lambda i: f"B{10_000_000 + i}",  # CIF
    "IT": lambda i: f"IT{10_000_000_000 + i}",  # Partita IVA
    "SE": lambda i: _grouped(5_560_000_000 + i, 6, 4, sep="-"),  # Organisationsnummer
    "PL": lambda i: f"{i:010d}",  # KRS
    "IE": lambda i: f"CRO {100_000 + i}",  # Companies Registration Office
    "CA": lambda i: f"{100_000_000 + i}RC0001",  # Business Number
    "AU": lambda i: _grouped(50_000_000_000 + i, 2, 3, 3, 3),  # ABN
    "JP": lambda i: f"{1_000_000_000_000 + i}",  # Corporate Number (starts with 1)
    "BR": lambda i: _grouped(10_000_000 + i, 2, 3, 3, sep=".") + f"/0001-{i * 7 % 97:02d}",  # CNPJ
    "IN": lambda i: (
        f"U{('72200', '74999', '51909')[i % 3]}{_IN_STATES[i % 8]}{1950 + i % 74}PTC{i:06d}"
    ),  # CIN
    "CH": lambda i: "CHE-" + _grouped(100_000_000 + i, 3, 3, 3, sep="."),  # UID
    "AT": lambda i: f"FN {100_000 + i}{_AT_LETTERS[i % len(_AT_LETTERS)]}",  # Firmenbuch
    "BE": lambda i: "0" + _grouped(400_000_000 + i, 3, 3, 3, sep="."),  # KBO/BCE
    "DK": lambda i: f"CVR {10_000_000 + i}",  # CVR
    "NO": lambda i: "NO " + _grouped(900_000_000 + i, 3, 3, 3) + " MVA",  # Organisasjonsnummer
    "FI": lambda i: f"{1_000_000 + i}-{i % 10}",  # Y-tunnus
    "PT": lambda i: f"{500_000_000 + i}",  # NIPC (starts with 5)
    "CZ": lambda i: f"CZ{20_000_000 + i}",  # DIČ
    "NZ": lambda i: f"{9_429_000_000_000 + i}",  # NZBN (starts with 9429)
    "SG": lambda i: f"{2000 + i % 25}{i:05d}{_SG_LETTERS[i % len(_SG_LETTERS)]}",  # UEN
}

# (code, weight out of 100, legal suffixes, country TLD)
_COUNTRY_TABLE: tuple[tuple[str, int, tuple[str, ...], str], ...] = (
    ("US", 20, ("Inc.", "LLC", "Corp.", "Inc."), "com"),
    ("GB", 9, ("Ltd", "Ltd", "PLC", "Limited"), "co.uk"),
    ("DE", 9, ("GmbH", "GmbH", "AG", "GmbH & Co. KG"), "de"),
    ("FR", 6, ("SAS", "SA", "SARL"), "fr"),
    ("NL", 4, ("B.V.", "B.V.", "N.V."), "nl"),
    ("ES", 4, ("S.L.", "S.A."), "es"),
    ("IT", 4, ("S.r.l.", "S.p.A."), "it"),
    ("SE", 3, ("AB",), "se"),
    ("PL", 3, ("Sp. z o.o.", "S.A."), "pl"),
    ("IE", 2, ("Ltd", "DAC"), "ie"),
    ("CA", 4, ("Inc.", "Ltd.", "Corp."), "ca"),
    ("AU", 3, ("Pty Ltd",), "com.au"),
    ("JP", 4, ("K.K.", "Co., Ltd."), "co.jp"),
    ("BR", 3, ("Ltda.", "S.A."), "com.br"),
    ("IN", 4, ("Pvt Ltd", "Private Limited", "Ltd"), "co.in"),
    ("CH", 2, ("AG", "GmbH", "SA"), "ch"),
    ("AT", 2, ("GmbH", "AG"), "at"),
    ("BE", 2, ("BV", "NV", "SA"), "be"),
    ("DK", 2, ("A/S", "ApS"), "dk"),
    ("NO", 2, ("AS", "ASA"), "no"),
    ("FI", 2, ("Oy", "Oyj"), "fi"),
    ("PT", 2, ("Lda.", "S.A."), "pt"),
    ("CZ", 2, ("s.r.o.", "a.s."), "cz"),
    ("NZ", 1, ("Limited", "Ltd"), "co.nz"),
    ("SG", 1, ("Pte. Ltd.",), "com.sg"),
)


@dataclass(frozen=True, slots=True)
class _Country:
    """Everything a row needs to look plausible for one country."""

    code: str
    lower: str
    # Every (legal suffix, domain joiner, ".tld") combination, repeated by
    # weight, so a single draw decides all three.
    name_styles: tuple[tuple[str, str, str], ...]
    phones: tuple[_PhoneTemplate, ...]
    registration: Callable[[int], str]


def _weighted(share: tuple[int, int], hit: str, miss: str) -> tuple[str, ...]:
    """``hit`` ``share[0]`` times out of ``share[1]``, else ``miss``."""
    return (hit,) * share[0] + (miss,) * (share[1] - share[0])


def _name_styles(suffixes: Sequence[str], tld: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (suffix, joiner, dot_tld)
        for suffix in suffixes
        for joiner in _weighted(_HYPHENATED_DOMAIN_SHARE, "-", "")
        for dot_tld in _weighted(_DOTCOM_DOMAIN_SHARE, ".com", "." + tld)
    )


def _build_countries() -> tuple[tuple[_Country, ...], tuple[_Country, ...]]:
    """Return (all countries, a 100-slot pool where each appears `weight` times).

    The pool turns a weighted choice into one uniform index, which is cheap.
    """
    countries, pool = [], []
    for code, weight, suffixes, tld in _COUNTRY_TABLE:
        calling_code, style, patterns = _PHONE_PLANS[code]
        country = _Country(
            code=code,
            lower=code.lower(),
            name_styles=_name_styles(suffixes, tld),
            phones=_compile_phone_templates(calling_code, style, patterns),
            registration=_REGISTRATION_FORMATS[code],
        )
        countries.append(country)
        pool.extend([country] * weight)
    return tuple(countries), tuple(pool)


_COUNTRIES, _COUNTRY_POOL = _build_countries()
COUNTRY_CODES = frozenset(country.code for country in _COUNTRIES)
_COUNTRY_BY_CODE = {country.code: country for country in _COUNTRIES}

# --------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------

# Industry -> words that companies of that industry put in their names.
_INDUSTRIES: dict[str, tuple[tuple[str, str], ...]] = {
    industry: _with_slugs(words)
    for industry, words in {
        "Logistics": ("Logistics", "Freight", "Shipping", "Transport"),
        "Food & Beverage": ("Foods", "Beverages", "Bakeries", "Provisions"),
        "Software": ("Software", "Systems", "Digital", "Labs"),
        "Financial Services": ("Capital", "Finance", "Investments", "Asset Management"),
        "Manufacturing": ("Manufacturing", "Industries", "Works", "Components"),
        "Healthcare": ("Health", "Care", "Medical", "Clinics"),
        "Pharmaceuticals": ("Pharma", "Biosciences", "Therapeutics"),
        "Retail": ("Retail", "Stores", "Trading", "Outfitters"),
        "Construction": ("Construction", "Builders", "Engineering"),
        "Energy": ("Energy", "Power", "Renewables", "Solar"),
        "Telecommunications": ("Telecom", "Networks", "Communications"),
        "Consulting": ("Consulting", "Advisory", "Partners"),
        "Education": ("Learning", "Academy", "Education"),
        "Media": ("Media", "Studios", "Publishing"),
        "Real Estate": ("Properties", "Real Estate", "Estates"),
        "Automotive": ("Motors", "Automotive", "Mobility"),
        "Agriculture": ("Farms", "Agritech", "Harvest"),
        "Hospitality": ("Hotels", "Hospitality", "Travel"),
        "Insurance": ("Insurance", "Assurance", "Underwriters"),
        "Textiles": ("Textiles", "Apparel", "Fashion"),
        "Chemicals": ("Chemicals", "Materials", "Polymers"),
    }.items()
}
_INDUSTRY_NAMES = tuple(_INDUSTRIES)

# ASCII only, so the share of non-ASCII names is exactly _NON_ASCII_NAME_RATE.
_NAME_HEADS = _with_slugs(
    (
        "Northwind",
        "Blue Harbor",
        "Silver Oak",
        "Ironbridge",
        "Redwood",
        "Greenfield",
        "Bright Path",
        "Summit",
        "Evergreen",
        "Oakridge",
        "Brightwater",
        "Stonegate",
        "Clearview",
        "Riverside",
        "Highland",
        "Nordic Star",
        "Atlas",
        "Meridian",
        "Pioneer",
        "Horizon",
        "Crescent",
        "Falcon",
        "Harbor Point",
        "Westbrook",
        "Eastgate",
        "Lakeside",
        "Maple Leaf",
        "Copper Hill",
        "Granite",
        "Cedar",
        "Aurora",
        "Polaris",
        "Vertex",
        "Keystone",
        "Bluestone",
        "Whitecliff",
        "Sandstone",
        "Trident",
        "Orion",
        "Sterling",
        "Red Kite",
        "Silverline",
        "Blackwood",
        "Fairview",
        "Golden Field",
        "Seaside",
        "Windmill",
        "Alpine",
    )
)
_NON_ASCII_NAME_HEADS = _with_slugs(
    (
        "Société Lyonnaise",
        "Müller",
        "Ångström",
        "Øresund",
        "Zürcher",
        "Kraków",
        "Málaga",
        "Göteborg",
        "Łódź",
        "Čapek",
        "Sørensen",
        "Böhm & Söhne",
        "Núñez",
        "Élysée",
        "São Paulo",
        "Équinoxe",
        "Fjällräv",
        "Škoda & Dvořák",
        "Østfold",
        "Gruppo Città",
        "Straße Nord",
        "Ålesund",
        "Jönsson",
        "Año Nuevo",
    )
)
_SURNAMES = _with_slugs(
    (
        "Hansen",
        "Miller",
        "Fischer",
        "Rossi",
        "Jensen",
        "Tanaka",
        "Silva",
        "Kowalski",
        "Novak",
        "Dubois",
        "Walsh",
        "Nakamura",
        "Bianchi",
        "Larsen",
        "Costa",
        "Weber",
        "Martin",
        "Kelly",
        "Berg",
        "Schneider",
        "Santos",
        "Murphy",
        "Lindqvist",
        "Patel",
    )
)

# "Fischer & Rossi", precomputed: cheaper than two picks and a join per row.
_SURNAME_PAIRS = tuple(
    (f"{first} & {second}", first_slug + second_slug)
    for first, first_slug in _SURNAMES
    for second, second_slug in _SURNAMES
    if first != second
)

_FIRST_NAMES = _with_slugs(
    (
        "Anna",
        "James",
        "Maria",
        "Lukas",
        "Sophie",
        "Oliver",
        "Emma",
        "Noah",
        "Olivia",
        "Liam",
        "Sofia",
        "Mateo",
        "Hannah",
        "Luca",
        "Aiko",
        "Hiroshi",
        "Priya",
        "Arjun",
        "Chloé",
        "José",
        "Zoë",
        "Søren",
        "Łukasz",
        "François",
        "Jürgen",
        "Ólafur",
        "Björn",
        "Agnieszka",
        "Siobhán",
        "João",
        "Inès",
        "Ayşe",
        "Mikael",
        "Sarah",
        "David",
        "Laura",
        "Thomas",
        "Elena",
        "Pedro",
        "Camille",
        "Jan",
        "Eva",
        "Ingrid",
        "Kenji",
        "Mei",
        "Rahul",
        "Fatima",
        "Grace",
        "Henrik",
        "Nora",
        "Michael",
        "Jennifer",
        "Robert",
        "Linda",
        "William",
        "Emily",
        "Daniel",
        "Jessica",
        "Paul",
        "Julia",
        "Marco",
        "Giulia",
        "Pierre",
        "Claire",
        "Stefan",
        "Katarzyna",
        "Piotr",
        "Lars",
        "Astrid",
        "Pieter",
        "Femke",
        "Carlos",
        "Lucia",
        "Yuki",
        "Takeshi",
        "Ananya",
        "Vikram",
        "Aoife",
        "Ben",
        "Isabel",
        "Tomas",
        "Nina",
        "Oscar",
    )
)
_LAST_NAMES = _with_slugs(
    (
        "Smith",
        "Johnson",
        "Müller",
        "Schmidt",
        "García",
        "Martínez",
        "Rossi",
        "Bianchi",
        "Dubois",
        "Lefèvre",
        "Nowak",
        "Kowalski",
        "Jensen",
        "Nielsen",
        "Andersson",
        "Johansson",
        "Virtanen",
        "Korhonen",
        "Silva",
        "Gonçalves",
        "Tanaka",
        "Suzuki",
        "Sato",
        "Patel",
        "Sharma",
        "O'Brien",
        "Murphy",
        "Van der Berg",
        "De Vries",
        "Novák",
        "Dvořák",
        "Hofer",
        "Gruber",
        "Peeters",
        "Janssens",
        "Hansen",
        "Ødegaard",
        "Brown",
        "Wilson",
        "Taylor",
        "Nguyen",
        "Kim",
        "Tremblay",
        "Roy",
        "Ferreira",
        "Costa",
        "Lindqvist",
        "Øberg",
        "Walsh",
        "Wójcik",
        "Williams",
        "Jones",
        "Davis",
        "Anderson",
        "Thomas",
        "Moore",
        "Clark",
        "Lewis",
        "Fischer",
        "Weber",
        "Wagner",
        "Becker",
        "Moreau",
        "Laurent",
        "Bernard",
        "Romano",
        "Colombo",
        "Ricci",
        "Visser",
        "Bakker",
        "Jansen",
        "Kaminski",
        "Lewandowski",
        "Berg",
        "Larsen",
        "Olsen",
        "Lehtonen",
        "Santos",
        "Pereira",
        "Yamamoto",
        "Watanabe",
        "Gupta",
        "Singh",
        "Kelly",
        "Byrne",
        "Wong",
        "Lee",
        "Martin",
        "Novak",
        "Horvat",
    )
)
_TITLES = (
    "CEO",
    "CFO",
    "CTO",
    "COO",
    "Managing Director",
    "Head of Procurement",
    "Head of Finance",
    "Data Engineer",
    "Office Manager",
    "Sales Manager",
    "Account Executive",
    "Operations Manager",
    "HR Business Partner",
    "Marketing Lead",
    "Software Engineer",
    "Customer Success Manager",
    "Purchasing Agent",
    "Legal Counsel",
    "Geschäftsführer",
    "Directeur Général",
    "Responsable Achats",
    "Prokurist",
    "Project Manager",
    "Controller",
)
_FREE_MAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "web.de",
    "t-online.de",
    "orange.fr",
    "libero.it",
    "wp.pl",
    "seznam.cz",
    "hotmail.co.uk",
    "bigpond.com",
    "yahoo.co.jp",
)
_ORG_MAILBOXES = ("info@", "info@", "info@", "contact@", "hello@", "office@", "sales@")

# Defect catalogues. Each value fails the obvious check (e-mail regex, country
# code lookup, int()) so tests and demos can find them independently.
_BAD_EMAIL_SHAPES = (
    "{box}(at){domain}",
    "{box}.{domain}",
    "{box}@{slug}",
    "{box}@@{domain}",
    "{box} @{domain}",
)
_BAD_COUNTRIES = ("XX", "ZZ", "Germany", "Deutschland", "United Kingdom", "EU")
_BAD_EMPLOYEES = ("12a", "many", "n/a", "1,200", "approx. 50", "ten")

# --------------------------------------------------------------------------
# Organizations
# --------------------------------------------------------------------------


def _company_name(r: RandomFloat, country: _Country, industry: str) -> tuple[str, str]:
    """Return (display name, domain), e.g. ("Blue Harbor Foods Ltd", "blueharborfoods.co.uk")."""
    style = r()
    if style < _NON_ASCII_NAME_RATE:
        head, head_slug = _pick(r, _NON_ASCII_NAME_HEADS)
    elif style < _NON_ASCII_NAME_RATE + _SURNAME_NAME_RATE:
        head, head_slug = _pick(r, _SURNAME_PAIRS)
    else:
        head, head_slug = _NAME_HEADS[int(r() * len(_NAME_HEADS))]
    words = _INDUSTRIES[industry]
    word, word_slug = words[int(r() * len(words))]
    styles = country.name_styles
    suffix, joiner, dot_tld = styles[int(r() * len(styles))]
    return f"{head} {word} {suffix}", f"{head_slug}{joiner}{word_slug}{dot_tld}"


def _organization_row(r: RandomFloat, i: int, id_prefix: str) -> Row:
    """One valid organization row (all values as strings).

    This is the hot loop of the module (~20 draws per row), hence the inlined
    ``seq[int(r() * len(seq))]`` picks instead of ``_pick`` calls.
    """
    country = _COUNTRY_POOL[int(r() * len(_COUNTRY_POOL))]
    industry = _INDUSTRY_NAMES[int(r() * len(_INDUSTRY_NAMES))]
    name, domain = _company_name(r, country, industry)
    return [
        f"{id_prefix}{i:07d}",
        name,
        country.lower if r() < _LOWERCASE_COUNTRY_RATE else country.code,
        "" if r() < _EMPTY_REGISTRATION_RATE else country.registration(i),
        "" if r() < _EMPTY_WEBSITE_RATE else "https://www." + domain,
        "" if r() < _EMPTY_EMAIL_RATE else _ORG_MAILBOXES[int(r() * len(_ORG_MAILBOXES))] + domain,
        _phone(r, country.phones, _NATIONAL_PHONE_RATE, _EMPTY_PHONE_RATE),
        industry,
        str(int(math.exp(r() * _LOG_MAX_EMPLOYEES))),
        _founded(r),
        _UPDATED_AT.pick(r),
    ]


def _bad_email(r: RandomFloat, box: str, domain: str) -> str:
    """A plausible typo-style e-mail that any sane validator rejects."""
    slug = domain.split(".", 1)[0]
    return _pick(r, _BAD_EMAIL_SHAPES).format(box=box, domain=domain, slug=slug)


def _break_organization(r: RandomFloat, row: Row) -> str:
    """Give a valid row exactly one defect; return which column was broken."""
    column = _pick(r, ("email", "country", "employees"))
    if column == "email":
        domain = (
            row[_O["email"]].partition("@")[2]
            or row[_O["website"]].removeprefix("https://www.")
            or "example.com"
        )
        row[_O["email"]] = _bad_email(r, _pick(r, _ORG_MAILBOXES)[:-1], domain)
    elif column == "country":
        row[_O["country"]] = _pick(r, _BAD_COUNTRIES)
    else:
        row[_O["employees"]] = _pick(r, _BAD_EMPLOYEES)
    return column


def _change_organization(r: RandomFloat, row: Row, broken_column: str | None) -> None:
    """Simulate a later update of the same record: rename, resize, newer timestamp.

    A deliberately broken ``employees`` value is left alone so the changed file
    has exactly the same invalid rows as the base file.
    """
    country = _COUNTRY_BY_CODE.get(row[_O["country"]].upper(), _COUNTRY_POOL[0])
    old_name = row[_O["name"]]
    new_name = old_name
    while new_name == old_name:
        new_name, _ = _company_name(r, country, row[_O["industry"]])
    row[_O["name"]] = new_name
    if broken_column != "employees":
        old = int(row[_O["employees"]])
        new = min(_MAX_EMPLOYEES, max(1, round(old * (0.7 + 0.8 * r()))))
        if new == old:
            new = old + 1 if old < _MAX_EMPLOYEES else old - 1
        row[_O["employees"]] = str(new)
    row[_O["updated_at"]] = _CHANGED_UPDATED_AT.pick(r)


class _ExactSampler:
    """Selects exactly ``round(total * rate)`` of ``total`` items, streaming.

    Knuth's selection sampling: item n is taken with probability
    (picks still needed) / (items still left). No set of row numbers is kept,
    so memory stays flat even for 10M rows.
    """

    def __init__(self, total: int, rate: float, r: RandomFloat) -> None:
        self._left = total
        self._needed = round(total * rate)
        self._random = r

    def __call__(self) -> bool:
        take = self._random() * self._left < self._needed
        self._left -= 1
        self._needed -= take
        return take


def generate_organizations(
    out: TextIO,
    *,
    rows: int,
    seed: int,
    invalid_rate: float = 0.02,
    format: str = "csv",
    id_prefix: str = "ORG-",
    changed_rate: float = 0.0,
    change_seed: int = 1,
) -> GenerationSummary:
    """Write ``rows`` organization records to ``out`` and summarise them.

    With ``changed_rate`` > 0 the output is the base file (same seed, rows,
    invalid_rate) with exactly ``round(rows * changed_rate)`` rows updated:
    new name, new employee count, ``updated_at`` in 2026-01-01..2026-06-01.
    The rows to change and their new values come from
    ``random.Random(change_seed)`` so every other row stays byte-identical.
    """
    _validate(rows=rows, invalid_rate=invalid_rate, format=format)
    _validate_rate("changed_rate", changed_rate)
    summary = GenerationSummary(rows=rows, invalid_rows=0)
    r = random.Random(seed).random
    change_r = random.Random(change_seed).random
    is_changed = _ExactSampler(rows, changed_rate, change_r) if changed_rate > 0 else None

    def generate() -> Iterator[Row]:
        for i in range(1, rows + 1):
            row = _organization_row(r, i, id_prefix)
            broken = _break_organization(r, row) if r() < invalid_rate else None
            if broken:
                summary.invalid_rows += 1
            if is_changed is not None and is_changed():
                _change_organization(change_r, row, broken)
                summary.changed_rows += 1
            yield row

    _write_rows(out, ORGANIZATION_COLUMNS, format, generate())
    return summary


# --------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------


_DOMAIN_WORDS = tuple(slug for words in _INDUSTRIES.values() for _, slug in words)


def _contact_company_domain(k: int) -> str:
    """A stable company-like domain per organization, so colleagues share it.

    A multiplicative hash of ``k`` spreads neighbouring ids over the word lists.
    """
    mixed = k * 2_654_435_761 % 2**32
    head = _NAME_HEADS[mixed % len(_NAME_HEADS)][1]
    word = _DOMAIN_WORDS[mixed // len(_NAME_HEADS) % len(_DOMAIN_WORDS)]
    return f"{head}{word}.com"


def _contact_row(
    r: RandomFloat, i: int, id_prefix: str, org_id_prefix: str, organizations: int
) -> Row:
    """One valid contact row.

    Phones are international only: contacts have no country column, so a
    national number could not be read back unambiguously.
    """
    first, first_slug = _FIRST_NAMES[int(r() * len(_FIRST_NAMES))]
    last, last_slug = _LAST_NAMES[int(r() * len(_LAST_NAMES))]
    k = 1 + int(r() * organizations)
    if r() < _CONTACT_COMPANY_DOMAIN_RATE:
        domain = _contact_company_domain(k)
    else:
        domain = _FREE_MAIL_DOMAINS[int(r() * len(_FREE_MAIL_DOMAINS))]
    # The row number makes the address unique; slugs never contain dots.
    email = "" if r() < _EMPTY_EMAIL_RATE else f"{first_slug}.{last_slug}.{i}@{domain}"
    phone_country = _COUNTRY_POOL[int(r() * len(_COUNTRY_POOL))]
    return [
        f"{id_prefix}{i:07d}",
        f"{org_id_prefix}{k:07d}",
        first,
        last,
        email,
        _phone(r, phone_country.phones, 0.0, _CONTACT_EMPTY_PHONE_RATE),
        _TITLES[int(r() * len(_TITLES))],
        _UPDATED_AT.pick(r),
    ]


def _break_contact(r: RandomFloat, row: Row, org_id_prefix: str, organizations: int) -> str:
    """Give a valid contact exactly one defect; return which column was broken."""
    column = _pick(r, ("email", "last_name", "organization_external_id"))
    if column == "email":
        local = f"{_ascii_slug(row[_C['first_name']])}.{row[_C['external_id']][-7:]}"
        row[_C["email"]] = _bad_email(r, local, _pick(r, _FREE_MAIL_DOMAINS))
    elif column == "last_name":
        row[_C["last_name"]] = ""
    else:
        missing = organizations + 1 + int(r() * max(organizations, 10))
        row[_C["organization_external_id"]] = f"{org_id_prefix}{missing:07d}"
    return column


def generate_contacts(
    out: TextIO,
    *,
    rows: int,
    seed: int,
    organizations: int,
    invalid_rate: float = 0.02,
    format: str = "csv",
    org_id_prefix: str = "ORG-",
    id_prefix: str = "CON-",
) -> GenerationSummary:
    """Write ``rows`` contact records referencing organizations 1..``organizations``.

    Invalid rows have a bad e-mail, an empty last name, or point at an
    organization id above ``organizations`` (a dangling reference).
    """
    _validate(rows=rows, invalid_rate=invalid_rate, format=format)
    if organizations < 1:
        raise ValueError("organizations must be at least 1")
    summary = GenerationSummary(rows=rows, invalid_rows=0)
    r = random.Random(seed).random

    def generate() -> Iterator[Row]:
        for i in range(1, rows + 1):
            row = _contact_row(r, i, id_prefix, org_id_prefix, organizations)
            if r() < invalid_rate:
                _break_contact(r, row, org_id_prefix, organizations)
                summary.invalid_rows += 1
            yield row

    _write_rows(out, CONTACT_COLUMNS, format, generate())
    return summary


# --------------------------------------------------------------------------
# Output and argument checks
# --------------------------------------------------------------------------


_WRITE_BATCH_ROWS = 2_000


def _write_rows(out: TextIO, columns: Sequence[str], format: str, rows: Iterable[Row]) -> None:
    """Stream rows to ``out`` in batches (one ``write`` per batch, flat memory).

    CSV output is exactly what ``csv.writer(out, lineterminator="\\n")``
    would produce. Rows that need no quoting (the vast majority) are simply
    comma-joined, which is several times faster than ``writerow``; any row
    containing a comma, quote or line break goes through the real writer.
    Open files with ``newline=""`` so ``\\n`` is not translated.
    """
    batch: list[str] = []
    if format == "csv":
        csv_writer = csv.writer(SimpleNamespace(write=batch.append), lineterminator="\n")
        csv_writer.writerow(columns)
        separators = len(columns) - 1
        for n, row in enumerate(rows, 1):
            line = ",".join(row)
            if line.count(",") != separators or '"' in line or "\n" in line or "\r" in line:
                csv_writer.writerow(row)
            else:
                batch.append(line + "\n")
            if n % _WRITE_BATCH_ROWS == 0:
                out.write("".join(batch))
                batch.clear()
    else:
        encode = json.JSONEncoder(ensure_ascii=False).encode
        for n, row in enumerate(rows, 1):
            batch.append(encode(dict(zip(columns, row))) + "\n")
            if n % _WRITE_BATCH_ROWS == 0:
                out.write("".join(batch))
                batch.clear()
    out.write("".join(batch))


def _validate_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def _validate(*, rows: int, invalid_rate: float, format: str) -> None:
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows!r}")
    _validate_rate("invalid_rate", invalid_rate)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
