"""Issue 22: the "columns" engine writes exactly what the "rows" engine
writes. Each scenario runs under each engine from an empty database, and
every core table (provenance included), the id map, every violation (codes
and messages), every run's counters, status and message and each results
ledger must be the same, ids included (tests/ingest/parity.py says what is
normalized: wall-clock times and the few random values made around the
engine, such as an upload's stored name).

The scenarios: the golden dataset, the identity scenarios (with hand edits
and a replay), generated files of both targets at several invalid rates and
chunk sizes, re-imports (skips, updates, older versions, natural keys under
new external ids), in-file duplicates within and across chunks, a dry run,
JSON Lines, a workbook, value mappings, a steward's requeue and messy
values. Each also checks that it shows what it is meant to cover, so a
scenario that stopped exercising its case fails instead of passing empty.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import functools
import io
import json
import runpy
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import django_rq
import pytest
import xlsxwriter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase, override_settings
from django.utils import timezone

from core.models import Organization
from demo import datagen, golden
from dq import services as dq_services
from dq.models import Violation
from ingest import identity
from ingest.models import ExternalIdMap
from ingest.services import source_get_or_create
from ingest.steps.lane import NewRecordsLane
from runs import services as run_services
from runs.execution import runner
from runs.models import ImportRun
from tests.identity import scenarios as identity_scenarios
from tests.importing import ORGS_CSV, drain_imports
from tests.ingest import parity
from tests.ingest.parity import Import, Step

ORGANIZATION = "organization"
CONTACT = "contact"
EVERY_OUTCOME = {
    "outcome:inserted",
    "outcome:updated",
    "outcome:unchanged",
    "outcome:skipped",
    "outcome:quarantined",
}


def chunks_of(size: int) -> dict[str, int]:
    return {"IMPORTER_CHUNK_SIZE": size}


def assert_engines_agree(
    steps: Sequence[Step],
    tmp_path: Path,
    *,
    covers: set[str],
    start: dt.datetime = parity.START,
    lane: collections.Counter | None = None,
) -> parity.Dump:
    """Run ``steps`` under each engine and compare everything they wrote.
    ``lane``: the chunks the column-wise engine's lane took and declined
    (``NewRecordsLane.process``), so a scenario can say it exercised both."""
    rows = parity.execute(steps, engine="rows", media_root=tmp_path / "rows", start=start)
    lane = collections.Counter() if lane is None else lane
    process = NewRecordsLane.process

    def counted(self, chunk, **options):
        taken = process(self, chunk, **options)
        lane["taken" if taken else "declined"] += 1
        lane[f"{'taken' if taken else 'declined'}:{self.target.name}"] += 1
        if taken and any(
            error["code"] == "unknown_reference" for row in chunk for error in row.errors
        ):
            lane[f"taken with an unknown reference:{self.target.name}"] += 1
        return taken

    with mock.patch.object(NewRecordsLane, "process", counted):
        columns = parity.execute(
            steps, engine="columns", media_root=tmp_path / "columns", start=start
        )
    parity.assert_same(rows, columns)
    assert covers <= parity.coverage(rows), covers - parity.coverage(rows)
    return rows


def csv_bytes(rows: Sequence[Sequence[str]], *, line_end: str = "\n", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def organizations(rows: int, *, invalid_rate: float = 0.02, **options) -> bytes:
    out = io.StringIO()
    datagen.generate_organizations(out, rows=rows, seed=22, invalid_rate=invalid_rate, **options)
    return out.getvalue().encode()


def contacts(rows: int, *, organizations: int, invalid_rate: float = 0.02, **options) -> bytes:
    out = io.StringIO()
    datagen.generate_contacts(
        out,
        rows=rows,
        seed=23,
        organizations=organizations,
        invalid_rate=invalid_rate,
        **options,
    )
    return out.getvalue().encode()


# --- 1. The golden dataset ----------------------------------------------------


def golden_steps() -> list[Step]:
    """As ``load_golden`` imports it: its sources named, then every file in order."""
    manifest = golden.manifest()

    def name_sources() -> None:
        for slug, name in manifest["sources"].items():
            source_get_or_create(slug=slug, name=name)

    steps: list[Step] = [name_sources]
    steps += [functools.partial(golden.golden_import_step, step) for step in manifest["steps"]]
    return steps


@pytest.mark.django_db
def test_the_golden_dataset(tmp_path):
    every_code = {
        "code:required",
        "code:invalid_format",
        "code:invalid_choice",
        "code:out_of_range",
        "code:too_long",
        "code:unknown_reference",
        "code:duplicate_in_file",
        "code:malformed_row",
    }
    assert_engines_agree(
        golden_steps(),
        tmp_path,
        covers=EVERY_OUTCOME | every_code | {"matched_by:natural_key", "decision:resolved"},
    )


# --- 2. The identity scenarios (fixtures/identity) ------------------------------


def hand_edit(step: dict) -> None:
    record = identity_scenarios.record_of(step["edit"])
    for name, value in step["fields"].items():
        setattr(record, name, value)
    columns = [record._meta.get_field(name).attname for name in step["fields"]]
    identity.record_save_by_hand(record=record, fields=columns, actor=step["actor"])


def release(step: dict) -> None:
    identity.record_release_manual(
        record=identity_scenarios.record_of(step["release"]), fields=step.get("fields")
    )


def replay_last_upload() -> None:
    last = ImportRun.objects.filter(kind=ImportRun.Kind.UPLOAD).latest("pk")
    replay = run_services.run_replay(run=last, enqueue=False)
    runner.run_execute(run_id=replay.pk)


def identity_steps(name: str, chunk_size: int) -> list[Step]:
    """The scenario's imports, hand edits and releases, then a replay of its
    last import (tests/identity/scenarios.py runs the same steps)."""
    steps: list[Step] = []
    for step in identity_scenarios.load(name)["steps"]:
        if "import" in step:
            path = identity_scenarios.SCENARIO_DIR / name / step["import"]
            steps.append(
                Import(
                    path.read_bytes(),
                    target=step["target"],
                    source=step["source"],
                    filename=path.name,
                    settings=chunks_of(chunk_size),
                )
            )
        elif "edit" in step:
            steps.append(functools.partial(hand_edit, step))
        else:
            steps.append(functools.partial(release, step))
    return [*steps, replay_last_upload]


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [1, 2000], ids=lambda size: f"chunk{size}")
@pytest.mark.parametrize("name", identity_scenarios.scenario_names())
def test_an_identity_scenario(name, chunk_size, tmp_path):
    covers = {"outcome:skipped"}  # the replay
    kinds = {kind for step in identity_scenarios.load(name)["steps"] for kind in step}
    if "edit" in kinds and "release" not in kinds:
        covers.add("manual")  # a field still set by hand at the end
    assert_engines_agree(
        identity_steps(name, chunk_size),
        tmp_path,
        covers=covers,
        start=identity_scenarios.START,  # its files' times were chosen around these
    )


def test_the_identity_scenarios_have_hand_edits_and_releases():
    kinds = {
        kind
        for name in identity_scenarios.scenario_names()
        for step in identity_scenarios.load(name)["steps"]
        for kind in ("import", "edit", "release")
        if kind in step
    }
    assert kinds == {"import", "edit", "release"}


# --- 3. Generated files ---------------------------------------------------------

RATES = [0, 0.02, 0.3]
GENERATED_ROWS = 2000


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [7, 500], ids=lambda size: f"chunk{size}")
@pytest.mark.parametrize("invalid_rate", RATES, ids=lambda rate: f"invalid{rate}")
@pytest.mark.parametrize("target", [ORGANIZATION, CONTACT])
def test_a_generated_file(target, invalid_rate, chunk_size, tmp_path):
    if target == ORGANIZATION:
        steps = [
            Import(
                organizations(GENERATED_ROWS, invalid_rate=invalid_rate),
                settings=chunks_of(chunk_size),
            )
        ]
    else:
        referenced = GENERATED_ROWS // 5
        content = contacts(GENERATED_ROWS, organizations=referenced, invalid_rate=invalid_rate)
        steps = [
            Import(organizations(referenced, invalid_rate=0)),
            # A dry run first: its results show the would-be organization ids.
            Import(content, target=CONTACT, dry_run=True, settings=chunks_of(chunk_size)),
            Import(content, target=CONTACT, settings=chunks_of(chunk_size)),
        ]
    covers = {"outcome:inserted"} | ({"outcome:quarantined"} if invalid_rate else set())
    if target == CONTACT and invalid_rate:
        covers.add("code:unknown_reference")
    lane: collections.Counter = collections.Counter()
    assert_engines_agree(steps, tmp_path, covers=covers, lane=lane)
    assert lane[f"taken:{target}"]
    if target == CONTACT and invalid_rate:
        assert lane["taken with an unknown reference:contact"]


@pytest.mark.django_db
def test_generated_files_split_into_partitions(tmp_path):
    """Partition jobs (by external id hash) each run the engine on their rows."""
    partitions = {"IMPORTER_PARTITION_MIN_BYTES": 1, "IMPORTER_PARTITIONS": 3, **chunks_of(50)}
    referenced = GENERATED_ROWS // 5
    steps = [
        Import(organizations(referenced, invalid_rate=0.02), settings=partitions),
        Import(
            contacts(GENERATED_ROWS // 2, organizations=referenced, invalid_rate=0.02),
            target=CONTACT,
            settings=partitions,
        ),
    ]
    dumped = assert_engines_agree(steps, tmp_path, covers={"outcome:inserted"})
    assert {run["partitions"] for run in dumped["runs.ImportRun"]} == {3}


# --- 4. Re-imports --------------------------------------------------------------

REIMPORT_ROWS = 1200


def reimport_steps(chunk_size: int) -> list[Step]:
    """The same file (skips); a later version (updates: newer wins); the
    first version again (older: its changes lose); the same records under
    new external ids, from the same source and from another (natural keys);
    contacts, then the same contacts under new ids (e-mail natural key)."""
    chunks = chunks_of(chunk_size)
    first = organizations(REIMPORT_ROWS)
    later = organizations(REIMPORT_ROWS, changed_rate=0.2, change_seed=5)
    return [
        Import(first, settings=chunks),
        Import(first, settings=chunks),
        Import(later, settings=chunks),
        Import(first, settings=chunks),
        Import(organizations(REIMPORT_ROWS // 4, id_prefix="NEW-"), settings=chunks),
        Import(organizations(REIMPORT_ROWS // 4, id_prefix="ERP-"), source="erp", settings=chunks),
        Import(
            contacts(REIMPORT_ROWS // 2, organizations=REIMPORT_ROWS),
            target=CONTACT,
            settings=chunks,
        ),
        Import(
            contacts(REIMPORT_ROWS // 4, organizations=REIMPORT_ROWS, id_prefix="CK-"),
            target=CONTACT,
            settings=chunks,
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [30, 2000], ids=lambda size: f"chunk{size}")
def test_reimports_updates_and_natural_keys(chunk_size, tmp_path):
    dumped = assert_engines_agree(
        reimport_steps(chunk_size),
        tmp_path,
        covers=EVERY_OUTCOME | {"matched_by:natural_key", "matched_by:external_id"},
    )
    rules = {
        rule
        for row in dumped["core.Organization"]
        for rule in ("most_recent", "non_null")
        if f'"{rule}"' in row["provenance"]
    }
    assert rules == {"most_recent", "non_null"}


# --- 5. In-file duplicates --------------------------------------------------------

ORG_HEADER = ["external_id", "name", "country", "registration_number", "employees", "updated_at"]
DUPLICATES = [
    ORG_HEADER,
    ["A", "Acme", "DE", "HRB 1", "10", "2024-01-01T00:00:00Z"],
    ["A", "Acme", "DE", "HRB 1", "10", "2024-01-01T00:00:00Z"],  # exact repeat: skipped
    ["B", "Beta", "FR", "", "5", ""],
    ["B", "Beta SA", "FR", "", "6", ""],  # same id, other values: quarantined
    ["C", "Acme GmbH", "DE", "hrb-1", "", "2024-02-01T00:00:00Z"],  # A's natural key, later chunk
    ["D", "Delta", "IT", "555", "1", ""],
    ["E", "Delta Srl", "IT", "555", "2", ""],  # D's natural key, same chunk of 2
    ["A", "Acme", "DE", "HRB 1", "11", ""],  # A a third time, other values
    ["B", "Beta", "FR", "", "5", ""],  # B's first values again
    ["F", "Foxtrot", "", "", "", ""],  # invalid, then repeated
    ["F", "Foxtrot", "", "", "", ""],
    ["G", "Golf", "ES", "B-1", "", "2023-01-01T00:00:00Z"],
    ["H", "Golf Iberia", "es", "b1", "", "2022-01-01T00:00:00Z"],  # G's key, older
    ["I", "India", "ES", "B 1", "", "2025-01-01T00:00:00Z"],  # and again, newer
]
CONTACT_HEADER = ["external_id", "organization_external_id", "last_name", "email"]
CONTACT_DUPLICATES = [
    CONTACT_HEADER,
    ["K1", "A", "Smith", "smith@example.com"],
    ["K2", "C", "Smith", "SMITH@example.com"],  # K1's e-mail, same chunk
    ["K1", "A", "Smith", "smith@example.com"],
    ["K3", "D", "Jones", "jones@example.com"],
    ["K1", "A", "Smyth", "smith@example.com"],  # K1 with other values
    ["K4", "E", "Jones", " Jones@Example.com "],  # K3's e-mail, another chunk
    ["K5", "Z", "Nobody", "nobody@example.com"],  # unknown organization
    ["K5", "Z", "Nobody", "nobody@example.com"],
]


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [2, 2000], ids=lambda size: f"chunk{size}")
def test_in_file_duplicates(chunk_size, tmp_path):
    chunks = chunks_of(chunk_size)
    organization_file = csv_bytes(DUPLICATES)
    contact_file = csv_bytes(CONTACT_DUPLICATES)
    steps = [
        Import(organization_file, settings=chunks),
        Import(contact_file, target=CONTACT, settings=chunks),
        Import(organization_file, settings=chunks),  # again: the repeats' occurrences
        Import(contact_file, target=CONTACT, settings=chunks),
    ]
    lane: collections.Counter = collections.Counter()
    assert_engines_agree(
        steps,
        tmp_path,
        lane=lane,
        covers={
            "outcome:skipped",
            "code:duplicate_in_file",
            "code:required",
            "code:unknown_reference",
            "matched_by:natural_key",
            "matched_by:in_file",
        },
    )
    assert lane["declined"]  # repeats in a chunk decline it
    assert lane["taken"] or chunk_size > len(DUPLICATES)


# --- 6. A dry run, JSON Lines, a workbook, value mappings, a requeue -------------

FORMATS_FIRST = [
    ["external_id", "name", "country", "registration_number", "employees", "founded"],
    ["F-1", "Foxtrot AG", "DE", "HRB 10", "10", "2001-01-01"],
    ["F-2", "Golf SA", "FR", "", "20", ""],
    ["F-3", "Hotel BV", "Germany", "", "", ""],  # quarantined: mapped once remembered
    ["F-4", "", "IT", "", "4", ""],
]
FORMATS_SECOND = [
    ["external_id", "name", "country", "registration_number", "employees", "founded"],
    ["F-1", "Foxtrot AG", "DE", "HRB 10", "12", "2001-01-01"],  # updated
    ["F-2", "Golf SA", "FR", "", "20", ""],  # skipped
    ["F-5", "Foxtrot Holding", "de", "hrb-10", "", ""],  # F-1's natural key
    ["F-6", "India SpA", "IT", "", "", "2999-01-01"],  # quarantined
    ["F-7", "Juliett Ltd", "GB", "", "7", ""],  # inserted
]
JSON_LINES = [
    {"external_id": "J-1", "name": "Json One AG", "country": "CH", "employees": 10},
    {"external_id": "J-2", "name": "Json Two", "country": "AT", "employees": 12.0, "founded": None},
    {"external_id": "J-3", "name": "Json Three", "country": "BE", "employees": "1.5"},
    {"external_id": "J-4", "name": 404, "country": "NL", "email": "x@"},
    {"external_id": "J-5", "name": "Json Five", "country": "FR", "extra": {"nested": [1, 2]}},
    {"external_id": "J-6", "name": "Json Six", "country": "DE", "employees": True},
    {"external_id": "F-1", "name": "Foxtrot AG", "country": "DE", "registration_number": "HRB 10"},
]


def json_lines() -> bytes:
    lines = [json.dumps(line, ensure_ascii=False) for line in JSON_LINES]
    lines.insert(3, "{not json")
    lines.insert(5, "[1, 2, 3]")
    return ("\n".join(lines) + "\n").encode()


def workbook() -> bytes:
    """Typed cells: numbers, a date, a date-time, a boolean, blanks."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_urls": False})
    sheet = book.add_worksheet("Organizations")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    times = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, ["external_id", "name", "country", "employees", "founded", "updated_at"])
    sheet.write_row(1, 0, ["X-1", "Xray GmbH", "DE", 250])
    sheet.write_datetime(1, 4, dt.datetime(1999, 12, 31), dates)
    sheet.write_datetime(1, 5, dt.datetime(2024, 3, 1, 12, 30), times)
    sheet.write_row(2, 0, ["X-2", "Yankee Ltd", "GB", 12.5, "", ""])
    sheet.write_row(3, 0, [3, "Zulu SARL", "FR", 1e3, 20240101, True])
    sheet.write_row(4, 0, ["X-4", "Foxtrot AG", "DE", None, "", ""])
    sheet.write_row(5, 0, ["F-1", "Foxtrot AG", "DE", 12])
    book.close()
    return out.getvalue()


def remember_country_mapping() -> None:
    dq_services.value_mapping_save(
        source_id=source_get_or_create(slug="crm").pk,
        target=ORGANIZATION,
        field_name="country",
        from_value="Germany",
        to_value="DE",
        actor=None,
    )


def fix_and_requeue() -> None:
    """A steward fixes one violation and requeues it with one left as it
    was: a remediation run of the two rows (enqueued at commit; with Redis,
    drained by a worker in this process, as tests/conftest.py's on_commit)."""
    live = Violation.objects.filter(dry_run=False, status=Violation.Status.OPEN)
    fixed = live.get(external_id="F-4")
    dq_services.violation_edit(
        violation=fixed, payload={**fixed.payload, "name": "Kilo Srl"}, actor=None
    )
    requeued = live.filter(external_id__in=["F-4", "F-6"])
    with override_settings(RQ={**settings.RQ, "COMMIT_MODE": "auto"}):
        if not settings.IMPORTER_SYNC_JOBS:
            django_rq.get_queue("imports").empty()
        with TestCase.captureOnCommitCallbacks(execute=True):
            dq_services.violations_requeue(violations=requeued, actor=None)
        drain_imports()


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [2, 2000], ids=lambda size: f"chunk{size}")
def test_a_dry_run_json_lines_a_workbook_value_mappings_and_a_requeue(chunk_size, tmp_path):
    chunks = chunks_of(chunk_size)
    second = csv_bytes(FORMATS_SECOND)
    steps = [
        Import(csv_bytes(FORMATS_FIRST), settings=chunks),
        Import(second, dry_run=True, settings=chunks),
        Import(second, settings=chunks),
        Import(json_lines(), filename="rows.jsonl", settings=chunks),
        Import(workbook(), filename="book.xlsx", settings=chunks),
        remember_country_mapping,
        Import(csv_bytes(FORMATS_FIRST), settings=chunks),
        Import(
            csv_bytes([["Id", "Company", "Land"], ["F-8", "Lima Oy", "FI"], ["F-9", "Mike", "??"]]),
            params={"column_map": {"Id": "external_id", "Company": "name", "Land": "country"}},
            settings=chunks,
        ),
        fix_and_requeue,
    ]
    dumped = assert_engines_agree(
        steps,
        tmp_path,
        covers=EVERY_OUTCOME | {"code:malformed_row", "code:out_of_range", "code:required"},
    )
    runs = dumped["runs.ImportRun"]
    assert any(line.get("previous") for line in parity.ledger_lines(dumped))  # the dry run's
    assert {run["kind"] for run in runs} == {"upload", "remediation"}
    assert any(run["values_mapped"] for run in runs)


# --- 7. Messy values ------------------------------------------------------------

LONG = "Ä" * 250


def organization(external_id: str, name: str, country: str = "DE", **values: str) -> list[str]:
    """A row of every organization column, blank unless given."""
    row = {"external_id": external_id, "name": name, "country": country, **values}
    return [row.get(column, "") for column in datagen.ORGANIZATION_COLUMNS]


# Rows M-01..M-29 are valid however they are written; M-40 on have one defect each.
MESSY = [
    list(datagen.ORGANIZATION_COLUMNS),
    organization(
        "M-01",
        "  Zürich Versicherung AG ",
        "ch",
        registration_number="CHE-105.805.080",
        website="https://www.zurich.example",
        email="info@zurich.example",
        phone="+41 44 628 28 28",
        industry="Insurance",
        employees="1000",
        founded="1872-01-01",
        updated_at="2024-05-01T10:00:00+02:00",
    ),
    organization(
        "M-02",
        "Ωmega Ελλάς",
        "gr",
        email="info@omega.example",
        phone="210 1234567",
        employees="  12 ",
        founded="2001-02-03T00:00:00",
        updated_at="2024-05-01 10:00:00 UTC",
    ),
    organization(
        "M-03",
        "Zero\u200bWidth",
        registration_number="HRB\u200b 77",
        phone="030 1234567",
        founded="2020-01-01T00:00:00Z",
        updated_at="2024-05-01T10:00:00Z",
    ),
    organization(
        "M-04",
        "\u00a0Nbsp\u00a0Name\u00a0",
        "NL",
        phone="+31 20 123 4567",
        employees="007",
        updated_at="2024-05-01T10:00:00.123456-05:00",
    ),
    ["M-05", "Blank Fields Ltd", "GB", " ", "   ", " ", "\t", " ", " ", " ", " "],
    organization(
        "M-07",
        "名古屋商事株式会社",
        "jp",
        registration_number="1234-01-567890",
        email="info@例え.jp",
        phone="03-1234-5678",
        employees="12",
        founded="1950-04-01",
        updated_at="2025-01-01T00:00:00+09:00",
    ),
    organization("M-10", "Tab\tName", "US", phone="(415) 555-0132", employees="-0"),
    organization("M-12", "Line\nBreak Co"),
    organization("=M-14", "Formula Id", industry="@SUM(A1)"),
    organization("M-15", "Emoji 🚀 GmbH", email="UPPER@Example.COM"),
    organization(" M-15 ", "Emoji 🚀 GmbH", email="UPPER@Example.COM"),
    organization("M-16", "Midnight Co", founded="2020-01-01T00:00:00.000+00:00"),
    organization("M-17", "Offset Co", founded="2020-01-01T00:00:00+02:00"),
    organization(
        "M-22",
        "Émile & Fils SARL",
        "FR",
        website="https://émile.example",
        email="emile@fils.example",
        phone="+33 1 42 68 53 00",
        updated_at="2025-01-01T00:00:00+01:00",
    ),
    organization(
        "M-23",
        'Quote "Name" Inc',
        "US",
        phone="+1-415-555-0132",
        email="ceo@quote.example",
        updated_at="2024-02-29T23:59:59Z",
    ),
    organization("M-24", "Bracket GmbH", phone="+49 (0)30 1234567", registration_number="hrb 77"),
    # Times as spreadsheets write them: without seconds, or a date alone.
    organization("M-25", "Minutes Co", updated_at="2024-05-01 10:30"),
    organization("M-26", "Minutes Offset Co", updated_at="2024-05-01T10:30+02:00"),
    organization("M-27", "Minutes UTC Co", updated_at="2024-05-01t10:30 utc"),
    organization("M-28", "Day Co", updated_at="2024-05-01"),
    organization("M-29", "Hour Co", updated_at="2024-05-01T10"),
    organization("M-40", "Dot Thousands", employees="1.000"),
    organization("M-41", "Comma Thousands", employees="1,000"),
    organization("M-42", "Space Thousands", employees="1 000"),
    organization("M-43", "Greek Mail", email="άλφα@παράδειγμα.δοκιμή"),
    organization("M-44", "Zero Width Mail", email="zw\u200b@example.com"),
    organization("M-45", "Ctrl\x01Char GmbH"),
    organization("M-46", "Founded At One", founded="2020-01-01 13:00"),
    organization("M-47", "Founded Never", founded="2020-02-30"),
    organization("M-48", "Month 13", updated_at="2025-13-01T00:00:00Z"),
    organization("M-49", "Epoch", updated_at="1712345678"),
    organization("M-50", "Long Phone", phone="+49 30 1234567890123456"),
    organization("M-51", LONG),
    organization("M-52", "Spelled Country", "Deutschland"),
    organization("M-53", "Future Co", updated_at="2999-01-01T00:00:00Z"),
    organization("", "Missing Id"),
    organization("M" * 300, "Long Id Co"),
    organization("M-54", "Wide Co", website="https://x.example/" + "a" * 600),
    ["M-55", "Too Few Fields", "DE"],
    organization("M-56", "Too Many Fields") + ["extra"],
]
MESSY_CONTACTS = [
    ["external_id", "organization_external_id", "first_name", "last_name", "email", "phone"],
    ["K-01", "M-01", "Zoë", "Ångström", "zoe@zurich.example", "+41 44 628 28 28"],
    ["K-02", "M-01", "", "O'Brien", "o.brien@Example.com", ""],
    ["K-03", "M-07", "太郎", "山田", "taro@例え.jp", "+81 3-1234-5678"],
    ["K-04", "M-03", "Zero\u200b", "Width", "zw@example.com", ""],
    ["K-05", "M-01", "", "Same Mail", " O.Brien@example.com ", ""],  # K-02's natural key
    ["K-06", "", "No", "Org", "no.org@example.com", "+44 20 7946 0958"],
    ["K-07", " M-22 ", "Space", "Ref", "", ""],
    ["K-20", "M-99", "", "Unknown Ref", "", ""],
    ["K-21", "M-51", "", "Quarantined Ref", "", ""],
    ["K-22", "M-01", "Zoë", "Upper", "ZOË@zurich.example", ""],
    ["K-23", "M-01", "National", "Phone", "", "030 1234567"],
    ["K-24", "M-05", "Ctl", "Char\x7f", "c@example.com", ""],
    ["K-25", "M-01", "Long", LONG, "", ""],
    ["K-26", "m-01", "Case", "Ref", "", ""],
]


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [3, 2000], ids=lambda size: f"chunk{size}")
def test_messy_values(chunk_size, tmp_path):
    chunks = {**chunks_of(chunk_size), "IMPORTER_MAX_FIELD_CHARS": 500}
    steps = [
        Import(csv_bytes(MESSY, bom=True), settings=chunks),
        Import(csv_bytes(MESSY_CONTACTS, line_end="\r\n"), target=CONTACT, settings=chunks),
        Import(csv_bytes(MESSY, line_end="\r\n"), settings=chunks),
        # File-level failures: their message, nothing written.
        Import(b"external_id,name\nM-30,No Country\n", settings=chunks),
        Import(b"", settings=chunks),
        Import("external_id,name,country\nM-31,Caf\xe9,FR\n".encode("cp1252"), settings=chunks),
    ]
    lane: collections.Counter = collections.Counter()
    dumped = assert_engines_agree(
        steps,
        tmp_path,
        lane=lane,
        covers={
            "outcome:inserted",
            "outcome:updated",
            "outcome:skipped",
            "outcome:quarantined",
            "matched_by:natural_key",
            "matched_by:in_file",
            "code:required",
            "code:invalid_choice",
            "code:too_long",
            "code:invalid_format",
            "code:out_of_range",
            "code:malformed_row",
            "code:unknown_reference",
        },
    )
    assert lane["taken"] and lane["declined"]
    assert [run["status"] for run in dumped["runs.ImportRun"]][3:5] == ["failed", "failed"]
    assert all(run["error_message"] for run in dumped["runs.ImportRun"][3:5])


# --- The harness itself -------------------------------------------------------------
# The harness itself: any difference in what an engine writes, made here by
# hand under "columns" only, fails the comparison at its place.


def tamper_with_a_record_field() -> None:
    Organization.objects.filter(pk=1).update(name="Acme!")


def tamper_with_provenance() -> None:
    """The import time of one field read from the clock instead of the run."""
    record = Organization.objects.get(pk=1)
    provenance = record.provenance
    provenance["name"] = {**provenance["name"], "at": timezone.now().isoformat()}
    Organization.objects.filter(pk=1).update(provenance=provenance)


def tamper_with_the_id_map() -> None:
    ExternalIdMap.objects.filter(pk=1).update(payload_hash="0" * 32)


def tamper_with_a_violation_message() -> None:
    violation = Violation.objects.get(pk=1)
    errors = [{**error, "message": error["message"] + " "} for error in violation.errors]
    Violation.objects.filter(pk=1).update(errors=errors)


def tamper_with_a_run_counter() -> None:
    ImportRun.objects.filter(pk=1).update(unchanged=1)


def tamper_with_the_ledger() -> None:
    """One line ending changed in the results file."""
    run = ImportRun.objects.get(pk=1)
    path = Path(run.results_file.path)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n", 1))


def tamper_with_insertion_order() -> None:
    """The same records written in the other order: each has the other's id."""
    first, second = Organization.objects.order_by("pk").values()
    for record, values in ((first, second), (second, first)):
        Organization.objects.filter(pk=record["id"]).update(
            **{name: value for name, value in values.items() if name != "id"}
        )
    for mapping in ExternalIdMap.objects.all():
        other = second if mapping.record_id == first["id"] else first
        ExternalIdMap.objects.filter(pk=mapping.pk).update(record_id=other["id"])


# Each tampering, and where the comparison must see it.
TAMPERING = [
    (tamper_with_a_record_field, "['core.Organization'][0]['name']"),
    (tamper_with_provenance, "['core.Organization'][0]['provenance']"),
    (tamper_with_the_id_map, "['ingest.ExternalIdMap'][0]['payload_hash']"),
    (tamper_with_a_violation_message, "['dq.Violation'][0]['errors']"),
    (tamper_with_a_run_counter, "['runs.ImportRun'][0]['unchanged']"),
    (tamper_with_the_ledger, "['results ledger of run 1'][0]"),
    (tamper_with_insertion_order, "['ingest.ExternalIdMap'][0]['record_id']"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper, where", TAMPERING, ids=[tamper.__name__ for tamper, _ in TAMPERING]
)
def test_the_harness_fails_on_a_difference_under_one_engine(tamper, where, tmp_path):
    def import_then_tamper_under_columns() -> None:
        Import(ORGS_CSV + b"A-4,Delta,FR\n")()
        if settings.IMPORTER_ENGINE == "columns":
            tamper()

    with pytest.raises(AssertionError, match="the engines wrote differently") as failed:
        assert_engines_agree([import_then_tamper_under_columns], tmp_path, covers=set())
    assert where in str(failed.value)


@pytest.mark.django_db
def test_two_executions_start_from_the_same_ids(tmp_path):
    """Whatever earlier tests left in the id sequences."""
    Import(ORGS_CSV)()
    dumped = parity.execute([Import(ORGS_CSV)], engine="rows", media_root=tmp_path)
    assert [run["id"] for run in dumped["runs.ImportRun"]] == [1]
    assert [record["id"] for record in dumped["core.Organization"]] == [1]


def test_the_engine_setting_is_rows_or_columns(monkeypatch):
    path = str(Path(settings.BASE_DIR) / "importer_project" / "settings.py")
    monkeypatch.delenv("IMPORTER_ENGINE", raising=False)
    assert runpy.run_path(path)["IMPORTER_ENGINE"] == "columns"
    monkeypatch.setenv("IMPORTER_ENGINE", "rows")
    assert runpy.run_path(path)["IMPORTER_ENGINE"] == "rows"
    monkeypatch.setenv("IMPORTER_ENGINE", "polars")
    with pytest.raises(ImproperlyConfigured, match='IMPORTER_ENGINE must be "rows" or "columns"'):
        runpy.run_path(path)
