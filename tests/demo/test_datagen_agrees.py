"""The generated datasets (demo, benchmarks) and the validator agree: the
rows the generator breaks on purpose are exactly the rows the pipeline
quarantines, so the benchmarks' tools all keep the same valid rows."""

import io

import pytest

from demo.datagen import generate_contacts, generate_organizations
from tests.importing import import_checked

ROWS = 3000


def generated(generate, invalid_rate=0.1, **kwargs) -> tuple[bytes, int]:
    out = io.StringIO(newline="")
    summary = generate(out, rows=ROWS, seed=7, invalid_rate=invalid_rate, **kwargs)
    return out.getvalue().encode(), summary.invalid_rows


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_exactly_the_broken_rows_are_quarantined(format):
    organizations, broken = generated(generate_organizations, format=format)
    ended = import_checked(organizations, filename=f"orgs.{format}")
    assert ended.counts == (ROWS, ROWS - broken, broken)
    assert broken > 200

    # Contacts of organizations that all exist: only their own defects quarantine them.
    organizations, _ = generated(
        generate_organizations, invalid_rate=0, format=format, id_prefix="ALL-"
    )
    assert import_checked(organizations, filename=f"orgs.{format}").run.quarantined == 0
    contacts, broken = generated(
        generate_contacts, organizations=ROWS, format=format, org_id_prefix="ALL-"
    )
    ended = import_checked(contacts, filename=f"contacts.{format}", target="contact")
    assert ended.run.quarantined == broken and broken > 200
    assert ended.run.rows_total == ROWS
