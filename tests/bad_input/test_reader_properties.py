"""Property-based tests (hypothesis) for the readers and the pipeline: any
bytes give rows or a clean FileError, never another exception, and every
record of a file is accounted for as exactly one row."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import errors
from ingest import fields as rules
from ingest.errors import FileError
from ingest.readers import open_reader
from runs.execution import runner
from tests.importing import import_checked

FIELDS = ["external_id", "name", "country"]
ROW_CODES = {rules.MALFORMED_ROW, rules.TOO_LONG}

PIECES = [
    b",",
    b";",
    b"\t",
    b"|",
    b'"',
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"a",
    b"=",
    b'="1"',
    b"{",
    b"}",
    b"[",
    b"]",
]
PIECES += [
    b":",
    b"1",
    b"\x00",
    b"\xff",
    b"\xfe",
    b"\x81",
    b"\xe9",
    b"\xc3\xa9",
    b"\xef\xbb\xbf",
    b"\\ud800",
]
PIECES += [b"external_id", b"name", b"country", b"Name", b'"external_id"', b"PK\x03\x04", b"%PDF"]


def any_bytes():
    return st.binary(max_size=400) | st.lists(st.sampled_from(PIECES), max_size=120).map(b"".join)


def path_of(content: bytes, suffix: str) -> str:
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    return path


def storable(text: str) -> bool:
    """What a database can hold: UTF-8 encodable text without NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


@settings(max_examples=500, deadline=None)
@given(
    content=any_bytes(),
    suffix=st.sampled_from([".csv", ".jsonl", ".dat"]),
    limit=st.sampled_from([4, 50, 10_000]),
)
def test_any_bytes_give_rows_or_a_file_error(content, suffix, limit):
    path = path_of(content, suffix)
    try:
        try:
            reader = open_reader(
                path, fields=FIELDS, required=["external_id"], max_field_chars=limit
            )
        except FileError as exc:
            assert exc.message and storable(exc.message)
            return
        with reader:
            numbers = []
            for row in reader:
                numbers.append(row.number)
                assert all(
                    type(key) is str and type(value) is str for key, value in row.values.items()
                )
                assert set(row.values) <= set(FIELDS)
                assert all(storable(value) or "\x00" in value for value in row.values.values())
                if row.error is not None:
                    assert row.code in ROW_CODES and storable(row.error)
            assert numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers)
            assert all(storable(name) for name in reader.unknown_columns)
    finally:
        os.unlink(path)


# Printable text with the separators, quotes and the odd NUL a file may hold
# (many control characters make a file binary; "=" cells are Excel's: see
# test_csv_shapes).
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="=")
    | st.sampled_from('\x00\t\r\n",;| '),
    max_size=12,
)


def blank(cells: list[str]) -> bool:
    """A record the reader skips (still numbering it): no text, or one cell of whitespace."""
    return not any(cells) or (len(cells) == 1 and cells[0].isspace())


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.lists(TEXT, min_size=1, max_size=5), max_size=20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_every_csv_record_is_one_row(records, delimiter):
    """Records written by a correct CSV writer, ragged or not, with quotes,
    line breaks and NULs in them: one row each, numbered like a spreadsheet,
    regular ones with their values, others malformed with their counts."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    writer.writerow(FIELDS)
    writer.writerows(records)
    path = path_of(buffer.getvalue().encode(), ".csv")
    try:
        with open_reader(path, fields=FIELDS, delimiter=delimiter) as reader:
            rows = list(reader)
    finally:
        os.unlink(path)
    expected = [(number, cells) for number, cells in enumerate(records, 2) if not blank(cells)]
    assert [row.number for row in rows] == [number for number, _ in expected]
    for row, (_, cells) in zip(rows, expected):
        found = len(cells)
        while found > 3 and not cells[found - 1]:
            found -= 1  # trailing empty cells are not extra fields
        if found == 3:
            assert (row.error, list(row.values.values())) == (None, cells[:3])
        else:
            assert row.error == errors.WRONG_FIELD_COUNT.format(expected=3, found=found)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(
        JSON_VALUES | st.dictionaries(st.sampled_from(FIELDS + ["other"]), TEXT), max_size=15
    )
)
def test_every_json_line_is_one_row(items):
    text = "".join(json.dumps(item) + "\n" for item in items)
    path = path_of(text.encode(), ".jsonl")
    try:
        if not items or isinstance(items[0], list):
            with pytest.raises(FileError) as info:
                open_reader(path, fields=FIELDS)
            assert info.value.message == (errors.NOT_JSON_LINES if items else errors.EMPTY_FILE)
            return
        with open_reader(path, fields=FIELDS) as reader:
            rows = list(reader)
    finally:
        os.unlink(path)
    assert [row.number for row in rows] == list(range(1, len(items) + 1))
    for row, item in zip(rows, items):
        if not isinstance(item, dict):
            assert row.error is not None and row.error.startswith("Line is not a JSON object")
        elif any(isinstance(value, (dict, list)) for key, value in item.items() if key in FIELDS):
            assert row.error.startswith("A JSON object or array")
        else:
            assert row.error is None
            assert set(row.values) == set(item) & set(FIELDS)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=any_bytes(), name=st.sampled_from(["f.csv", "f.jsonl"]))
def test_any_upload_ends_in_a_finished_run_with_every_row_accounted_for(content, name):
    """Through the real pipeline: never a crash; rows_total is the sum of the
    outcomes and every quarantined row is a violation (checked by import_checked)."""
    ended = import_checked(content, filename=name)
    assert not ended.run.error_message.startswith(runner.CRASHED.split("(")[0])
    if ended.status == "failed":
        assert ended.run.rows_total == 0 and ended.run.error_message
