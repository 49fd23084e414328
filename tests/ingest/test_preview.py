"""readers.preview_file: the header, found as the reader finds it, and the
first rows, for the upload form's column matching; only the file's start
is read."""

import gzip
import time

import xlsxwriter

from ingest import matching, registry
from ingest.readers import open_reader, preview_file
from ingest.readers.preview import PREVIEW_SCAN_BYTES

ORGANIZATION = registry.get("organization")
FIELDS, REQUIRED = ORGANIZATION.field_names, ORGANIZATION.required_names
HINTS = matching.header_hints(fields=FIELDS)
CRM = "Company Name;Country Code;Org ID\nAcme;DE;A-1\n\nBeta;FR;A-2\n"


def preview(path, **options):
    return preview_file(path, fields=FIELDS, required=REQUIRED, **options)


def test_a_csv_header_and_its_first_rows(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CRM)
    found = preview(path)
    assert (found.format, found.encoding, found.delimiter) == ("csv", "utf-8", ";")
    assert found.columns == ["Company Name", "Country Code", "Org ID"]
    assert found.rows == [["Acme", "DE", "A-1"], ["Beta", "FR", "A-2"]]  # the blank line skipped


def test_title_lines_are_skipped_when_synonyms_help_find_the_header(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("CRM report\nExported 2026-01-02\n" + CRM.replace(";", ","))
    assert preview(path).columns == ["CRM report"]  # no field named: the first line
    found = preview(path, column_map=HINTS)
    assert (found.columns, found.header_row) == (["Company Name", "Country Code", "Org ID"], 3)
    assert found.rows[0] == ["Acme", "DE", "A-1"]


def test_hints_find_a_header_named_as_the_fields_too(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("CRM report\nexternal_id,name,country\nA-1,Acme,DE\n")
    assert preview(path, column_map=HINTS).header_row == 2


def test_rows_are_cut_to_the_asked_number_and_padded_to_the_header(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("a,b,c\n" + "".join(f"{i},{i}\n" for i in range(50)))
    found = preview(path, rows=3)
    assert found.rows == [["0", "0", ""], ["1", "1", ""], ["2", "2", ""]]


def test_a_stray_quote_hides_only_its_own_row(tmp_path):
    """As the import reads it: the quote would swallow every line after it;
    the row is left out and reading goes on with the next line."""
    path = tmp_path / "export.csv"
    path.write_text('Org ID,Company Name,Country Code\nA-1,Acme,DE\nA-2,"Beta,FR\nA-3,Gamma,IT\n')
    assert preview(path).rows == [["A-1", "Acme", "DE"], ["A-3", "Gamma", "IT"]]


def test_json_lines_keys_of_the_first_objects(tmp_path):
    path = tmp_path / "crm.jsonl"
    path.write_text(
        '{"Org ID": "A-1", "Company Name": "Acme"}\nnot json\n{"Org ID": 2, "Country Code": "de"}\n'
    )
    found = preview(path)
    assert found.format == "jsonl"
    assert found.columns == ["Org ID", "Company Name", "Country Code"]
    assert found.rows == [["A-1", "Acme", ""], ["2", "", "de"]]


def test_a_gzip_csv_is_previewed_as_the_file_inside(tmp_path):
    path = tmp_path / "crm.csv.gz"
    path.write_bytes(gzip.compress(CRM.encode()))
    assert preview(path).columns == ["Company Name", "Country Code", "Org ID"]


def test_a_workbook_sheet_is_chosen_and_its_sheets_listed(tmp_path):
    path = tmp_path / "crm.xlsx"
    workbook = xlsxwriter.Workbook(path)
    first = workbook.add_worksheet("Export")
    first.write_row(0, 0, ["CRM export"])
    first.write_row(2, 0, ["Company Name", "Country Code", "Org ID"])
    first.write_row(3, 0, ["Acme", "DE", 17.0])
    second = workbook.add_worksheet("Contacts")
    second.write_row(0, 0, ["Surname"])
    workbook.close()
    found = preview(path, column_map=HINTS)
    assert (found.format, found.sheet, found.sheets) == ("xlsx", "Export", ["Export", "Contacts"])
    assert (found.header_row, found.columns) == (3, ["Company Name", "Country Code", "Org ID"])
    assert found.rows == [["Acme", "DE", "17"]]
    assert preview(path, sheet="Contacts").columns == ["Surname"]


def test_only_the_start_of_a_text_file_is_decoded(tmp_path):
    # A cp1252 byte far past the start: the run's reader decodes the whole
    # file and reads it as cp1252; the preview never gets there.
    path = tmp_path / "big.csv"
    body = "external_id,name,country\n" + "A,Acme,DE\n" * (2 * PREVIEW_SCAN_BYTES // 10)
    path.write_bytes(body.encode() + b"B,Caf\xe9,FR\n")
    assert preview(path).encoding == "utf-8"
    with open_reader(path, fields=FIELDS, required=REQUIRED) as reader:
        assert reader.encoding == "cp1252"


def test_a_big_file_answers_as_fast_as_a_small_one(tmp_path):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text(CRM)
    big.write_text(CRM + "Gamma;IT;A-3\n" * 1_000_000)  # 13 MB
    started = time.perf_counter()
    preview(small)
    small_s = time.perf_counter() - started
    started = time.perf_counter()
    assert preview(big).rows[:2] == [["Acme", "DE", "A-1"], ["Beta", "FR", "A-2"]]
    assert time.perf_counter() - started < small_s + 0.5
