"""Catalogue: the shapes a CSV file takes. Each goes through the real pipeline."""

import tracemalloc

import pytest

from core.models import Organization
from ingest import errors
from ingest import fields as rules
from ingest.readers.rows import AS_READ_KEY
from runs.execution import runner
from runs.models import ImportRun
from tests.importing import HEADER


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(run_bytes, delimiter):
    text = "external_id,name,country\n1,Acme Inc,DE\n2,Beta Ltd,FR\n".replace(",", delimiter)
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.run.ingest_params_json["detected"]["delimiter"] == delimiter
    assert ended.names() == ["Acme Inc", "Beta Ltd"]


def test_quoted_newlines_and_delimiters_stay_in_their_value(run_bytes):
    text = HEADER + '1,"Acme,\nInc.",DE\n2,"Beta ""The Best""",FR\n3,"Gamma, Inc.",FR\n'
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("succeeded", (3, 3, 0))
    assert ended.names() == ["Acme,\nInc.", 'Beta "The Best"', "Gamma, Inc."]


def test_ragged_rows_are_malformed_and_the_rest_imported(run_bytes):
    text = HEADER + "1,Acme,DE\n2,Beta\n3,Gamma,FR,extra\n4,Delta,FR,,\n"
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("partial", (4, 2, 2))
    assert ended.codes() == [(3, rules.MALFORMED_ROW), (4, rules.MALFORMED_ROW)]
    assert ended.messages() == [
        errors.WRONG_FIELD_COUNT.format(expected=3, found=2),
        errors.WRONG_FIELD_COUNT.format(expected=3, found=4),
    ]
    # What a short row has is kept for the steward, and the row as read.
    assert ended.violations[0].payload == {
        "external_id": "2",
        "name": "Beta",
        AS_READ_KEY: "2,Beta",
    }
    assert ended.violations[1].payload[AS_READ_KEY] == "3,Gamma,FR,extra"
    assert ended.names() == ["Acme", "Delta"]  # trailing empty cells are no extra fields


def test_a_stray_quote_costs_only_its_line(run_bytes):
    # The quote opens a value that the next quote closes; the text after it
    # makes that record malformed. Reading starts again on the line after
    # the stray quote, so the lines it swallowed are imported.
    text = HEADER + '1,"Acme,DE\n2,Beta,FR\n3,"Gamma",FR\n4,Delta,FR\n'
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("partial", (4, 3, 1))
    assert ended.codes() == [(2, rules.MALFORMED_ROW)]
    assert ended.messages() == [
        errors.BAD_CSV_ROW.format(detail="there is text after the closing quote of a quoted value")
    ]
    assert ended.names() == ["Beta", "Gamma", "Delta"]


def test_a_stray_quote_never_closed_costs_only_its_line(run_bytes):
    ended = run_bytes((HEADER + '1,Acme,DE\n2,"Beta,FR\n3,Gamma,FR\n').encode())
    assert (ended.status, ended.counts) == ("partial", (3, 2, 1))
    # The steward gets the line to fix the row from.
    assert ended.violations[0].payload == {AS_READ_KEY: '2,"Beta,FR'}
    assert ended.messages() == [
        errors.BAD_CSV_ROW.format(
            detail="a quoted value is not closed before the end of the file (a stray quote?)"
        )
    ]
    assert ended.names() == ["Acme", "Gamma"]


def test_a_value_quoted_after_a_space_is_read_as_quoted(run_bytes):
    ended = run_bytes(b'external_id, name, country\n1, "Acme, Inc", DE\n2,  " Beta ",FR\n')
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Acme, Inc", "Beta"]


def test_a_quote_inside_an_unquoted_value_is_kept(run_bytes):
    ended = run_bytes((HEADER + '1,The 5" Company,DE\n').encode())
    assert ended.names() == ['The 5" Company']


@pytest.mark.parametrize(
    "header, message",
    [
        ("external_id,name,Name,country\n", errors.DUPLICATE_HEADER.format(columns="name, Name")),
        ("external_id,name,name,country\n", errors.DUPLICATE_HEADER.format(columns="name")),
        (
            "external_id,External-ID,name,country\n",
            errors.DUPLICATE_HEADER.format(columns="external_id, External-ID"),
        ),
        ("external_id,name\n", errors.MISSING_COLUMNS.format(columns="country")),
    ],
)
def test_bad_headers_fail_the_run_and_write_nothing(run_bytes, header, message):
    ended = run_bytes((header + "1,Acme,Acme,DE\n").encode())
    assert (ended.status, ended.run.error_message) == (ImportRun.Status.FAILED, message)
    assert (ended.counts, ended.names()) == ((0, 0, 0), [])


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_title_lines_above_the_header_are_skipped_and_numbered(run_bytes, delimiter):
    # As reporting tools export: a title, the export date, a blank line.
    text = (
        "Organizations (CRM export)\nExported 2026-11-01 08:00,,\n\n"
        "external_id,name,country\n1,Acme,DE\n2,Beta,XX\n"
    ).replace(",", delimiter)
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("partial", (2, 1, 1))
    assert ended.codes() == [
        (6, rules.INVALID_CHOICE)
    ]  # row numbers count the lines above the header
    detected = ended.run.ingest_params_json["detected"]
    assert (detected["delimiter"], detected["header_row"]) == (delimiter, 4)
    assert ended.names() == ["Acme"]


def test_the_header_is_looked_for_only_so_far_down(run_bytes):
    # Within the file's first 20 records.
    ended = run_bytes(("title\n" * 20 + HEADER + "1,Acme,DE\n").encode())
    assert (ended.status, ended.run.error_message) == (
        ImportRun.Status.FAILED,
        errors.MISSING_COLUMNS.format(columns="external_id, name, country"),
    )
    ended = run_bytes(("title\n" * 19 + HEADER + "1,Acme,DE\n").encode())
    assert (ended.status, ended.counts) == ("succeeded", (1, 1, 0))


def test_a_header_below_a_title_that_lacks_a_column_is_the_one_reported(run_bytes):
    ended = run_bytes(b"Organizations\nexternal_id,company,country\n1,Acme,DE\n")
    assert (ended.status, ended.run.error_message) == (
        ImportRun.Status.FAILED,
        errors.MISSING_COLUMNS.format(columns="name"),
    )


def test_a_first_line_missing_a_column_is_still_the_header(run_bytes):
    ended = run_bytes(b"external_id,country\n1,DE\n2,FR\n")
    assert ended.run.error_message == errors.MISSING_COLUMNS.format(columns="name")


def test_trailing_blank_header_cells_are_ignored(run_bytes):
    ended = run_bytes(b"external_id,name,country,,\n1,Acme,DE,,\n")
    assert (ended.status, ended.counts) == ("succeeded", (1, 1, 0))


@pytest.mark.parametrize(
    "header",
    [
        ",external_id,name,country\n",  # pandas' to_csv, with its index column
        "external_id, ,name,country\n",
    ],
)
def test_a_column_without_a_name_is_not_imported(run_bytes, header):
    row = "0,1,Acme,DE\n" if header.startswith(",") else "1,note,Acme,DE\n"
    ended = run_bytes((header + row).encode())
    assert (ended.status, ended.counts) == ("succeeded", (1, 1, 0))
    assert ended.names() == ["Acme"]
    assert ended.run.ingest_params_json["detected"]["unknown_columns"] == []


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   \r\n", b"\xef\xbb\xbf", b"\xff\xfe"])
def test_empty_files_fail(run_bytes, content):
    ended = run_bytes(content)
    assert (ended.status, ended.run.error_message) == (ImportRun.Status.FAILED, errors.EMPTY_FILE)


def test_a_file_of_delimiters_has_no_header(run_bytes):
    ended = run_bytes(b",,,\n,,\n")
    assert (ended.status, ended.run.error_message) == (ImportRun.Status.FAILED, errors.NO_HEADER)


def test_a_header_only_file_succeeds_with_no_rows(run_bytes):
    ended = run_bytes(HEADER.encode())
    assert (ended.status, ended.counts) == ("succeeded", (0, 0, 0))


def test_excel_text_formula_cells_are_read_as_their_text(run_bytes):
    # Files made for Excel write ="0123" to keep leading zeros; Excel shows 0123.
    text = 'external_id,name,country,registration_number\n="007",Acme,DE,="0123"\n2,"=""Beta""",FR,=1+1\n'
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    rows = list(Organization.objects.order_by("pk").values_list("name", "registration_number"))
    assert rows == [("Acme", "0123"), ("Beta", "=1+1")]  # other formulas stay as written


def test_a_10_mb_field_quarantines_its_row_as_too_long_and_the_rest_is_read(
    run_bytes, monkeypatch, settings
):
    # Memory is bounded by a multiple of the field limit (about 13 times it:
    # the capped line, readline's joins, the decoded block), never by the
    # field: with a 100,000-character limit a 10 MB field costs under 5 MB.
    settings.IMPORTER_MAX_FIELD_CHARS = 100_000
    content = (HEADER + "1,Acme,DE\n2," + "x" * 10_000_000 + ",FR\n3,Gamma,FR\n").encode()
    peaks = []
    execute = runner.run_execute

    def traced_execute(**kwargs):
        tracemalloc.start()
        try:
            return execute(**kwargs)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    monkeypatch.setattr(runner, "run_execute", traced_execute)
    ended = run_bytes(content)
    assert (ended.status, ended.counts) == ("partial", (3, 2, 1))
    assert ended.codes() == [(3, rules.TOO_LONG)]
    assert ended.messages() == [errors.FIELD_TOO_BIG.format(limit=100_000)]
    assert ended.violations[0].payload == {}  # the 10 MB are not stored
    assert ended.names() == ["Acme", "Gamma"]
    # Reading the file never holds the 10 MB field whole.
    assert peaks[0] < 5_000_000, f"peak {peaks[0]:,} bytes"


def test_a_quoted_10_mb_field_on_one_line(run_bytes):
    huge = "y" * 10_000_000
    ended = run_bytes((HEADER + f'1,"{huge}",DE\n2,Beta,FR\n').encode())
    assert (ended.status, ended.counts) == ("partial", (2, 1, 1))
    assert ended.codes() == [(2, rules.TOO_LONG)]


def test_a_long_value_under_the_reader_limit_is_too_long_for_its_field(run_bytes):
    ended = run_bytes((HEADER + f"1,{'n' * 5000},DE\n").encode())
    assert ended.codes() == [(2, rules.TOO_LONG)]
    assert ended.messages() == [rules.MSG_TOO_LONG.format(limit=200, length=5000)]
