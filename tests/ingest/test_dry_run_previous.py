"""A dry run's results keep, for each update, the changed fields' values
before it (its preview shows old → new); a real import keeps nothing more
than before and pays for no copy."""

import csv
import io
import json

import pytest
from django.core.files.base import ContentFile

from ingest.results import DRY_RUN_COLUMNS, HEADER
from ingest.steps.merge import Merger
from runs import services
from runs.execution import runner
from runs.models import ImportRun

pytestmark = pytest.mark.django_db

BEFORE = b"external_id,name,country\nA-1,Acme,DE\nA-2,Beta,FR\n"
AFTER = b"external_id,name,country\nA-1,Acme GmbH,DE\nA-2,Beta,IT\nA-3,Gamma,IT\n"


def run_of(content: bytes, *, dry_run: bool) -> ImportRun:
    run = services.run_create(
        target="organization",
        source="crm",
        file=ContentFile(content),
        filename="orgs.csv",
        dry_run=dry_run,
    )
    runner.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def results(run: ImportRun) -> tuple[list[str], dict[str, dict[str, str]]]:
    with run.results_file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    header = next(csv.reader(io.StringIO(text)))
    return header, {line["external_id"]: line for line in csv.DictReader(io.StringIO(text))}


def test_a_dry_run_keeps_the_old_values_of_each_changed_field():
    run_of(BEFORE, dry_run=False)
    dry = run_of(AFTER, dry_run=True)
    header, lines = results(dry)
    assert header == HEADER + DRY_RUN_COLUMNS
    assert json.loads(lines["A-1"]["previous"]) == {"name": "Acme"}
    assert json.loads(lines["A-1"]["values"])["name"] == "Acme GmbH"
    assert json.loads(lines["A-2"]["previous"]) == {"country": "FR"}
    assert lines["A-3"]["outcome"] == "inserted" and lines["A-3"]["previous"] == ""


def test_a_real_import_writes_no_old_values_and_copies_no_record(monkeypatch):
    run_of(BEFORE, dry_run=False)
    copies = []
    merge = Merger.merge

    def watched(self, row):
        merge(self, row)
        copies.append((self.keeps_previous_values, row.previous))

    monkeypatch.setattr(Merger, "merge", watched)
    real = run_of(AFTER, dry_run=False)
    header, _lines = results(real)
    assert header == HEADER
    assert copies and all(kept is False and previous is None for kept, previous in copies)
