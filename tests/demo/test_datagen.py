"""Tests for demo.datagen, the deterministic benchmark/demo file generator.

Pure Python: run with ``pytest -p no:django tests/ingest/test_datagen.py``.
Validity is re-checked here with simple, independent rules (e-mail regex,
country code set, ``int()``), not with the generator's own tables.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from datetime import date
from functools import cache

import phonenumbers
import pytest

from demo import datagen
from demo.datagen import (
    CONTACT_COLUMNS,
    ORGANIZATION_COLUMNS,
    GenerationSummary,
    generate_contacts,
    generate_organizations,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
COUNTRIES = {
    "US",
    "GB",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "SE",
    "PL",
    "IE",
    "CA",
    "AU",
    "JP",
    "BR",
    "IN",
    "CH",
    "AT",
    "BE",
    "DK",
    "NO",
    "FI",
    "PT",
    "CZ",
    "NZ",
    "SG",
}
ROWS = 20_000


@pytest.fixture(autouse=True)
def _media_root():
    """Override tests/conftest.py's autouse fixture of the same name.

    That one needs pytest-django's ``settings``; this module is pure Python and
    must also run with ``-p no:django``.
    """


# ---------------------------------------------------------------- helpers


def organizations(**kwargs) -> tuple[str, GenerationSummary]:
    kwargs = {"rows": 200, "seed": 1, **kwargs}
    out = io.StringIO()
    summary = generate_organizations(out, **kwargs)
    return out.getvalue(), summary


def contacts(**kwargs) -> tuple[str, GenerationSummary]:
    kwargs = {"rows": 200, "seed": 1, "organizations": 50, **kwargs}
    out = io.StringIO()
    summary = generate_contacts(out, **kwargs)
    return out.getvalue(), summary


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def big_organizations(invalid_rate: float = 0.05) -> tuple[str, GenerationSummary]:
    return organizations(rows=ROWS, seed=42, invalid_rate=invalid_rate)


@cache
def big_contacts() -> tuple[str, GenerationSummary]:
    return contacts(rows=ROWS, seed=42, organizations=500, invalid_rate=0.05)


def organization_defects(row: dict[str, str]) -> list[str]:
    """Which of the three deliberate defects this row has (independent checks)."""
    defects = []
    if row["email"] and not EMAIL_RE.match(row["email"]):
        defects.append("email")
    if row["country"].upper() not in COUNTRIES:
        defects.append("country")
    try:
        int(row["employees"])
    except ValueError:
        defects.append("employees")
    return defects


def contact_defects(row: dict[str, str], organizations: int) -> list[str]:
    defects = []
    if row["email"] and not EMAIL_RE.match(row["email"]):
        defects.append("email")
    if not row["last_name"]:
        defects.append("last_name")
    if int(row["organization_external_id"].removeprefix("ORG-")) > organizations:
        defects.append("organization_external_id")
    return defects


def digit_count(phone: str) -> int:
    stripped = re.sub(r"[ .\-()]", "", phone)
    assert stripped.startswith("+") and stripped[1:].isdigit(), phone
    return len(stripped) - 1


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_same_arguments_give_identical_bytes(fmt):
    assert organizations(format=fmt) == organizations(format=fmt)
    assert contacts(format=fmt) == contacts(format=fmt)


def test_different_seed_gives_different_output():
    assert organizations(seed=1)[0] != organizations(seed=2)[0]
    assert contacts(seed=1)[0] != contacts(seed=2)[0]


def test_uses_only_its_own_random_instance():
    """The global ``random`` state must not leak in (other code may reseed it)."""
    import random

    random.seed(1)
    first = organizations()
    random.seed(2)
    assert organizations() == first


# ---------------------------------------------------------------- shape


def test_organization_header_and_row_count():
    text, summary = organizations(rows=123)
    lines = text.split("\n")
    assert lines[0] == ",".join(ORGANIZATION_COLUMNS)
    assert lines[-1] == ""  # trailing newline, "\n" terminators only
    assert "\r" not in text
    assert len(parse_csv(text)) == 123 == summary.rows


def test_contact_header_and_row_count():
    text, summary = contacts(rows=77)
    assert text.split("\n", 1)[0] == ",".join(CONTACT_COLUMNS)
    assert len(parse_csv(text)) == 77 == summary.rows


def test_zero_rows_writes_only_the_header():
    text, summary = organizations(rows=0)
    assert text == ",".join(ORGANIZATION_COLUMNS) + "\n"
    assert summary == GenerationSummary(rows=0, invalid_rows=0)


def test_csv_is_exactly_what_csv_writer_produces():
    """The fast comma-join path must match csv.writer, quoting included."""
    text, _ = big_organizations()
    rewritten = io.StringIO()
    writer = csv.writer(rewritten, lineterminator="\n")
    writer.writerows(csv.reader(io.StringIO(text, newline="")))
    assert rewritten.getvalue() == text
    assert '"' in text  # some names ("Co., Ltd.") or defects ("1,200") need quoting


def test_external_ids_are_sequential_and_unique():
    rows = parse_csv(big_organizations()[0])
    assert [row["external_id"] for row in rows[:3]] == ["ORG-0000001", "ORG-0000002", "ORG-0000003"]
    assert len({row["external_id"] for row in rows}) == ROWS
    contact_rows = parse_csv(big_contacts()[0])
    assert len({row["external_id"] for row in contact_rows}) == ROWS


def test_custom_id_prefixes():
    rows = parse_csv(organizations(rows=3, id_prefix="ACME-")[0])
    assert rows[2]["external_id"] == "ACME-0000003"
    rows = parse_csv(
        contacts(rows=50, organizations=5, org_id_prefix="ACME-", id_prefix="P-", invalid_rate=0)[0]
    )
    assert rows[0]["external_id"] == "P-0000001"
    assert all(re.fullmatch(r"ACME-000000[1-5]", row["organization_external_id"]) for row in rows)


# ---------------------------------------------------------------- organization values


def test_registration_numbers_are_unique_and_mostly_present():
    rows = parse_csv(big_organizations()[0])
    numbers = [row["registration_number"] for row in rows if row["registration_number"]]
    assert len(numbers) == len(set(numbers))
    assert 0.03 < 1 - len(numbers) / ROWS < 0.07  # ~5% empty


def test_registration_formats_never_collide_across_countries():
    """Uniqueness must hold for any row count a benchmark might use (10M+)."""
    row_numbers = [*range(1, 2_000), *range(9_999_000, 10_001_000), 99_999_999]
    seen: dict[str, tuple[str, int]] = {}
    for country, registration in datagen._REGISTRATION_FORMATS.items():
        for i in row_numbers:
            value = registration(i)
            assert seen.setdefault(value, (country, i)) == (country, i), value
    assert set(datagen._REGISTRATION_FORMATS) == COUNTRIES


def test_organization_values_look_realistic():
    rows = list(parse_csv(big_organizations(invalid_rate=0.0)[0]))
    countries = [row["country"] for row in rows]
    assert {c.upper() for c in countries} == COUNTRIES
    assert 0.08 < sum(c.islower() for c in countries) / ROWS < 0.12
    assert 0.035 < sum(not row["name"].isascii() for row in rows) / ROWS < 0.065
    assert 0.08 < sum(not row["website"] for row in rows) / ROWS < 0.12
    assert 0.035 < sum(not row["email"] for row in rows) / ROWS < 0.065
    assert len({row["industry"] for row in rows}) >= 18
    for row in rows:
        if row["website"]:
            assert re.fullmatch(r"https://www\.[a-z0-9-]+(\.[a-z]{2,})+", row["website"]), row
        if row["email"]:
            assert re.fullmatch(r"[a-z]+@[a-z0-9-]+(\.[a-z]{2,})+", row["email"]), row
        assert 1 <= int(row["employees"]) <= 250_000
        assert date(1850, 1, 1) <= date.fromisoformat(row["founded"]) <= date(2024, 12, 31)
        assert TIMESTAMP_RE.match(row["updated_at"])
        assert "2020-01-01T00:00:00Z" <= row["updated_at"] <= "2025-12-31T23:59:59Z"
    employees = sorted(int(row["employees"]) for row in rows)
    assert employees[ROWS // 2] < 2_000  # skewed small (log-uniform median is ~500)


def test_legal_suffix_matches_country():
    rows = parse_csv(big_organizations(invalid_rate=0.0)[0])
    suffix_of = {
        "DE": ("GmbH", "AG", "KG"),
        "GB": ("Ltd", "PLC", "Limited"),
        "SE": ("AB",),
        "AU": ("Pty Ltd",),
    }
    for row in rows:
        expected = suffix_of.get(row["country"].upper())
        if expected:
            assert row["name"].endswith(expected), row["name"]


# ---------------------------------------------------------------- invalid rows


def test_organization_invalid_rows_match_summary_and_rate():
    text, summary = big_organizations()
    defects = [organization_defects(row) for row in parse_csv(text)]
    assert all(len(found) <= 1 for found in defects), "a row has more than one defect"
    invalid = sum(bool(found) for found in defects)
    assert invalid == summary.invalid_rows
    assert abs(invalid - 0.05 * ROWS) < 150  # binomial sd is ~31
    kinds = {found[0] for found in defects if found}
    assert kinds == {"email", "country", "employees"}


def test_invalid_employees_are_non_numeric():
    rows = parse_csv(big_organizations()[0])
    bad = [row["employees"] for row in rows if "employees" in organization_defects(row)]
    assert bad and not any(re.fullmatch(r"-?\d+", value) for value in bad)


def test_zero_invalid_rate_gives_only_valid_rows():
    text, summary = big_organizations(invalid_rate=0.0)
    assert summary.invalid_rows == 0
    assert not any(organization_defects(row) for row in parse_csv(text))


def test_contact_invalid_rows_match_summary_and_rate():
    text, summary = big_contacts()
    defects = [contact_defects(row, 500) for row in parse_csv(text)]
    assert all(len(found) <= 1 for found in defects)
    invalid = sum(bool(found) for found in defects)
    assert invalid == summary.invalid_rows
    assert abs(invalid - 0.05 * ROWS) < 150
    assert {found[0] for found in defects if found} == {
        "email",
        "last_name",
        "organization_external_id",
    }


def test_full_invalid_rate_breaks_every_row():
    text, summary = organizations(rows=300, invalid_rate=1.0)
    assert summary.invalid_rows == 300
    assert all(len(organization_defects(row)) == 1 for row in parse_csv(text))


# ---------------------------------------------------------------- contacts


def test_contact_values():
    rows = parse_csv(big_contacts()[0])
    emails = [row["email"] for row in rows if EMAIL_RE.match(row["email"])]
    assert len(emails) == len(set(emails))
    assert 0.03 < sum(not row["email"] for row in rows) / ROWS < 0.07
    assert (
        0.1 < sum(not (row["first_name"] + row["last_name"]).isascii() for row in rows) / ROWS < 0.4
    )
    referenced = {
        int(row["organization_external_id"][4:]) for row in rows if not contact_defects(row, 500)
    }
    assert min(referenced) == 1 and max(referenced) == 500
    assert all(row["title"] and TIMESTAMP_RE.match(row["updated_at"]) for row in rows)


# ---------------------------------------------------------------- phones


def test_international_phones_have_7_to_15_digits():
    rows = [*parse_csv(big_organizations()[0]), *parse_csv(big_contacts()[0])]
    international = [row["phone"] for row in rows if row["phone"].startswith("+")]
    assert len(international) > 0.8 * len(rows)
    for phone in international:
        assert 7 <= digit_count(phone) <= 15, phone


def test_phone_mix_is_mostly_international():
    phones = [row["phone"] for row in parse_csv(big_organizations()[0])]
    share = lambda predicate: sum(map(predicate, phones)) / len(phones)  # noqa: E731
    assert 0.80 < share(lambda p: p.startswith("+")) < 0.90
    assert 0.07 < share(lambda p: bool(p) and not p.startswith("+")) < 0.13
    assert 0.03 < share(lambda p: not p) < 0.07


def test_national_phones_are_valid_for_the_row_country():
    """Guards the realism: national numbers must parse with the country as region."""
    rows = parse_csv(big_organizations()[0])
    checked = set()
    for row in rows:
        phone, country = row["phone"], row["country"].upper()
        if phone and not phone.startswith("+") and country in COUNTRIES:  # skip broken countries
            number = phonenumbers.parse(phone, country)
            assert phonenumbers.is_valid_number(number), (phone, country)
            checked.add(country)
    assert checked == COUNTRIES  # every country has national patterns


def test_international_phones_are_valid_numbers_of_the_row_country():
    rows = parse_csv(big_organizations()[0])
    for row in rows:
        phone, country = row["phone"], row["country"].upper()
        if phone.startswith("+") and country in COUNTRIES:
            number = phonenumbers.parse(phone, None)
            assert phonenumbers.is_valid_number(number), phone
            assert phonenumbers.region_code_for_number(number) == country, (phone, country)


# ---------------------------------------------------------------- changed files


def changed_pair(rate: float, change_seed: int = 1, rows: int = 5_000):
    base, base_summary = organizations(rows=rows, seed=7, invalid_rate=0.05)
    changed, summary = organizations(
        rows=rows, seed=7, invalid_rate=0.05, changed_rate=rate, change_seed=change_seed
    )
    return base, base_summary, changed, summary


def test_changed_rate_changes_exactly_that_fraction_and_nothing_else():
    base, base_summary, changed, summary = changed_pair(0.1)
    base_lines, changed_lines = base.splitlines(), changed.splitlines()
    assert len(base_lines) == len(changed_lines) == 5_001
    differing = [n for n, (a, b) in enumerate(zip(base_lines, changed_lines)) if a != b]
    assert len(differing) == 500 == summary.changed_rows
    assert base_summary.changed_rows == 0

    base_rows, changed_rows = parse_csv(base), parse_csv(changed)
    for n in differing:
        old, new = base_rows[n - 1], changed_rows[n - 1]
        changed_columns = {column for column in ORGANIZATION_COLUMNS if old[column] != new[column]}
        assert changed_columns <= {"name", "employees", "updated_at"}
        assert {"name", "updated_at"} <= changed_columns
        assert "2026-01-01T00:00:00Z" <= new["updated_at"] <= "2026-06-01T00:00:00Z"
        assert new["updated_at"] > old["updated_at"]
        if not organization_defects(old):
            assert "employees" in changed_columns
            assert 1 <= int(new["employees"]) <= 250_000


def test_changed_file_keeps_the_same_invalid_rows():
    base, base_summary, changed, summary = changed_pair(0.5)
    base_defects = [organization_defects(row) for row in parse_csv(base)]
    changed_defects = [organization_defects(row) for row in parse_csv(changed)]
    assert base_defects == changed_defects
    assert summary.invalid_rows == base_summary.invalid_rows


def test_change_seed_picks_other_rows_and_other_values():
    _, _, first, _ = changed_pair(0.1, change_seed=1)
    _, _, second, _ = changed_pair(0.1, change_seed=2)
    assert first != second
    assert changed_pair(0.1, change_seed=2)[2] == second


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (0.001, 5), (0.333, 1665), (1.0, 5_000)])
def test_changed_count_is_exact(rate, expected):
    base, _, changed, summary = changed_pair(rate)
    differing = sum(a != b for a, b in zip(base.splitlines(), changed.splitlines()))
    assert differing == expected == summary.changed_rows


# ---------------------------------------------------------------- jsonl


def test_jsonl_parses_and_matches_csv_rows():
    csv_text, csv_summary = organizations(rows=500, invalid_rate=0.1)
    jsonl_text, jsonl_summary = organizations(rows=500, invalid_rate=0.1, format="jsonl")
    records = [json.loads(line) for line in jsonl_text.splitlines()]
    assert len(records) == 500 and jsonl_text.endswith("\n")
    assert all(list(record) == list(ORGANIZATION_COLUMNS) for record in records)
    assert all(isinstance(value, str) for record in records for value in record.values())
    assert records == parse_csv(csv_text)
    assert jsonl_summary == csv_summary


def test_contacts_jsonl_parses():
    text, summary = contacts(rows=300, format="jsonl")
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 300 == summary.rows
    assert all(list(record) == list(CONTACT_COLUMNS) for record in records)


# ---------------------------------------------------------------- streaming and arguments


class _CountingSink:
    """A text stream that keeps only a character count."""

    def __init__(self) -> None:
        self.chars = 0
        self.writes = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        self.writes += 1
        return len(text)


def test_output_is_streamed_with_flat_memory():
    sink = _CountingSink()
    tracemalloc.start()
    try:
        generate_organizations(sink, rows=30_000, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.writes > 10
    assert sink.chars > 4_000_000
    assert peak < 2_000_000  # far below the output size


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rows": -1},
        {"invalid_rate": 1.5},
        {"invalid_rate": -0.1},
        {"format": "xml"},
        {"changed_rate": 2.0},
    ],
)
def test_bad_organization_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        organizations(**kwargs)


def test_contacts_need_at_least_one_organization():
    with pytest.raises(ValueError):
        contacts(organizations=0)
