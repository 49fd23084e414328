"""The row steps alone, without the pipeline or a database: each takes rows
and gives them their result."""

import dataclasses
import datetime as dt

from ingest import fields as rules
from ingest import registry
from ingest.readers import ReadRow
from ingest.steps.dedupe import InFileDedupe
from ingest.steps.layout import RecordLayout
from ingest.steps.merge import Merger
from ingest.steps.policy import DRY_RUN, STANDARD, write_policy
from ingest.steps.read import RowReader
from ingest.steps.types import (
    DECISION_INSERTED,
    DECISION_SKIPPED,
    INSERTED,
    MATCHED_IN_FILE,
    QUARANTINED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Record,
    Row,
)
from ingest.steps.validate import Validator


def organization() -> registry.Target:
    return registry.get("organization")


def valid_row(number: int, external_id: str, name: str = "Acme") -> Row:
    row = RowReader(organization(), None).read(
        ReadRow(number=number, values={"external_id": external_id, "name": name, "country": "DE"})
    )
    return Validator(organization()).validate([row], {})[0]


def test_read_applies_the_value_mappings_as_read_or_trimmed_and_counts_them():
    reader = RowReader(organization(), {"country": {"Deutschland": "DE"}, "unknown": {"a": "b"}})
    row = reader.read(
        ReadRow(
            number=2, values={"external_id": " A-1 ", "name": "Acme", "country": " Deutschland "}
        )
    )
    assert row.payload["country"] == "DE"
    assert row.values_mapped == 1
    assert row.external_id == "A-1"
    assert row.outcome is None


def test_read_quarantines_a_row_the_reader_could_not_decode():
    row = RowReader(organization(), None).read(
        ReadRow(number=3, values={}, error="bad bytes", code="encoding")
    )
    assert row.outcome == QUARANTINED
    assert row.errors == [rules.error("", "encoding", "bad bytes")]


def test_validate_returns_the_valid_rows_and_quarantines_the_others():
    reader, validator = RowReader(organization(), None), Validator(organization())
    good = reader.read(
        ReadRow(number=2, values={"external_id": "A-1", "name": "A", "country": "DE"})
    )
    bad = reader.read(ReadRow(number=3, values={"external_id": "A-2", "name": "", "country": "DE"}))
    assert validator.validate([good, bad], {}) == [good]
    assert good.clean["name"] == "A" and len(good.payload_hash) == 32
    assert bad.outcome == QUARANTINED


def test_dedupe_skips_exact_repeats_and_quarantines_other_values_across_chunks():
    dedupe = InFileDedupe(organization())
    first = valid_row(2, "A-1")
    assert dedupe.dedupe([first]) == [first]
    repeat, other = valid_row(3, "A-1"), valid_row(4, "A-1", name="Other")
    assert dedupe.dedupe([repeat, other]) == []
    assert (repeat.outcome, repeat.decision, repeat.matched_by) == (
        SKIPPED,
        DECISION_SKIPPED,
        MATCHED_IN_FILE,
    )
    assert other.outcome == QUARANTINED
    assert other.errors[0]["code"] == rules.DUPLICATE_IN_FILE
    assert "row 2" in other.errors[0]["message"]


def test_merge_fills_a_new_record_then_updates_or_leaves_it_unchanged():
    layout = RecordLayout(organization())
    merger = Merger(
        layout, source_slug="crm", run_id=7, imported_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    record = Record(None, dict(layout.defaults), {})
    row = valid_row(2, "A-1")
    row.record, row.decision = record, DECISION_INSERTED
    merger.merge(row)
    assert row.outcome == INSERTED and record.values["name"] == "Acme" and record.dirty
    assert record.provenance["name"]["source"] == "crm"

    again = valid_row(3, "A-1")
    again.record, again.decision = record, "resolved"
    merger.merge(again)
    assert again.outcome == UNCHANGED and again.changed_fields == []

    renamed = valid_row(4, "A-1", name="Acme GmbH")
    renamed.record, renamed.decision = record, "resolved"
    merger.merge(renamed)
    assert renamed.outcome == UPDATED and list(renamed.changed_fields) == ["name"]


def test_the_dry_run_policy_differs_from_the_standard_one_in_every_decision():
    assert write_policy(dry_run=False) is STANDARD
    assert write_policy(dry_run=True) is DRY_RUN
    for field in dataclasses.fields(STANDARD):
        assert getattr(STANDARD, field.name) != getattr(DRY_RUN, field.name), field.name
