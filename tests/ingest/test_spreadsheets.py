"""Tests for ingest.readers.spreadsheets: xlsx, xls and ods read through calamine
into the same rows as CSV. The committed workbooks in fixtures/spreadsheets
(made by make_fixtures.py there) hold the same sheet in each format; other
shapes are written here with xlsxwriter."""

from __future__ import annotations

import datetime as dt
import gc
import re
import shutil
import types
import zipfile
from pathlib import Path

import pytest
import python_calamine
import xlsxwriter

from core.models import Organization
from dq.models import Violation
from ingest import errors
from ingest.errors import FileError
from ingest.readers import open_reader, preview_file, xlsx_chunks
from ingest.readers.spreadsheets import cell_text
from runs import services
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import import_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "spreadsheets"
FIELDS = ["external_id", "name", "country", "employees", "founded", "updated_at", "website"]
REQUIRED = ["external_id", "name", "country"]

# The "Orgs" sheet of every fixture, as read: (row number, values).
ORGS_ROWS = [
    (
        5,
        {
            "external_id": "ORG-1",
            "name": "Acme GmbH",
            "country": "de",
            "employees": "1200",
            "founded": "2001-05-01",
            "updated_at": "2024-05-01T12:30:00",
            "website": "https://acme.example",
        },
    ),
    (
        6,
        {
            "external_id": "ORG-2",
            "name": "Beta SARL",
            "country": "FR",
            "employees": "2400",
            "founded": "1999-12-31",
            "updated_at": "",
            "website": "",
        },
    ),
    (
        8,
        {
            "external_id": "ORG-3",
            "name": "Gamma Ltd",
            "country": "XX",
            "employees": "-5",
            "founded": "",
            "updated_at": "",
            "website": "",
        },
    ),
    (
        9,
        {
            "external_id": "ORG-4",
            "name": "Delta AG",
            "country": "CH",
            "employees": "12.5",
            "founded": "",
            "updated_at": "",
            "website": "",
        },
    ),
]


def read(path, **options):
    options.setdefault("fields", FIELDS)
    options.setdefault("required", REQUIRED)
    with open_reader(path, **options) as reader:
        return reader, [(row.number, row.values) for row in reader]


def file_error(path, **options) -> str:
    options.setdefault("fields", FIELDS)
    options.setdefault("required", REQUIRED)
    with pytest.raises(FileError) as info:
        open_reader(path, **options)
    return str(info.value)


def copy(tmp_path, fixture: str, name: str) -> Path:
    path = tmp_path / name
    shutil.copyfile(FIXTURES / fixture, path)
    return path


def xlsx(
    tmp_path, sheets: dict[str, list[tuple[int, int, object]]], name: str = "book.xlsx", hidden=()
) -> Path:
    """A workbook of sheets given as (row, column, value) cells, 0-based."""
    path = tmp_path / name
    workbook = xlsxwriter.Workbook(path, {"strings_to_urls": False})
    added = []
    for sheet_name, cells in sheets.items():
        sheet = workbook.add_worksheet(sheet_name)
        for row, column, value in cells:
            sheet.write(row, column, value)
        added.append(sheet)
    if hidden:
        next(
            sheet for sheet in added if sheet.name not in hidden
        ).activate()  # the active sheet cannot be hidden
        for sheet in added:
            if sheet.name in hidden:
                sheet.hide()
    workbook.close()
    return path


def table(rows: list[list[object]], top: int = 0, left: int = 0) -> list[tuple[int, int, object]]:
    return [(top + r, left + c, value) for r, row in enumerate(rows) for c, value in enumerate(row)]


# --- The three formats -------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, kind", [("orgs.xlsx", "xlsx"), ("orgs.xls", "xls"), ("orgs.ods", "ods")]
)
def test_each_format_reads_the_first_sheet_below_its_title_rows(fixture, kind):
    reader, rows = read(FIXTURES / fixture)
    assert (reader.format, reader.sheet, reader.header_row) == (kind, "Orgs", 4)
    assert reader.columns == FIELDS and reader.unknown_columns == []
    expected = ORGS_ROWS
    if kind == "xls":  # xlwt stores a formula without its calculated value: the cell reads empty
        expected = [(5, ORGS_ROWS[0][1]), (6, {**ORGS_ROWS[1][1], "employees": ""}), *ORGS_ROWS[2:]]
    assert rows == expected


def test_the_format_is_known_from_the_first_bytes_whatever_the_name(tmp_path):
    for name in ("upload.csv", "upload", "orgs.xls"):
        reader, rows = read(copy(tmp_path, "orgs.xlsx", name))
        assert reader.format == "xlsx" and rows == ORGS_ROWS
    reader, _ = read(copy(tmp_path, "orgs.ods", "orgs.xlsx"))
    assert reader.format == "ods"
    reader, _ = read(copy(tmp_path, "orgs.xls", "export.bin"))
    assert reader.format == "xls"


def test_a_text_file_named_xls_is_read_as_the_text_it_is(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("external_id\tname\tcountry\nA1\tAcme\tDE\n")
    reader, rows = read(path)
    assert reader.format == "csv" and rows == [
        (2, {"external_id": "A1", "name": "Acme", "country": "DE"})
    ]


def test_a_reader_can_be_read_twice(tmp_path):
    with open_reader(FIXTURES / "orgs.xlsx", fields=FIELDS, required=REQUIRED) as reader:
        first = [(row.number, row.values) for row in reader]
        assert [(row.number, row.values) for row in reader] == first == ORGS_ROWS


# --- Sheets ----------------------------------------------------------------------


@pytest.mark.parametrize("sheet", ["More", "more", " More ", "1", 1])
def test_a_sheet_is_chosen_by_name_or_by_position_from_0(sheet):
    reader, rows = read(FIXTURES / "orgs.ods", sheet=sheet)
    assert reader.sheet == "More" and reader.header_row == 1
    assert rows == [(2, {"external_id": "ORG-10", "name": "Second Sheet BV", "country": "NL"})]


def test_a_sheet_named_like_a_number_wins_over_the_position(tmp_path):
    path = xlsx(
        tmp_path,
        {
            "Orgs": table([["external_id", "name", "country"], ["A1", "First", "DE"]]),
            "0": table([["external_id", "name", "country"], ["B1", "Named zero", "FR"]]),
        },
    )
    assert read(path, sheet="0")[1] == [
        (2, {"external_id": "B1", "name": "Named zero", "country": "FR"})
    ]
    assert read(path, sheet=0)[1] == [(2, {"external_id": "A1", "name": "First", "country": "DE"})]


@pytest.mark.parametrize("sheet", ["Nope", "2", 7, "-1"])
def test_an_unknown_sheet_fails_the_file_listing_the_sheets(sheet):
    assert file_error(FIXTURES / "orgs.xlsx", sheet=sheet) == errors.SHEET_NOT_FOUND.format(
        sheet=sheet, sheets="0: 'Orgs', 1: 'More'"
    )


def test_the_default_is_the_first_visible_sheet(tmp_path):
    path = xlsx(
        tmp_path,
        {
            "Notes": [(0, 0, "hidden notes")],
            "Data": table([["external_id", "name", "country"], ["A1", "Acme", "DE"]]),
        },
        hidden=("Notes",),
    )
    reader, rows = read(path)
    assert reader.sheet == "Data" and rows == [
        (2, {"external_id": "A1", "name": "Acme", "country": "DE"})
    ]
    # Positions count every sheet: 0 is the hidden one, which has no header.
    assert file_error(path, sheet=0) == errors.MISSING_COLUMNS.format(
        columns="external_id, name, country"
    )


DATA = table([["external_id", "name", "country"], ["A1", "Acme", "DE"]])


@pytest.mark.parametrize("first", [[(0, 0, "Exported from CRM on 2024-05-01")], []])
def test_a_cover_sheet_first_gives_way_to_the_one_sheet_with_the_header(tmp_path, first):
    """A cover, notes or empty first sheet, and one sheet whose header names
    every required field: that one is read, as a person would."""
    path = xlsx(tmp_path, {"Read me": first, "Data": DATA, "Lists": [(0, 0, "countries")]})
    reader, rows = read(path)
    assert reader.sheet == "Data"
    assert rows == [(2, {"external_id": "A1", "name": "Acme", "country": "DE"})]
    assert preview_file(path, fields=FIELDS, required=REQUIRED).sheet == "Data"


@pytest.mark.parametrize(
    "first, message",
    [
        (
            [(0, 0, "Exported from CRM")],
            errors.MISSING_COLUMNS.format(columns="external_id, name, country"),
        ),
        ([], errors.NO_HEADER),
    ],
)
def test_without_one_sheet_to_read_instead_the_message_names_the_sheets(tmp_path, first, message):
    path = xlsx(tmp_path, {"Read me": first, "2023": DATA, "2024": DATA})
    assert file_error(path) == message + errors.SHEET_READ_BY_DEFAULT.format(
        sheet="Read me", sheets="0: 'Read me', 1: '2023', 2: '2024'"
    )
    # A sheet chosen is read as chosen, and the message is about it alone.
    assert file_error(path, sheet="Read me") == message


@pytest.mark.django_db
def test_the_sheet_read_instead_is_recorded_on_the_run(tmp_path):
    path = xlsx(tmp_path, {"Read me": [(0, 0, "Exported from CRM")], "Data": DATA})
    run = import_bytes(path.read_bytes(), filename="export.xlsx")
    assert (run.status, run.inserted) == ("succeeded", 1)
    assert run.ingest_params_json["detected"]["sheet"] == "Data"


# --- Shapes and values -------------------------------------------------------


def test_row_numbers_are_the_sheets_wherever_the_data_starts(tmp_path):
    """Data in C3 onwards: row numbers still count from the sheet's row 1,
    and a blank row is skipped but numbered."""
    cells = table(
        [
            ["external_id", "name", "country"],
            ["A1", "Acme", "DE"],
            ["", "", ""],
            ["A2", "Beta", "FR"],
        ],
        top=2,
        left=2,
    )
    reader, rows = read(xlsx(tmp_path, {"S": cells}))
    assert reader.header_row == 3
    assert [number for number, _ in rows] == [4, 6]


def test_cells_right_of_the_header_and_repeated_headers_are_ignored(tmp_path):
    cells = table(
        [
            ["external_id", "name", "country"],
            ["A1", "Acme", "DE", None, "a note"],
            ["external_id", "name", "country"],
            ["A2", "Beta", "FR"],
        ]
    )
    _, rows = read(xlsx(tmp_path, {"S": [cell for cell in cells if cell[2] is not None]}))
    assert rows == [
        (2, {"external_id": "A1", "name": "Acme", "country": "DE"}),
        (4, {"external_id": "A2", "name": "Beta", "country": "FR"}),
    ]


def test_a_cell_over_the_field_limit_costs_its_row(tmp_path):
    cells = table(
        [["external_id", "name", "country"], ["A1", "x" * 101, "DE"], ["A2", "Beta", "FR"]]
    )
    _, rows = read(xlsx(tmp_path, {"S": cells}), max_field_chars=100)
    with open_reader(xlsx(tmp_path, {"S": cells}), fields=FIELDS, max_field_chars=100) as reader:
        first = next(iter(reader))
    assert (first.number, first.error, first.code) == (
        2,
        errors.FIELD_TOO_BIG.format(limit=100),
        "too_long",
    )
    assert rows[1] == (3, {"external_id": "A2", "name": "Beta", "country": "FR"})


def test_a_column_map_and_header_checks_work_as_for_csv(tmp_path):
    cells = table([["ID", "Company", "Country"], ["A1", "Acme", "DE"]])
    path = xlsx(tmp_path, {"S": cells})
    _, rows = read(path, column_map={"ID": "external_id", "Company": "name"})
    assert rows == [(2, {"external_id": "A1", "name": "Acme", "country": "DE"})]
    assert file_error(path) == errors.MISSING_COLUMNS.format(columns="external_id, name")


def test_a_mapped_column_wins_over_the_one_named_as_its_field(tmp_path):
    cells = table([["ID", "Company Name", "Country", "Name"], ["A1", "Acme Inc", "DE", "Acme"]])
    reader, rows = read(
        xlsx(tmp_path, {"S": cells}), column_map={"ID": "external_id", "Company Name": "name"}
    )
    assert reader.unknown_columns == ["Name"]
    assert rows == [(2, {"external_id": "A1", "name": "Acme Inc", "country": "DE"})]


def test_a_column_without_a_name_is_not_read(tmp_path):
    cells = table([["external_id", None, "name", "country"], ["A1", "note", "Acme", "DE"]])
    path = xlsx(tmp_path, {"S": [cell for cell in cells if cell[2] is not None]})
    reader, rows = read(path)
    assert (reader.columns, reader.unknown_columns) == (["external_id", "name", "country"], [])
    assert rows == [(2, {"external_id": "A1", "name": "Acme", "country": "DE"})]


def test_an_empty_sheet_has_no_header(tmp_path):
    assert file_error(xlsx(tmp_path, {"Empty": []})) == errors.NO_HEADER


@pytest.mark.parametrize(
    "value, text",
    [
        (1200.0, "1200"),
        (-5.0, "-5"),
        (12.5, "12.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (2.0**53, "9007199254740992.0"),
        (1.2345678901234568e17, "1.2345678901234568e+17"),
        (7, "7"),
        (True, "true"),
        (False, "false"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
        (dt.datetime(2024, 5, 1, 12, 30, 0, 250_000), "2024-05-01T12:30:00.250"),
        (dt.time(12, 30), "12:30:00"),
        (dt.timedelta(hours=36, minutes=5), "36:05:00"),
        (dt.timedelta(minutes=-90), "-1:30:00"),
        ("  kept as is ", "  kept as is "),
    ],
)
def test_cells_become_text(value, text):
    assert cell_text(value) == text


def test_typed_cells_of_a_real_workbook_become_text(tmp_path):
    path = tmp_path / "typed.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(
        0, 0, ["external_id", "name", "country", "employees", "founded", "updated_at", "website"]
    )
    sheet.write_row(1, 0, ["A1", True, "DE", 1200.0])
    sheet.write_datetime(
        1, 4, dt.datetime(2024, 5, 1), workbook.add_format({"num_format": "dd/mm/yyyy"})
    )
    sheet.write_datetime(
        1,
        5,
        dt.datetime(2024, 5, 1, 12, 30),
        workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    )
    sheet.write_formula(1, 6, '="https://"&"acme.example"', None, "https://acme.example")
    workbook.close()
    _, rows = read(path)
    assert rows == [
        (
            2,
            {
                "external_id": "A1",
                "name": "true",
                "country": "DE",
                "employees": "1200",
                "founded": "2024-05-01",
                "updated_at": "2024-05-01T12:30:00",
                "website": "https://acme.example",
            },
        )
    ]


# --- Files that cannot be read -------------------------------------------------


def test_a_password_protected_workbook_fails_with_a_clear_message(tmp_path):
    assert file_error(FIXTURES / "protected.xlsx") == errors.PASSWORD_PROTECTED
    assert file_error(copy(tmp_path, "protected.xlsx", "upload.csv")) == errors.PASSWORD_PROTECTED


def test_a_workbook_cut_short_fails_as_damaged(tmp_path):
    data = (FIXTURES / "orgs.xlsx").read_bytes()
    cut = tmp_path / "orgs.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    message = file_error(cut)
    assert message.startswith(errors.SPREADSHEET_UNREADABLE.split("{")[0])
    assert str(tmp_path) not in message
    # Not named as a workbook, a broken ZIP is just a ZIP.
    (tmp_path / "orgs.csv").write_bytes(data[: len(data) // 2])
    assert file_error(tmp_path / "orgs.csv") == errors.BINARY_FILE.format(kind=errors.KIND_ZIP)


def test_a_zip_that_is_not_a_workbook_is_refused_as_a_zip(tmp_path):
    path = tmp_path / "orgs.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("orgs.csv", "external_id,name,country\n")
    assert file_error(path) == errors.BINARY_FILE.format(kind=errors.KIND_ZIP)


@pytest.mark.parametrize(
    "name, options",
    [
        ("orgs.xlsb", {}),
        ("orgs.csv", {}),
        ("orgs.xlsb", {"format": "xlsx"}),
        ("orgs.xlsb", {"format": "csv"}),
    ],
)
def test_an_excel_binary_workbook_is_named_with_how_to_save_it(tmp_path, name, options):
    # It was "a ZIP (not an Excel or OpenDocument workbook) file".
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert file_error(path, **options) == errors.XLSB_FILE


def test_a_workbook_format_given_for_text_fails_as_unreadable(tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,country\nA1,Acme,DE\n")
    assert file_error(path, format="xls").startswith(errors.SPREADSHEET_UNREADABLE.split("{")[0])


def test_an_office_document_that_is_no_workbook_is_refused_as_such(tmp_path):
    path = tmp_path / "letter.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000))
    assert file_error(path) == errors.BINARY_FILE.format(kind=errors.KIND_OLE2)
    named_xls = tmp_path / "orgs.xls"
    named_xls.write_bytes(path.read_bytes())
    assert file_error(named_xls).startswith(errors.SPREADSHEET_UNREADABLE.split("{")[0])


@pytest.mark.parametrize("sheet", ["x" * 101, "a\x00b"])
def test_a_sheet_name_too_long_or_with_nul_is_refused(sheet):
    assert file_error(FIXTURES / "orgs.xlsx", sheet=sheet) == errors.BAD_SHEET.format(limit=100)


# --- Through the pipeline ------------------------------------------------------


def import_fixture(fixture: str, **options):
    return import_bytes((FIXTURES / fixture).read_bytes(), filename=fixture, **options)


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["orgs.xlsx", "orgs.xls", "orgs.ods"])
def test_a_workbook_imports_and_its_bad_rows_are_violations_on_their_sheet_rows(fixture):
    run = import_fixture(fixture)
    assert run.status == ImportRun.Status.PARTIAL, run.error_message
    assert (run.rows_total, run.inserted, run.quarantined) == (4, 2, 2)
    acme = Organization.objects.get(name="Acme GmbH")
    assert (acme.country, acme.employees, str(acme.founded)) == ("DE", 1200, "2001-05-01")
    violations = {v.row_number: v for v in Violation.objects.filter(run=run)}
    assert sorted(violations) == [8, 9]
    assert {e["field"]: e["code"] for e in violations[8].errors} == {
        "country": "invalid_choice",
        "employees": "out_of_range",
    }
    assert {e["field"] for e in violations[9].errors} == {"employees"}
    assert violations[9].payload["employees"] == "12.5"
    detected = run.ingest_params_json["detected"]
    assert (detected["format"], detected["sheet"], detected["header_row"]) == (
        fixture[-4:].lstrip("."),
        "Orgs",
        4,
    )


@pytest.mark.django_db
def test_a_dry_run_and_its_replay_read_the_same_sheet():
    dry = import_fixture("orgs.xlsx", dry_run=True, sheet="More")
    assert (dry.status, dry.inserted, Organization.objects.count()) == ("succeeded", 1, 0)
    assert dry.ingest_params_json["sheet"] == "More"
    real = services.run_replay(run=dry, dry_run=False, enqueue=False)
    real = runner.run_execute(run_id=real.pk, in_process=True)
    assert real.ingest_params_json["sheet"] == "More"
    assert list(Organization.objects.values_list("name", flat=True)) == ["Second Sheet BV"]


@pytest.mark.django_db
def test_an_unknown_sheet_fails_the_run_and_writes_nothing():
    run = import_fixture("orgs.ods", sheet="Contacts")
    assert run.status == "failed"
    assert run.error_message == errors.SHEET_NOT_FOUND.format(
        sheet="Contacts", sheets="0: 'Orgs', 1: 'More'"
    )
    assert Organization.objects.count() == 0


@pytest.mark.django_db
def test_a_protected_workbook_fails_the_run_with_the_message():
    run = import_fixture("protected.xlsx")
    assert (run.status, run.error_message) == ("failed", errors.PASSWORD_PROTECTED)


def reachable(start: object, depth: int = 8) -> list[object]:
    seen, frontier, found = {id(start)}, [start], []
    for _ in range(depth):
        following = []
        for obj in frontier:
            for ref in gc.get_referents(obj):
                if id(ref) not in seen and not isinstance(ref, (type, types.ModuleType)):
                    seen.add(id(ref))
                    following.append(ref)
                    found.append(ref)
        frontier = following
    return found


def test_a_closed_reader_lets_go_of_the_loaded_sheet():
    """The run's file check opens a reader and closes it while the run goes
    on: a sheet it kept would double the memory of a big workbook's run."""
    reader = open_reader(FIXTURES / "orgs.xlsx", fields=FIELDS, required=REQUIRED)
    assert any(isinstance(obj, python_calamine.CalamineSheet) for obj in reachable(reader))
    reader.close()
    assert not any(isinstance(obj, python_calamine.CalamineSheet) for obj in reachable(reader))


@pytest.mark.parametrize(
    "fixture, found", [("orgs.xlsx", "xlsx"), ("orgs.ods", "ods"), ("orgs.xls", "xls")]
)
def test_a_workbook_given_as_csv_says_what_it_is(fixture, found):
    assert file_error(FIXTURES / fixture, format="csv") == errors.WORKBOOK_GIVEN_AS_TEXT.format(
        found=found, given="csv"
    )


# --- A big xlsx sheet, read in pieces (ingest/readers/xlsx_chunks.py) ------------------------


@pytest.fixture
def pieces_of(monkeypatch):
    """Read every xlsx sheet in pieces of ``rows`` rows."""

    def set_rows(rows: int) -> None:
        monkeypatch.setattr(xlsx_chunks, "CHUNK_ABOVE_BYTES", 0)
        monkeypatch.setattr(xlsx_chunks, "ROWS_PER_CHUNK", rows)

    return set_rows


@pytest.mark.parametrize("rows", [1, 2, 3, 100])
def test_a_sheet_read_in_pieces_reads_as_the_whole_sheet(pieces_of, rows):
    pieces_of(rows)
    reader, read_rows = read(FIXTURES / "orgs.xlsx")
    assert (reader.sheet, reader.header_row) == ("Orgs", 4)
    assert read_rows == ORGS_ROWS
    assert read(FIXTURES / "orgs.xlsx", sheet="More")[1] == [
        (2, {"external_id": "ORG-10", "name": "Second Sheet BV", "country": "NL"})
    ]


def test_pieces_keep_row_numbers_and_columns_where_the_data_is_offset(tmp_path, pieces_of):
    """Data from C3, blank rows, a piece holding only blank rows, and cells
    (shared strings, numbers, dates) spread over pieces."""
    grid = [["external_id", "name", "country", "employees"]]
    for index in range(1, 40):
        grid.append(
            [f"A{index}", f"Name {index % 7}", "DE", float(index)]
            if index % 5
            else ["", "", "", ""]
        )
    path = tmp_path / "offset.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Data")
    for row, cells in enumerate(grid):
        for column, value in enumerate(cells):
            if value != "":
                sheet.write(row + 2, column + 2, value)
    sheet.write(20, 0, "left of the header")
    workbook.close()
    whole = read(path)[1]
    assert whole[0] == (
        4,
        {"external_id": "A1", "name": "Name 1", "country": "DE", "employees": "1"},
    )
    assert len(whole) == 32 and 8 not in [number for number, _ in whole]  # A5 left blank
    for rows in (1, 4, 7):
        pieces_of(rows)
        assert read(path)[1] == whole


def test_the_first_piece_is_read_once(pieces_of, monkeypatch):
    """The rows read to find the header are the data's first rows: the
    sheet's first piece is not cut and loaded a second time."""
    pieces_of(2)
    written = []
    write_piece = xlsx_chunks._write_piece
    monkeypatch.setattr(
        xlsx_chunks,
        "_write_piece",
        lambda archive, name, piece, path: (
            written.append(piece) or write_piece(archive, name, piece, path)
        ),
    )
    reader, read_rows = read(FIXTURES / "orgs.xlsx")
    assert read_rows == ORGS_ROWS
    with zipfile.ZipFile(FIXTURES / "orgs.xlsx") as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    rows = len(re.findall(rb"</row>|<row\b[^<>]*/>", xml))
    assert len(written) == -(-rows // 2)


@pytest.mark.parametrize("prefix", [b"", b"x:"])
def test_row_ends_are_found_with_or_without_a_prefix(prefix):
    """Closing tags and rows without cells, in order; a tag of another
    element or text that only looks like one is not a row's end."""
    row, cell = prefix + b"row", prefix + b"c"
    xml = (
        b"<" + row + b' r="1"><' + cell + b' r="A1"><' + prefix + b"v>1</" + prefix + b"v></"
        + cell + b"></" + row + b">"
        + b"<" + row + b' r="2" ht="20"/>'
        + b"<" + row + b' r="3"><' + cell + b' r="A3" t="inlineStr"><' + prefix + b"is><"
        + prefix + b"t>arrow&gt; row/&gt;</" + prefix + b"t></" + prefix + b"is></" + cell
        + b"></" + row + b">"
        + b"<" + prefix + b'rows r="9"/>'
        + b"<" + row + b"/>"
    )  # fmt: skip
    ends = list(xlsx_chunks._row_ends(prefix)(xml))
    expected = [
        match.end()
        for match in re.finditer(rb"</(?:[\w.-]+:)?row>|<(?:[\w.-]+:)?row\b[^<>]*/>", xml)
    ]
    assert ends == expected and len(ends) == 4


def test_a_sheet_without_cell_positions_is_read_whole(tmp_path, pieces_of):
    """Cells without ``r`` are placed by counting: pieces would restart it."""
    path = tmp_path / "unnumbered.xlsx"
    with zipfile.ZipFile(FIXTURES / "orgs.xlsx") as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet2.xml":  # "More"
                data = re.sub(rb' r="[A-Z]*[0-9]+"', b"", data)
            target.writestr(item, data)
    pieces_of(1)
    assert xlsx_chunks.sheet_part(str(path), "More") is None
    assert xlsx_chunks.sheet_part(str(path), "Orgs") is not None
    assert read(path, sheet="More")[1] == [
        (2, {"external_id": "ORG-10", "name": "Second Sheet BV", "country": "NL"})
    ]


@pytest.mark.django_db
def test_a_workbook_read_in_pieces_imports_with_its_violations_on_their_rows(pieces_of):
    pieces_of(2)
    run = import_fixture("orgs.xlsx")
    assert (run.status, run.inserted, run.quarantined) == ("partial", 2, 2)
    assert sorted(Violation.objects.filter(run=run).values_list("row_number", flat=True)) == [8, 9]


def test_a_sheet_damaged_inside_fails_as_damaged_when_read_in_pieces(
    tmp_path, pieces_of, monkeypatch
):
    """The damage is met while the pieces are cut, after the header was
    found: the reader raises the file error, which fails the run."""
    rows = [["external_id", "name", "country"]] + [
        [f"A{i}", f"Name {i * 7919 % 100_003}", "DE"] for i in range(3000)
    ]
    path = xlsx(tmp_path, {"Orgs": table(rows)})
    with zipfile.ZipFile(path) as source:
        info = source.getinfo("xl/worksheets/sheet1.xml")
        end = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size
    assert info.compress_size > 20_000
    data = bytearray(path.read_bytes())
    for position in range(end - 12, end - 4):
        data[position] ^= 0x5A  # the end of the compressed sheet: inflating or its CRC fails there
    path.write_bytes(bytes(data))
    pieces_of(100)
    monkeypatch.setattr(xlsx_chunks, "_BLOCK", 1024)  # pieces are cut before the damage is read
    with open_reader(path, fields=FIELDS, required=REQUIRED) as reader:
        assert reader.header_row == 1
        with pytest.raises(FileError) as info:
            list(reader)
    assert str(info.value).startswith(errors.SPREADSHEET_UNREADABLE.split("{")[0])
