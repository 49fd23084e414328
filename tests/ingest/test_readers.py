"""Tests for ingest.readers: encodings, CSV dialects, malformed input, JSON
Lines, whole-file errors and flat memory. Files are written to tmp_path."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import random
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import errors
from ingest.errors import FileError
from ingest.readers import ReadRow, csv_rows, open_reader, preview_file
from ingest.readers.headers import normalize_header

FIELDS = ["external_id", "name", "country", "registration_number"]


def write(tmp_path, content: str | bytes, name: str = "data.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def read(path, **options) -> list[ReadRow]:
    options.setdefault("fields", FIELDS)
    with open_reader(path, **options) as reader:
        return list(reader)


def values(rows: list[ReadRow]) -> list[dict[str, str]]:
    return [row.values for row in rows]


def file_error(path, **options) -> str:
    options.setdefault("fields", FIELDS)
    with pytest.raises(FileError) as info:
        open_reader(path, **options)
    return str(info.value)


# --- Encodings -------------------------------------------------------------

SAMPLE = "external_id,name,country\nA1,Société Générale,FR\nA2,Müller & Söhne,DE\n"
SAMPLE_VALUES = [
    {"external_id": "A1", "name": "Société Générale", "country": "FR"},
    {"external_id": "A2", "name": "Müller & Söhne", "country": "DE"},
]


@pytest.mark.parametrize(
    "raw, expected_encoding",
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (SAMPLE.encode("utf-8-sig"), "utf-8-sig"),
        (SAMPLE.encode("utf-16"), "utf-16"),  # with BOM
        (SAMPLE.encode("utf-16-be"), "utf-16-be"),
        (SAMPLE.encode("utf-16-le"), "utf-16-le"),
        (SAMPLE.encode("utf-32"), "utf-32"),
        (SAMPLE.encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_are_detected(tmp_path, raw, expected_encoding):
    with open_reader(write(tmp_path, raw), fields=FIELDS) as reader:
        assert reader.encoding == expected_encoding
        assert reader.columns == ["external_id", "name", "country"]
        rows = list(reader)
    assert values(rows) == SAMPLE_VALUES
    assert [row.number for row in rows] == [2, 3]


def test_utf16_big_endian_with_bom(tmp_path):
    raw = codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be")
    with open_reader(write(tmp_path, raw), fields=FIELDS) as reader:
        assert reader.encoding == "utf-16"
        assert values(reader) == SAMPLE_VALUES


def test_cp1252_excel_export_with_semicolons(tmp_path):
    text = "Name;Contact\r\nSociété Générale;Müller\r\n„Zürich“ – 5 €;Øre\r\n"
    path = write(tmp_path, text, encoding="cp1252")
    with open_reader(path, fields=["name", "contact"]) as reader:
        assert (reader.encoding, reader.delimiter) == ("cp1252", ";")
        assert values(reader) == [
            {"name": "Société Générale", "contact": "Müller"},
            {"name": "„Zürich“ – 5 €", "contact": "Øre"},
        ]


def test_a_utf8_file_with_a_stray_cp1252_byte_is_refused_not_read_as_mojibake(tmp_path):
    utf8 = "external_id,name\n" + "".join(f"A{i},Müller Société {i}\n" for i in range(50))
    stray = "B1,Café\n".encode("cp1252")
    raw = utf8.encode() + stray
    offset = len(utf8.encode()) + stray.index(b"\xe9")
    message = file_error(write(tmp_path, raw))
    assert message == (
        errors.UNDECODABLE.format(byte=0xE9, offset=offset, encoding="utf-8")
        + errors.MIXED_ENCODINGS
    )
    with open_reader(
        write(tmp_path, raw, "forced.csv"), fields=FIELDS, encoding="cp1252"
    ) as reader:
        assert reader.encoding == "cp1252"  # the way out it names: give the encoding


def test_cp1252_text_whose_bytes_happen_to_pair_like_utf8_is_still_cp1252(tmp_path):
    text = "external_id;name\nA1;SOCIÉTÉ\u00a0GÉNÉRALE\nA2;ÉLÉ…\n"  # É+NBSP and É+… pair like UTF-8
    path = write(tmp_path, text, encoding="cp1252")
    with open_reader(path, fields=FIELDS) as reader:
        assert reader.encoding == "cp1252"
        assert values(list(reader))[0]["name"] == "SOCIÉTÉ\u00a0GÉNÉRALE"


def test_bytes_undefined_in_cp1252_are_reported_with_their_offset(tmp_path):
    raw = "name\nCafé\n".encode("cp1252") + b"bad \x81 byte\n"
    message = file_error(write(tmp_path, raw))
    offset = raw.index(b"\x81")
    assert message == errors.UNDECODABLE.format(
        byte=0x81, offset=offset, encoding="UTF-8 or cp1252"
    )
    assert f"byte offset {offset} " in message


def test_undecodable_offset_is_exact_across_blocks(tmp_path):
    # "é" (2 bytes) is split across the first 1 MiB block boundary; the bad
    # byte sits in the second block.
    head = b"name\n" + b"a" * ((1 << 20) - 6) + "é".encode() + b"\n"
    raw = head + b"ok\nbad\xffbyte\n"
    message = file_error(write(tmp_path, raw), encoding="utf-8")
    offset = raw.index(b"\xff")
    assert offset > 1 << 20
    assert message == errors.UNDECODABLE.format(
        byte=0xFF, offset=offset, encoding="utf-8"
    ) + errors.GIVEN_ENCODING.format(encoding="utf-8")


def test_explicit_encoding_is_used_and_validated(tmp_path):
    path = write(tmp_path, "name\nÅsa\n", encoding="latin-1")
    with open_reader(path, fields=FIELDS, encoding="Latin-1") as reader:
        assert reader.encoding == "iso8859-1"
        assert values(reader) == [{"name": "Åsa"}]
    message = file_error(write(tmp_path, b"name\n\xe9\n", "b.csv"), encoding="utf-8")
    assert message == errors.UNDECODABLE.format(
        byte=0xE9, offset=5, encoding="utf-8"
    ) + errors.GIVEN_ENCODING.format(encoding="utf-8")


def test_explicit_utf8_on_a_bom_file_ignores_the_bom(tmp_path):
    path = write(tmp_path, SAMPLE.encode("utf-8-sig"))
    with open_reader(path, fields=FIELDS, encoding="utf-8") as reader:
        assert reader.columns == ["external_id", "name", "country"]
        assert values(reader) == SAMPLE_VALUES


def test_truncated_utf16_is_undecodable(tmp_path):
    raw = SAMPLE.encode("utf-16") + b"x"
    message = file_error(write(tmp_path, raw))
    assert message == errors.UNDECODABLE.format(
        byte=ord("x"), offset=len(raw) - 1, encoding="utf-16"
    )


@pytest.mark.parametrize("encoding", ["no-such-codec", "rot13"])
def test_unknown_encoding(tmp_path, encoding):
    path = write(tmp_path, SAMPLE)
    assert file_error(path, encoding=encoding) == errors.UNKNOWN_ENCODING.format(encoding=encoding)


# --- Whole-file errors -----------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"", b"  \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n \n", b"\xff\xfe"]
)
def test_empty_files(tmp_path, content):
    assert file_error(write(tmp_path, content)) == errors.EMPTY_FILE


def test_only_delimiters_is_no_header(tmp_path):
    assert file_error(write(tmp_path, ",,,\n\n , ,\n")) == errors.NO_HEADER


def test_header_only_file_yields_no_rows(tmp_path):
    with open_reader(write(tmp_path, "external_id,name\n"), fields=FIELDS) as reader:
        assert reader.columns == ["external_id", "name"]
        assert list(reader) == []


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50, errors.KIND_ZIP),
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 50, errors.KIND_OLE2),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    ],
)
def test_binary_files_are_named(tmp_path, content, kind):
    assert file_error(write(tmp_path, content, "upload.csv")) == errors.BINARY_FILE.format(
        kind=kind
    )


HTML_TABLE = (
    "<html><body><table>\n<tr><td>external_id</td><td>name</td></tr>\n"
    "<tr><td>A1</td><td>Acme</td></tr>\n</table></body></html>\n"
)


@pytest.mark.parametrize(
    "content, kind",
    [
        (HTML_TABLE.encode(), errors.KIND_HTML),  # what web apps send as "Excel"
        (b"\xef\xbb\xbf\r\n  <!DOCTYPE html>\n" + HTML_TABLE.encode(), errors.KIND_HTML),
        (codecs.BOM_UTF16_LE + HTML_TABLE.encode("utf-16-le"), errors.KIND_HTML),
        (gzip.compress(HTML_TABLE.encode()), errors.KIND_HTML),
        (
            b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
            b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>\n',
            errors.KIND_XML,
        ),
    ],
)
def test_web_pages_and_xml_are_named_not_read_as_csv(tmp_path, content, kind):
    path = write(tmp_path, content, "export.xls")
    assert file_error(path) == errors.MARKUP_FILE.format(kind=kind)
    with pytest.raises(FileError) as info:
        preview_file(path, fields=FIELDS)
    assert str(info.value) == errors.MARKUP_FILE.format(kind=kind)


def test_a_header_starting_with_a_bracket_is_still_csv(tmp_path):
    path = write(tmp_path, "<external_id>,name\nA1,Acme\n", "tagged.csv")
    assert len(read(path)) == 1


def test_a_gzip_compressed_file_is_read_as_the_file_inside(tmp_path):
    csv_path = write(tmp_path, gzip.compress(("\ufeff" + SAMPLE).encode("utf-8")), "orgs.csv.gz")
    with open_reader(csv_path, fields=FIELDS) as reader:
        assert (reader.format, reader.encoding) == ("csv", "utf-8-sig")
        assert values(list(reader)) == SAMPLE_VALUES
    cp1252 = write(
        tmp_path, gzip.compress("external_id;name\nA1;Café\n".encode("cp1252")), "excel.gz"
    )
    assert values(read(cp1252)) == [{"external_id": "A1", "name": "Café"}]
    jsonl_path = write(
        tmp_path, gzip.compress(b'{"external_id": "A1", "name": "Acme"}\n'), "orgs.jsonl.gz"
    )
    assert values(read(jsonl_path)) == [{"external_id": "A1", "name": "Acme"}]


def test_a_damaged_gzip_file_fails_as_a_whole(tmp_path):
    whole = gzip.compress(SAMPLE.encode() * 2000)
    message = file_error(write(tmp_path, whole[: len(whole) // 2], "cut.csv.gz"))
    assert message.startswith("The gzip-compressed file is damaged or cut short (")


def test_a_gzip_file_over_the_limit_once_decompressed_fails(tmp_path):
    bomb = write(tmp_path, gzip.compress(SAMPLE.encode() + b"A9,x,DE\n" * 200_000), "bomb.csv.gz")
    assert bomb.stat().st_size < 100_000
    assert file_error(bomb, max_bytes=1_000_000) == errors.TOO_LARGE_DECOMPRESSED.format(
        limit=1_000_000
    )


def test_a_spreadsheet_inside_gzip_is_still_named(tmp_path):
    path = write(
        tmp_path, gzip.compress(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50), "upload.csv.gz"
    )
    assert file_error(path) == errors.BINARY_FILE.format(kind=errors.KIND_ZIP)


def test_random_bytes_with_nuls_are_binary(tmp_path):
    noise = random.Random(7).randbytes(20_000)
    raw = b"\x00\x01\x02\x00" + noise + b"\x00" * 100
    assert file_error(write(tmp_path, raw)) == errors.BINARY_FILE.format(kind="binary")


def test_too_large(tmp_path):
    path = write(tmp_path, SAMPLE)
    size = os.path.getsize(path)
    assert file_error(path, max_bytes=size - 1) == errors.TOO_LARGE.format(
        size=size, limit=size - 1
    )
    assert len(read(path, max_bytes=size)) == 2


def test_missing_file(tmp_path):
    assert file_error(tmp_path / "gone.csv") == errors.FILE_MISSING


def test_file_errors_are_raised_before_any_row(tmp_path):
    # The undecodable byte is at the very end: open_reader must still raise.
    raw = ("external_id\n" + "x\n" * 100_000).encode() + b"\x81\x8d"
    with pytest.raises(FileError):
        open_reader(write(tmp_path, raw), fields=FIELDS)


# --- CSV dialect -------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path, delimiter):
    name = '"a, b; c|d"' if delimiter != "\t" else "a, b; c|d"
    text = (
        delimiter.join(["External ID", "Name", "Note"])
        + "\n"
        + delimiter.join(["1", name, "x"])
        + "\n"
    )
    with open_reader(write(tmp_path, text), fields=FIELDS) as reader:
        assert reader.delimiter == delimiter
        assert values(reader) == [{"external_id": "1", "name": "a, b; c|d"}]


@pytest.mark.parametrize(
    "given, found, shown", [(",", ";", ";"), (";", "\t", "tab"), ("|", ",", ",")]
)
def test_a_wrong_delimiter_given_is_named_not_every_column_missing(tmp_path, given, found, shown):
    header = found.join(["external_id", "name", "country"])
    path = write(tmp_path, header + "\n" + found.join(["1", "Acme", "DE"]) + "\n")
    assert file_error(path, delimiter=given, required=["external_id", "name"]) == (
        errors.DELIMITER_SEEMS_WRONG.format(given=given, header=header, found=shown)
    )


def test_a_given_delimiter_that_splits_nothing_else_still_names_the_missing_columns(tmp_path):
    path = write(tmp_path, "external_id\n1\n")
    assert file_error(path, delimiter=";", required=["external_id", "name"]) == (
        errors.MISSING_COLUMNS.format(columns="name")
    )


def test_delimiters_inside_quotes_do_not_count(tmp_path):
    path = write(tmp_path, '"name, with, commas";external_id\nx;1\n')
    with open_reader(path, fields=FIELDS) as reader:
        assert reader.delimiter == ";"


def test_comma_wins_a_tie(tmp_path):
    with open_reader(write(tmp_path, "name;a,external_id|b\n"), fields=FIELDS) as reader:
        assert reader.delimiter == ","


@pytest.mark.parametrize(
    "given, used", [(";", ";"), ("\t", "\t"), ("\\t", "\t"), ("tab", "\t"), ("TAB", "\t")]
)
def test_explicit_delimiter_overrides_detection(tmp_path, given, used):
    path = write(tmp_path, f"external_id{used}name,x\n1{used}a,b\n")
    with open_reader(path, fields=FIELDS, delimiter=given) as reader:
        assert reader.delimiter == used
        assert values(reader) == [{"external_id": "1"}]
        assert reader.unknown_columns == ["name,x"]


@pytest.mark.parametrize(
    "first_line, delimiter",
    [
        ("sep=;", ";"),
        ('"sep=;"', ";"),
        ("SEP=|", "|"),
        ("sep=\t", "\t"),
        ("sep=,", ","),
        ("sep=; ", ";"),
    ],
)
def test_an_excel_sep_line_sets_the_delimiter_and_is_skipped(tmp_path, first_line, delimiter):
    header = delimiter.join(["External ID", "Name", "Country"])
    row = delimiter.join(["A1", "Smith, Jones; Co", "GB"]).replace(
        "Smith, Jones; Co", '"Smith, Jones; Co"'
    )
    path = write(tmp_path, "\ufeff" + first_line + "\r\n" + header + "\r\n" + row + "\r\n")
    with open_reader(path, fields=FIELDS) as reader:
        assert reader.delimiter == delimiter
        assert reader.columns == ["external_id", "name", "country"]
        rows = list(reader)
    assert values(rows) == [{"external_id": "A1", "name": "Smith, Jones; Co", "country": "GB"}]
    assert [row.number for row in rows] == [3]  # the sep line is row 1, the header row 2


def test_an_excel_sep_line_under_an_explicit_delimiter_is_still_skipped(tmp_path):
    path = write(tmp_path, "sep=,\nexternal_id;name\nA1;Acme\n")
    assert values(read(path, delimiter=";")) == [{"external_id": "A1", "name": "Acme"}]


def test_a_header_that_only_starts_like_a_sep_line_is_a_header(tmp_path):
    path = write(tmp_path, "sep=x,name\nA1,Acme\n")
    with open_reader(path, fields=["sep=x", "name"]) as reader:
        assert reader.delimiter == ","
        assert values(list(reader)) == [{"sep=x": "A1", "name": "Acme"}]


def test_a_file_of_only_a_sep_line_has_no_header(tmp_path):
    assert file_error(write(tmp_path, "sep=;\n")) == errors.NO_HEADER


@pytest.mark.parametrize("delimiter", ["", ";;", '"', "\n"])
def test_bad_delimiter(tmp_path, delimiter):
    message = file_error(write(tmp_path, SAMPLE), delimiter=delimiter)
    assert message == errors.BAD_DELIMITER.format(delimiter=delimiter)


def test_quoted_newlines_and_doubled_quotes(tmp_path):
    text = 'external_id,name\r\n1,"two\r\nlines"\r\n2,"say ""hi"""\r\n3,"a\nb\nc"\r\n4,plain\r\n'
    rows = read(write(tmp_path, text))
    assert [(row.number, row.values["name"]) for row in rows] == [
        (2, "two\r\nlines"),
        (3, 'say "hi"'),
        (4, "a\nb\nc"),
        (5, "plain"),
    ]


def test_blank_records_are_skipped_but_numbered(tmp_path):
    text = "\n\nexternal_id,name\n1,a\n\n,\n   \n2,b\n"
    rows = read(write(tmp_path, text))
    assert [(row.number, row.values) for row in rows] == [
        (4, {"external_id": "1", "name": "a"}),
        (8, {"external_id": "2", "name": "b"}),
    ]


def test_a_column_map_reads_columns_named_otherwise(tmp_path):
    path = write(tmp_path, "ID,Company Name,Country\nA1,Acme,DE\n")
    with open_reader(
        path, fields=FIELDS, column_map={"id": "external_id", "Company Name": "name"}
    ) as reader:
        assert reader.columns == ["external_id", "name", "country"]
        assert values(list(reader)) == [{"external_id": "A1", "name": "Acme", "country": "DE"}]


def test_a_column_map_applies_to_json_keys(tmp_path):
    path = write(tmp_path, '{"ID": "A1", "company": "Acme"}\n', "data.jsonl")
    rows = read(path, column_map={"ID": "external_id", "company": "name"})
    assert values(rows) == [{"external_id": "A1", "name": "Acme"}]


def test_a_column_map_entry_the_header_lacks_fails_the_file(tmp_path):
    path = write(tmp_path, "ID,name\nA1,Acme\n")
    message = file_error(path, column_map={"ID": "external_id", "Compnay": "name"})
    assert message == errors.COLUMN_MAP_ABSENT.format(columns="'Compnay'")


def test_a_mapped_column_wins_over_the_one_named_as_its_field(tmp_path):
    path = write(tmp_path, "external_id,name,Company\nA1,Acme,Acme Inc\n")
    with open_reader(path, fields=FIELDS, column_map={"Company": "name"}) as reader:
        assert (reader.columns, reader.unknown_columns) == (["external_id", "name"], ["name"])
        assert values(list(reader)) == [{"external_id": "A1", "name": "Acme Inc"}]


def test_a_map_sending_two_columns_to_one_field_fails_the_file_saying_so(tmp_path):
    path = write(tmp_path, "external_id,Company,Org Name\nA1,Acme,Acme Inc\n")
    message = file_error(path, column_map={"Company": "name", "Org Name": "name"})
    assert message == errors.COLUMN_MAP_FIELD_TWICE.format(
        field="name", columns="'Company', 'Org Name'"
    )


def test_a_mapped_json_key_wins_over_the_one_named_as_its_field(tmp_path):
    text = '{"ID": "A1", "Company Name": "Acme Inc", "name": "Acme"}\n{"name": "Beta"}\n'
    path = write(tmp_path, text, "data.jsonl")
    with open_reader(path, fields=FIELDS, column_map={"Company Name": "name"}) as reader:
        rows = list(reader)
        assert reader.unknown_columns == ["ID", "name"]
    assert values(rows) == [{"name": "Acme Inc"}, {}]


def test_the_header_repeated_by_joined_files_is_skipped_but_numbered(tmp_path):
    first = "\ufeffexternal_id,name\r\n1,a\r\n"
    second = "\ufeffexternal_id,name\r\n2,b\r\n external_id , name ,\r\nexternal_id,Acme\r\n"
    rows = read(write(tmp_path, first + second))
    assert [(row.number, row.values, row.error) for row in rows] == [
        (2, {"external_id": "1", "name": "a"}, None),
        (4, {"external_id": "2", "name": "b"}, None),
        (
            6,
            {"external_id": "external_id", "name": "Acme"},
            None,
        ),  # only starts like the header: a row
    ]


def test_the_ctrl_z_that_ends_old_dos_files_is_a_blank_line(tmp_path):
    rows = read(write(tmp_path, "external_id,name\r\n1,a\r\n\x1a"))
    assert [(row.number, row.values, row.error) for row in rows] == [
        (2, {"external_id": "1", "name": "a"}, None)
    ]
    jsonl_rows = read(write(tmp_path, '{"name": "a"}\r\n\x1a', "data.jsonl"))
    assert [(row.number, row.values, row.error) for row in jsonl_rows] == [(1, {"name": "a"}, None)]


def test_ragged_rows(tmp_path):
    text = "external_id,name,country\n1,a\n2,b,DE,extra\n3,c,FR\n"
    rows = read(write(tmp_path, text))
    assert rows == [
        ReadRow(
            2,
            {"external_id": "1", "name": "a"},
            errors.WRONG_FIELD_COUNT.format(expected=3, found=2),
            raw="1,a",
        ),
        ReadRow(
            3,
            {"external_id": "2", "name": "b", "country": "DE"},
            errors.WRONG_FIELD_COUNT.format(expected=3, found=4),
            raw="2,b,DE,extra",
        ),
        ReadRow(4, {"external_id": "3", "name": "c", "country": "FR"}),
    ]


def test_trailing_empty_cells_are_ignored(tmp_path):
    # Excel exports a column that once held something as a blank header cell.
    text = "external_id,name,,,\n1,a,,,\n2,b\n3,c,,,,,,\n4,d,,x,\n"
    with open_reader(write(tmp_path, text), fields=FIELDS) as reader:
        assert reader.columns == ["external_id", "name"]
        assert reader.unknown_columns == []
        rows = list(reader)
    assert rows == [
        ReadRow(2, {"external_id": "1", "name": "a"}),
        ReadRow(3, {"external_id": "2", "name": "b"}),
        ReadRow(4, {"external_id": "3", "name": "c"}),
        ReadRow(
            5,
            {"external_id": "4", "name": "d"},
            errors.WRONG_FIELD_COUNT.format(expected=2, found=4),
            raw="4,d,,x,",
        ),
    ]


@pytest.mark.parametrize(
    "header", ["External ID", "external-id", "EXTERNAL_ID", " External  ID ", "external.id"]
)
def test_header_names_are_normalized(tmp_path, header):
    assert normalize_header(header) == "external_id"
    rows = read(write(tmp_path, f"{header},Registration Number\n1,HRB 1\n"))
    assert values(rows) == [{"external_id": "1", "registration_number": "HRB 1"}]


def test_values_are_not_trimmed_but_for_the_spaces_that_start_them(tmp_path):
    # Leading spaces are skipped, so that a quote after them opens a quoted
    # value (validation trims every value anyway); the rest stays as read.
    rows = read(write(tmp_path, "external_id,name\n 1 ,\t a \n"))
    assert values(rows) == [{"external_id": "1 ", "name": "\t a "}]


def test_unknown_columns_are_reported_and_dropped(tmp_path):
    text = "Notes ,external_id,Colour,name\nx,1,red,a\ny,2,blue\n"
    with open_reader(write(tmp_path, text), fields=FIELDS) as reader:
        assert reader.columns == ["external_id", "name"]
        assert reader.unknown_columns == ["Notes", "Colour"]
        rows = list(reader)
    assert rows == [
        ReadRow(2, {"external_id": "1", "name": "a"}),
        ReadRow(
            3,
            {"external_id": "2"},
            errors.WRONG_FIELD_COUNT.format(expected=4, found=3),
            raw="y,2,blue",
        ),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a,external_id,b\n1,2,3\n", {"external_id": "2"}),
        ("name,a,b\n1,2,3\n", {"name": "1"}),
        ("a,b\n1,2\n", {}),
        ("country,name\nDE,x\n", {"country": "DE", "name": "x"}),
    ],
)
def test_mapped_columns_in_any_order(tmp_path, text, expected):
    assert values(read(write(tmp_path, text))) == [expected]


def test_duplicate_header(tmp_path):
    message = file_error(write(tmp_path, "External ID,name,external_id,Name\n"))
    assert message == errors.DUPLICATE_HEADER.format(columns="External ID, external_id, name, Name")


def test_columns_without_a_name_are_not_read(tmp_path):
    # pandas' to_csv writes its index so: a first column without a name.
    text = ",external_id, ,name\n0,1,x,a\n,2,,b\n"
    with open_reader(write(tmp_path, text), fields=FIELDS) as reader:
        assert (reader.columns, reader.unknown_columns) == (["external_id", "name"], [])
        rows = list(reader)
    assert rows == [
        ReadRow(2, {"external_id": "1", "name": "a"}),
        ReadRow(3, {"external_id": "2", "name": "b"}),
    ]


def test_missing_required_columns_in_the_order_given(tmp_path):
    message = file_error(write(tmp_path, "name\nx\n"), required=["external_id", "name", "country"])
    assert message == errors.MISSING_COLUMNS.format(columns="external_id, country")


def test_header_with_an_unclosed_quote(tmp_path):
    message = file_error(write(tmp_path, 'external_id,"name\n1,2\n'))
    assert message.startswith("The header row is not valid CSV: a quoted value is not closed")


def test_nul_byte_in_a_cell_is_kept(tmp_path):
    rows = read(write(tmp_path, "external_id,name\n1,a\x00b\n2,c\n"))
    assert values(rows) == [
        {"external_id": "1", "name": "a\x00b"},
        {"external_id": "2", "name": "c"},
    ]


def test_crlf_and_no_final_newline(tmp_path):
    rows = read(write(tmp_path, "external_id,name\r\n1,a\r\n2,b"))
    assert values(rows) == [{"external_id": "1", "name": "a"}, {"external_id": "2", "name": "b"}]


# --- Huge fields and stray quotes -----------------------------------------------


@pytest.mark.parametrize("quoted", [False, True])
def test_a_10_mb_field_quarantines_exactly_its_row(tmp_path, quoted):
    huge = "x" * 10_000_000
    huge = f'"{huge}"' if quoted else huge
    text = f"external_id,name\n1,a\n2,{huge}\n3,c\n4,d\n"
    rows = read(write(tmp_path, text))
    assert rows == [
        ReadRow(2, {"external_id": "1", "name": "a"}),
        ReadRow(3, {}, errors.FIELD_TOO_BIG.format(limit=1_000_000), "too_long"),
        ReadRow(4, {"external_id": "3", "name": "c"}),
        ReadRow(5, {"external_id": "4", "name": "d"}),
    ]


def test_a_field_over_the_limit_in_a_short_line(tmp_path):
    rows = read(
        write(tmp_path, "external_id,name\n1,a\n2," + "y" * 101 + "\n3,c\n"), max_field_chars=100
    )
    assert [(row.number, row.error) for row in rows] == [
        (2, None),
        (3, errors.FIELD_TOO_BIG.format(limit=100)),
        (4, None),
    ]


def test_stray_quote_reaching_the_end_costs_only_its_line(tmp_path):
    # The csv module reads everything after the quote into one field; strict
    # parsing reports that as a malformed row, and reading starts again on
    # the next line, so the lines it swallowed are read as rows.
    text = 'external_id,name\n1,a\n2,"b\n3,c\n4,d\n'
    rows = read(write(tmp_path, text))
    assert rows == [
        ReadRow(2, {"external_id": "1", "name": "a"}),
        ReadRow(
            3,
            {},
            errors.BAD_CSV_ROW.format(
                detail="a quoted value is not closed before the end of the file (a stray quote?)"
            ),
            raw='2,"b',
        ),
        ReadRow(4, {"external_id": "3", "name": "c"}),
        ReadRow(5, {"external_id": "4", "name": "d"}),
    ]


AFTER_CLOSING_QUOTE = "there is text after the closing quote of a quoted value"


def test_stray_quote_closed_by_a_later_quote_costs_only_its_line(tmp_path):
    text = 'external_id,name\n1,"a\n2,b\n3,"c"\n4,d\n'
    rows = read(write(tmp_path, text))
    assert rows == [
        ReadRow(2, {}, errors.BAD_CSV_ROW.format(detail=AFTER_CLOSING_QUOTE), raw='1,"a'),
        ReadRow(3, {"external_id": "2", "name": "b"}),
        ReadRow(4, {"external_id": "3", "name": "c"}),
        ReadRow(5, {"external_id": "4", "name": "d"}),
    ]


def test_stray_quote_stops_at_the_field_limit(tmp_path):
    lines = [f"{i},name {i}" for i in range(2, 200)]
    text = 'external_id,name\n1,"oops\n' + "\n".join(lines) + "\n"
    rows = read(write(tmp_path, text), max_field_chars=100)
    assert rows[0] == ReadRow(
        2, {}, errors.FIELD_TOO_BIG.format(limit=100), "too_long", raw='1,"oops'
    )
    # Reading starts again on the line after the bad one: no line is lost.
    assert all(row.error is None for row in rows[1:])
    assert [row.values["external_id"] for row in rows[1:]] == [str(i) for i in range(2, 200)]


def test_huge_quoted_field_over_several_lines(tmp_path):
    # A quoted field over the limit costs its first line; its other lines
    # are read as rows of their own (usually malformed).
    text = 'external_id,name\n1,"' + "a" * 60 + "\n" + "b" * 60 + "\n" + 'c",end\n2,x\n'
    rows = read(write(tmp_path, text), max_field_chars=100)
    assert rows[0] == ReadRow(
        2, {}, errors.FIELD_TOO_BIG.format(limit=100), "too_long", raw='1,"' + "a" * 60
    )
    assert rows[1] == ReadRow(
        3,
        {"external_id": "b" * 60},
        errors.WRONG_FIELD_COUNT.format(expected=2, found=1),
        raw="b" * 60,
    )
    assert rows[2] == ReadRow(4, {"external_id": 'c"', "name": "end"})
    assert rows[3] == ReadRow(5, {"external_id": "2", "name": "x"})


def test_a_one_line_record_the_csv_module_refuses_keeps_its_text(tmp_path):
    rows = read(write(tmp_path, 'external_id,name\r\n1,"a"b\r\n2,c\r\n'))
    assert rows == [
        ReadRow(2, {}, errors.BAD_CSV_ROW.format(detail=AFTER_CLOSING_QUOTE), raw='1,"a"b'),
        ReadRow(3, {"external_id": "2", "name": "c"}),
    ]


def test_a_swallowed_records_first_line_is_kept_only_past_skipped_rows(tmp_path):
    text = 'external_id,name\n1,a\n2,"b\n3,c\n'
    assert [row.raw for row in read(write(tmp_path, text), skip_rows=1)] == ['2,"b', None]
    assert [row.number for row in read(write(tmp_path, text), skip_rows=2)] == [4]


def test_resync_keeps_skip_rows_and_numbers(tmp_path):
    text = 'external_id,name\n1,"a\n2,b\n3,"c"\n4,d\n'
    path = write(tmp_path, text)
    everything = read(path)
    assert read(path, skip_rows=2) == everything[2:]


def test_resyncs_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_rows, "MAX_RESYNCS", 1)
    text = 'external_id,name\n1,"a\n2,b\n3,"c\n4,d\n5,"e"\n6,f\n'
    rows = read(write(tmp_path, text))
    # The first stray quote costs its line; the second, past the bound,
    # swallows the lines up to the next quote.
    assert [(row.number, row.error is None) for row in rows] == [
        (2, False),
        (3, True),
        (4, False),
        (5, True),
    ]
    assert rows[-1].values == {"external_id": "6", "name": "f"}


def test_header_over_the_field_limit(tmp_path):
    message = file_error(
        write(tmp_path, "external_id," + "n" * 200 + "\n1,2\n"), max_field_chars=100
    )
    assert message == errors.BAD_CSV_HEADER.format(detail="a value is longer than 100 characters")
    message = file_error(
        write(tmp_path, "external_id," + "n" * 500 + "\n1,2\n"), max_field_chars=100
    )
    assert message == errors.BAD_CSV_HEADER.format(detail="a value is longer than 100 characters")


def test_text_after_a_closing_quote_is_malformed(tmp_path):
    rows = read(write(tmp_path, 'external_id,name\n1,"a"b\n2,c\n'))
    assert [(row.number, row.error is None) for row in rows] == [(2, False), (3, True)]


# --- Resuming ----------------------------------------------------------------


def test_skip_rows_keeps_row_numbers(tmp_path):
    text = "external_id\n1\n\n3\n4\n5\n"
    path = write(tmp_path, text)
    assert [row.number for row in read(path)] == [2, 4, 5, 6]
    assert [row.number for row in read(path, skip_rows=2)] == [4, 5, 6]
    assert [row.number for row in read(path, skip_rows=3)] == [5, 6]
    assert read(path, skip_rows=50) == []


def test_skip_rows_over_malformed_rows(tmp_path):
    path = write(tmp_path, 'external_id,name\n1,"a"b\n2,"x' + "x" * 200 + '"\n3,c\n')
    assert [row.number for row in read(path, max_field_chars=100, skip_rows=2)] == [4]


# --- A file of mostly malformed rows ------------------------------------------


def read_error(path, **options) -> str:
    """The FileError raised while the rows are read (not when opening)."""
    options.setdefault("fields", FIELDS)
    reader = open_reader(path, **options)
    with pytest.raises(FileError) as info:
        list(reader)
    return str(info.value)


def mostly_malformed(*, malformed, rows, limit, where, hint, error) -> str:
    return errors.MOSTLY_MALFORMED.format(
        malformed=malformed, rows=rows, limit=limit, where=where, hint=hint, error=error
    )


GOOD = "".join(f"{i},Org {i},DE\n" for i in range(1, 10))


def test_unpaired_quotes_on_most_lines_fail_the_file_naming_the_row_and_line(tmp_path):
    # An exporter that does not double the quotes inside quoted values: every
    # line from the tenth record on is malformed. A quoted newline in row 2
    # makes line and row numbers differ.
    text = 'external_id,name,country\nA,"two\nlines",DE\n' + GOOD
    text += "".join(f'{i},"Screen 27" Monitor",DE\n' for i in range(10, 3000))
    path = write(tmp_path, text)
    assert read_error(path, max_malformed_rows=50) == mostly_malformed(
        malformed=51,
        rows=61,
        limit=50,
        where=errors.DAMAGE_AT_ROW_AND_LINE.format(row=12, line=13),
        hint=errors.HINT_QUOTES,
        error=errors.BAD_CSV_ROW.format(
            detail="there is text after the closing quote of a quoted value"
        ),
    )


def test_a_second_file_joined_on_with_another_delimiter_fails_the_file(tmp_path):
    text = (
        "external_id,name,country\n" + GOOD + "".join(f"{i};Org {i};DE\n" for i in range(10, 3000))
    )
    assert read_error(write(tmp_path, text), max_malformed_rows=50) == mostly_malformed(
        malformed=51,
        rows=60,
        limit=50,
        where=errors.DAMAGE_AT_ROW.format(row=11),
        hint=errors.HINT_FIELD_COUNT,
        error=errors.WRONG_FIELD_COUNT.format(expected=3, found=1),
    )


def test_a_few_bad_rows_early_do_not_hide_where_the_damage_starts(tmp_path):
    # Row 2 is ragged; row 51 has a stray quote whose resync reads the file
    # again (line numbers carry on across it); row 53 spans two lines; then
    # 150 good rows (more than the gap that ends a stretch of damage) and
    # the damage from row 204 (line 205) on.
    text = "external_id,name,country\n1,x\n" + "".join(f"{i},Org {i},DE\n" for i in range(2, 50))
    text += '50,"Acme,DE\n51,"Beta",DE\n52,"two\nlines",DE\n' + "".join(
        f"{i},Org {i},DE\n" for i in range(53, 203)
    )
    text += "".join(f"{i};Org {i};DE\n" for i in range(203, 1000))
    assert read_error(write(tmp_path, text), max_malformed_rows=100) == mostly_malformed(
        malformed=201,
        rows=401,
        limit=100,
        where=errors.DAMAGE_AT_ROW_AND_LINE.format(row=204, line=205),
        hint=errors.HINT_FIELD_COUNT,
        error=errors.WRONG_FIELD_COUNT.format(expected=3, found=1),
    )


def test_an_unclosed_quote_with_thousands_of_lines_after_it_costs_one_row(tmp_path):
    # Reading starts again after the quote's line: one malformed row, not a flood.
    text = "external_id,name,country\n" + GOOD + '10,"Acme unclosed,DE\n'
    text += "".join(f"{i},Org {i},DE\n" for i in range(11, 5011))
    rows = read(write(tmp_path, text), max_malformed_rows=10)
    assert [row.number for row in rows if row.error] == [11]
    assert len(rows) == 5010


def test_malformed_rows_under_the_limit_or_under_half_are_rows(tmp_path):
    text = "external_id,name,country\n" + "".join(
        f"{i},Org {i},DE\n" if i % 3 else f"{i},Org\n" for i in range(1, 3000)
    )
    path = write(tmp_path, text)
    rows = read(path, max_malformed_rows=100)  # 999 malformed: over the limit, a third of the rows
    assert sum(row.error is not None for row in rows) == 999
    assert len(read(path, max_malformed_rows=1000)) == len(rows) == 2999  # under the limit
    assert len(read(path)) == 2999  # no limit


def test_the_count_starts_again_with_each_iteration_and_at_the_same_row(tmp_path):
    text = "external_id,name,country\n" + "".join(f"{i};Org {i};DE\n" for i in range(1, 100))
    reader = open_reader(write(tmp_path, text), fields=FIELDS, max_malformed_rows=5)
    messages = []
    for _ in range(2):
        rows = iter(reader)
        with pytest.raises(FileError) as info:
            for row in rows:
                assert row.number <= 7  # rows 2-7 came out, then row 8 stopped the file
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "6 of its first 6 rows" in messages[0]


def test_jsonl_lines_that_are_mostly_broken_fail_the_file(tmp_path):
    lines = [f'{{"external_id": "{i}", "name": "x"}}' for i in range(1, 10)]
    lines += [f'{{"external_id": "{i}", "name": "x' for i in range(10, 500)]
    message = read_error(jsonl(tmp_path, *lines), max_malformed_rows=20)
    assert message == mostly_malformed(
        malformed=21,
        rows=30,
        limit=20,
        where=errors.DAMAGE_AT_ROW.format(row=10),
        hint=errors.HINT_JSON,
        error=errors.NOT_A_JSON_OBJECT.format(detail="Unterminated string starting at (column 31)"),
    )


# --- Reader object -------------------------------------------------------------


def test_reader_can_be_iterated_again_and_closed(tmp_path):
    reader = open_reader(write(tmp_path, SAMPLE), fields=FIELDS)
    assert values(reader) == values(reader) == SAMPLE_VALUES
    rows = iter(reader)
    next(rows)
    reader.close()
    assert list(rows) == []
    with pytest.raises(ValueError):
        iter(reader)


# --- JSON Lines ----------------------------------------------------------------


def jsonl(tmp_path, *lines: str, name: str = "data.jsonl"):
    return write(tmp_path, "\n".join(lines) + "\n", name)


def test_jsonl_valid(tmp_path):
    path = jsonl(
        tmp_path,
        '{"external_id": "A1", "Name": " Acme ", "country": "DE", "colour": "red"}',
        '{"External ID": "A2", "employees": 5, "name": null}',
    )
    with open_reader(path, fields=FIELDS + ["employees"]) as reader:
        assert (reader.format, reader.encoding, reader.delimiter) == ("jsonl", "utf-8", None)
        rows = list(reader)
        assert reader.columns == ["external_id", "name", "country", "employees"]
        assert reader.unknown_columns == ["colour"]
    assert rows == [
        ReadRow(1, {"external_id": "A1", "name": " Acme ", "country": "DE"}),
        ReadRow(2, {"external_id": "A2", "employees": "5", "name": ""}),
    ]


def test_jsonl_value_conversion(tmp_path):
    fields = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    huge = "9" * 5000  # beyond Python's 4300-digit int/str conversion limit
    line = (
        f'{{"a": true, "b": false, "c": 1.50, "d": 1e3, "e": NaN, "f": -Infinity, "g": {huge}, '
        '"h": {"x": [1, 2.0, "s", null]}, "i": [true]}'
    )
    (row,) = read(jsonl(tmp_path, line), fields=fields)
    assert row.error == errors.NESTED_JSON_VALUE.format(
        fields="h, i"
    )  # values kept for the steward
    assert row.values == {
        "a": "true",
        "b": "false",
        "c": "1.50",
        "d": "1e3",
        "e": "NaN",
        "f": "-Infinity",
        "g": huge,
        "h": '{"x": [1, 2.0, "s", null]}',
        "i": "[true]",
    }
    assert all(type(value) is str for value in row.values.values())


def test_jsonl_malformed_lines(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = jsonl(
        tmp_path,
        '{"external_id": "1"}',
        '{"external_id": "2",',
        "[1, 2]",
        '"text"',
        "42",
        "null",
        deep,
        '{"external_id": ' + deep + "}",
        '{"external_id": "9"}',
    )
    rows = read(path)
    assert [row.number for row in rows] == list(range(1, 10))
    assert [row.error is None for row in rows] == [True] + [False] * 7 + [True]
    assert rows[1].error.startswith("Line is not a JSON object: Expecting")
    assert rows[2].error == errors.NOT_A_JSON_OBJECT.format(detail="found an array")
    assert rows[3].error == errors.NOT_A_JSON_OBJECT.format(detail="found a string")
    assert rows[4].error == errors.NOT_A_JSON_OBJECT.format(detail="found a number")
    assert rows[5].error == errors.NOT_A_JSON_OBJECT.format(detail="found null")
    assert rows[6].error == errors.NOT_A_JSON_OBJECT.format(detail="it is nested too deeply")
    assert rows[7].error == errors.NOT_A_JSON_OBJECT.format(detail="it is nested too deeply")
    assert all(row.values == {} for row in rows[1:8])


def test_jsonl_duplicate_keys_last_wins(tmp_path):
    rows = read(jsonl(tmp_path, '{"name": "first", "Name": "second", "name": "third"}'))
    assert values(rows) == [{"name": "third"}]


def test_jsonl_nested_values_are_written_back_as_read(tmp_path):
    line = '{"name": {"b": 1, "b": 2.50, "c": [NaN, {}], "d": "é"}}'
    assert values(read(jsonl(tmp_path, line))) == [
        {"name": '{"b": 1, "b": 2.50, "c": [NaN, {}], "d": "é"}'}
    ]


def test_jsonl_bom_under_explicit_utf8(tmp_path):
    path = write(tmp_path, '{"name": "a"}\n', "x.jsonl", "utf-8-sig")
    assert values(read(path, encoding="utf-8")) == [{"name": "a"}]


def test_jsonl_blank_lines_are_skipped_but_numbered(tmp_path):
    path = write(tmp_path, '\n{"name": "a"}\r\n  \n\n{"name": "b"}', "data.ndjson")
    assert [(row.number, row.values) for row in read(path)] == [
        (2, {"name": "a"}),
        (5, {"name": "b"}),
    ]


def test_jsonl_line_too_long_is_not_parsed(tmp_path):
    long_line = json.dumps({"name": "x" * 200})
    path = jsonl(tmp_path, '{"name": "a"}', long_line, '{"name": "c"}')
    rows = read(path, max_field_chars=100)
    assert rows == [
        ReadRow(1, {"name": "a"}),
        ReadRow(2, {}, errors.FIELD_TOO_BIG.format(limit=100), "too_long"),
        ReadRow(3, {"name": "c"}),
    ]


def test_jsonl_skip_rows(tmp_path):
    path = jsonl(tmp_path, '{"name": "a"}', "", '{"name": "c"}', '{"name": "d"}')
    assert [row.number for row in read(path, skip_rows=2)] == [3, 4]


def test_jsonl_with_bom_and_utf16(tmp_path):
    text = '{"name": "Zoë"}\n'
    for encoding in ("utf-8-sig", "utf-16"):
        assert values(read(write(tmp_path, text, "x.jsonl", encoding))) == [{"name": "Zoë"}]


def test_json_array_is_not_json_lines(tmp_path):
    path = write(tmp_path, '[\n  {"name": "a"}\n]\n', "data.json")
    assert file_error(path) == errors.NOT_JSON_LINES


@pytest.mark.parametrize("indent", [2, 4])
def test_pretty_printed_json_is_not_json_lines(tmp_path, indent):
    """What json.dumps(indent=...) and jq . write: every line of every
    object would be a malformed row the steward could not fix."""
    objects = [{"external_id": "1", "name": "a"}, {"external_id": "2", "name": "b"}]
    text = "".join(json.dumps(obj, indent=indent) + "\n" for obj in objects)
    path = write(tmp_path, "\ufeff" + text, "data.json")
    assert file_error(path) == errors.JSON_OVER_SEVERAL_LINES
    with pytest.raises(FileError) as info:
        preview_file(path, fields=FIELDS)
    assert str(info.value) == errors.JSON_OVER_SEVERAL_LINES


def test_a_first_line_cut_short_is_one_malformed_row(tmp_path):
    path = jsonl(tmp_path, '{"name": "a",', '{"name": "b"}')
    rows = read(path)
    assert [row.number for row in rows if row.error] == [1]
    assert values(rows)[1] == {"name": "b"}


@pytest.mark.parametrize(
    "name, format, header",
    [
        ("orgs.jsonl", None, "external_id,name,country"),
        ("orgs.csv", "jsonl", "external_id;name;country"),
        ("ids.ndjson", None, "External ID"),  # one column: a field's name says it
    ],
)
def test_a_csv_file_read_as_json_lines_fails_saying_it_looks_like_csv(
    tmp_path, name, format, header
):
    """Not one malformed row per line: the file fails before any row."""
    path = write(tmp_path, f"\ufeff{header}\nA1;Acme;DE\n", name)
    expected = errors.NOT_JSON_LINES_FIRST_LINE.format(line=header) + errors.LOOKS_LIKE_CSV
    assert file_error(path, format=format) == expected
    with pytest.raises(FileError) as info:
        preview_file(path, fields=FIELDS, format=format)
    assert str(info.value) == expected


def test_a_first_line_neither_json_nor_a_header_fails_the_file(tmp_path):
    path = jsonl(tmp_path, "# exported 2024-05-01", '{"name": "a"}')
    assert file_error(path) == errors.NOT_JSON_LINES_FIRST_LINE.format(line="# exported 2024-05-01")


def test_jsonl_does_not_check_required_columns(tmp_path):
    rows = read(jsonl(tmp_path, '{"name": "a"}'), required=["external_id"])
    assert values(rows) == [{"name": "a"}]


# --- Format detection --------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.csv", "{id},name\n", "csv"),  # the extension wins
        ("a.TSV", "name\tcountry\n", "csv"),
        ("a.txt", "name\n", "csv"),
        ("a.ndjson", '{"name": "x"}\n', "jsonl"),
        ("a.json", '{"name": "x"}\n', "jsonl"),
        ("a.dat", '\n  {"name": "x"}\n', "jsonl"),
        ("a.dat", "name\nx\n", "csv"),
        ("noextension", '{"name": "x"}\n', "jsonl"),
    ],
)
def test_format_detection(tmp_path, name, content, expected):
    with open_reader(write(tmp_path, content, name), fields=FIELDS) as reader:
        assert reader.format == expected


@pytest.mark.parametrize(
    "name, format", [("orgs.csv", None), ("orgs.txt", None), ("orgs.jsonl", "csv")]
)
def test_a_json_lines_file_read_as_csv_fails_saying_it_looks_like_json_lines(
    tmp_path, name, format
):
    """Not "the header row is not valid CSV" about its quotes."""
    path = jsonl(tmp_path, "", '\ufeff{"external_id": "A1", "name": "Acme\tGmbH"}', name=name)
    assert file_error(path, format=format) == errors.LOOKS_LIKE_JSON_LINES
    with pytest.raises(FileError) as info:
        preview_file(path, fields=FIELDS, format=format)
    assert str(info.value) == errors.LOOKS_LIKE_JSON_LINES


def test_explicit_format(tmp_path):
    path = write(tmp_path, '{"name": "x"}\n', "upload.csv")
    assert values(read(path, format="JSONL")) == [{"name": "x"}]
    assert file_error(path, format="xlsb") == errors.UNSUPPORTED_FORMAT.format(format="xlsb")


# --- Memory and speed --------------------------------------------------------------


def test_memory_stays_flat_on_a_50_mb_file(tmp_path):
    row = "1,Example Company {i} GmbH,DE," + "n" * 980 + "\n"
    block = "".join(row.format(i=i) for i in range(1000)).encode()
    path = tmp_path / "big.csv"
    with open(path, "wb") as file:
        file.write(b"external_id,name,country,notes\n")
        while file.tell() < 50_000_000:
            file.write(block)
    tracemalloc.start()
    try:
        count = 0
        with open_reader(path, fields=FIELDS) as reader:
            for read_row in reader:  # noqa: B007 (the last row is checked below)
                count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count > 45_000
    assert read_row.values["country"] == "DE"
    assert peak < 3_000_000, f"peak {peak:,} bytes"  # 1 MiB blocks and their text


# --- Properties --------------------------------------------------------------------

FUZZ_PIECES = [
    b",",
    b";",
    b'"',
    b"\n",
    b"\r",
    b" ",
    b"a",
    b"name",
    b"external_id",
    b"\x00",
    b"\xff",
    b"\xfe",
]
FUZZ_PIECES += [
    b"\xc3\xa9",
    b"\xe9",
    b"\x81",
    b"{",
    b"}",
    b"[",
    b":",
    b"1",
    b"\xef\xbb\xbf",
    b"\t",
    b"|",
]


def fuzz_bytes():
    return st.binary(max_size=300) | st.lists(st.sampled_from(FUZZ_PIECES), max_size=80).map(
        b"".join
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=fuzz_bytes(),
    name=st.sampled_from(["f.csv", "f.jsonl", "f.dat"]),
    limit=st.sampled_from([3, 1000]),
)
def test_any_bytes_either_fail_as_a_file_or_read(tmp_path, content, name, limit):
    path = write(tmp_path, content, name)
    try:
        reader = open_reader(path, fields=FIELDS, max_field_chars=limit)
    except FileError:
        return
    with reader:
        for row in reader:
            assert isinstance(row.number, int) and row.number >= 1
            assert all(isinstance(v, str) for v in row.values.values())


CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from('\t\r\n",;| '),
    max_size=20,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3).filter(any), max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_rows_written_by_csv_writer_read_back_unchanged(tmp_path, rows, delimiter):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["external_id", "name", "country"])
    writer.writerows(rows)
    path = write(tmp_path, buffer.getvalue())
    with open_reader(path, fields=FIELDS) as reader:
        assert reader.delimiter == delimiter
        read_back = list(reader)
    assert all(row.error is None for row in read_back)

    def as_read(cell: str) -> str:
        # Spaces that start an unquoted value are skipped (see _csv_reader).
        quoted = any(special in cell for special in (delimiter, '"', "\r", "\n"))
        return cell if quoted else cell.lstrip(" ")

    # A row of only unquoted spaces reads as blank cells: a blank line,
    # skipped but numbered, like any blank line.
    expected = [
        (number, [as_read(cell) for cell in row])
        for number, row in enumerate(rows, start=2)
        if any(as_read(cell) for cell in row)
    ]
    assert [(row.number, list(row.values.values())) for row in read_back] == expected
