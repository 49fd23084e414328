"""Catalogue: JSON Lines oddities, through the real pipeline."""

import json

import pytest

from core.models import Organization
from dq import services as dq_services
from dq.models import Violation
from ingest import errors
from ingest import fields as rules
from ingest.readers import open_reader
from ingest.readers.headers import NUL_MARK
from ingest.readers.rows import AS_READ_KEY
from runs.models import ImportRun


def lines(*objects: str) -> bytes:
    return ("\n".join(objects) + "\n").encode()


GOOD = '{"external_id": "1", "name": "Acme", "country": "DE"}'


def test_deep_nesting_is_one_malformed_row(run_bytes):
    deep = "[" * 100_000 + "]" * 100_000
    ended = run_bytes(
        lines(GOOD, '{"external_id": "2", "name": ' + deep + "}", deep), filename="f.jsonl"
    )
    assert (ended.status, ended.counts) == ("partial", (3, 1, 2))
    assert ended.codes() == [(2, rules.MALFORMED_ROW), (3, rules.MALFORMED_ROW)]
    assert set(ended.messages()) == {
        errors.NOT_A_JSON_OBJECT.format(detail="it is nested too deeply")
    }


def test_an_object_where_a_value_belongs_is_malformed_and_kept(run_bytes):
    row = '{"external_id": "2", "name": {"first": "A"}, "country": ["DE"]}'
    ended = run_bytes(lines(GOOD, row), filename="f.jsonl")
    assert (ended.status, ended.counts) == ("partial", (2, 1, 1))
    assert ended.messages() == [errors.NESTED_JSON_VALUE.format(fields="name, country")]
    assert ended.violations[0].payload == {
        "external_id": "2",
        "name": '{"first": "A"}',
        "country": '["DE"]',
        AS_READ_KEY: row,
    }


def test_a_line_that_is_not_json_is_kept_as_read_for_the_steward(run_bytes):
    broken = '{"external_id": "2", "name": "Beta", "country": "DE"'  # the closing brace lost
    ended = run_bytes(lines(GOOD, broken), filename="f.jsonl")
    assert ended.codes() == [(2, rules.MALFORMED_ROW)]
    assert ended.violations[0].payload == {AS_READ_KEY: broken}


@pytest.mark.parametrize(
    "employees, code",
    [
        ("1" + "0" * 5000, rules.TOO_LONG),  # past Python's 4,300-digit int limit: no crash
        ("99999999999", rules.OUT_OF_RANGE),
        ("1e400", rules.INVALID_FORMAT),  # would be float('inf')
        ("NaN", rules.INVALID_FORMAT),
        ("Infinity", rules.INVALID_FORMAT),
        ("-Infinity", rules.INVALID_FORMAT),
        ("1.5", rules.INVALID_FORMAT),
    ],
)
def test_huge_numbers_and_nan_are_quarantined(run_bytes, employees, code):
    row = f'{{"external_id": "1", "name": "Acme", "country": "DE", "employees": {employees}}}'
    ended = run_bytes(lines(row), filename="f.jsonl")
    assert (ended.status, ended.counts) == ("partial", (1, 0, 1))
    assert ended.codes() == [(1, code)]
    assert ended.violations[0].payload["employees"] == employees  # as written, not rounded


def test_numbers_are_kept_as_written(run_bytes):
    row = '{"external_id": 10, "name": "Acme", "country": "DE", "employees": 1500}'
    ended = run_bytes(lines(row), filename="f.jsonl")
    assert ended.status == "succeeded"
    assert Organization.objects.get().employees == 1500


def test_duplicate_keys_the_last_wins(run_bytes):
    row = '{"external_id": "1", "name": "First", "country": "DE", "Name": "Last"}'
    ended = run_bytes(lines(row), filename="f.jsonl")
    assert (ended.status, ended.names()) == ("succeeded", ["Last"])


def test_broken_lines_are_malformed_rows_and_blank_lines_skipped(run_bytes):
    ended = run_bytes(lines(GOOD, "", '{"external_id": "2",', "[1]", "null"), filename="f.jsonl")
    assert (ended.status, ended.counts) == ("partial", (4, 1, 3))
    assert [number for number, _ in ended.codes()] == [3, 4, 5]


def test_files_joined_end_to_end_keep_each_ones_bom_out_of_the_data(run_bytes):
    second = '{"external_id": "2", "name": "Beta", "country": "FR"}'
    ended = run_bytes(
        b"\xef\xbb\xbf" + lines(GOOD) + b"\xef\xbb\xbf" + lines(second), filename="f.jsonl"
    )
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Acme", "Beta"]


def test_a_json_array_file_fails_with_advice(run_bytes):
    ended = run_bytes(json.dumps([{"external_id": "1"}]).encode(), filename="f.json")
    assert (ended.status, ended.run.error_message) == (
        ImportRun.Status.FAILED,
        errors.NOT_JSON_LINES,
    )


@pytest.mark.parametrize("filename, format", [("orgs.jsonl", None), ("orgs.csv", "jsonl")])
def test_a_csv_file_read_as_json_lines_fails_instead_of_flooding_the_inbox(
    run_bytes, filename, format
):
    content = b"external_id,name,country\nA1,Acme,DE\nA2,Beta,FR\n"
    ended = run_bytes(content, filename=filename, format=format)
    assert (ended.status, ended.counts, ended.violations) == ("failed", (0, 0, 0), [])
    assert ended.run.error_message == (
        errors.NOT_JSON_LINES_FIRST_LINE.format(line="external_id,name,country")
        + errors.LOOKS_LIKE_CSV
    )


def test_a_json_lines_file_named_csv_fails_saying_it_looks_like_json_lines(run_bytes):
    ended = run_bytes(lines(GOOD), filename="orgs.csv")
    assert (ended.status, ended.run.error_message) == ("failed", errors.LOOKS_LIKE_JSON_LINES)


def test_a_lone_surrogate_escape_is_a_malformed_row_not_a_crash(run_bytes):
    rows = [GOOD, '{"external_id": "2\\ud800", "name": "B", "country": "FR", "x\\udc00": 1}']
    rows.append(
        '{"external_id": "3", "name": "\\ud83d\\ude00 Smile", "country": "FR"}'
    )  # a valid pair
    ended = run_bytes(lines(*rows), filename="f.jsonl")
    assert (ended.status, ended.counts) == ("partial", (3, 2, 1))
    assert ended.messages() == [errors.NOT_A_JSON_OBJECT.format(detail=errors.LONE_SURROGATE)]
    assert ended.names() == ["Acme", "\U0001f600 Smile"]


def test_nul_in_values_and_keys(run_bytes):
    rows = ['{"external_id": "1", "name": "A\\u0000B", "country": "DE", "n\\u0000te": "x"}']
    ended = run_bytes(lines(*rows), filename="f.jsonl")
    assert (ended.status, ended.counts) == ("partial", (1, 0, 1))
    assert ended.messages() == [rules.MSG_NUL]
    assert ended.violations[0].payload["name"] == f"A{NUL_MARK}B"
    # JSONL keys are learnt while reading; the reader shows the unknown one NUL-free.
    with open_reader(ended.run.file.path, fields=["external_id", "name", "country"]) as reader:
        list(reader)
        assert reader.unknown_columns == [f"n{NUL_MARK}te"]


def test_a_broken_line_fixed_from_its_text_and_requeued_is_imported(run_bytes, requeue):
    broken = '{"external_id": "2", "name": "Beta", "country": "DE"'
    ended = run_bytes(lines(GOOD, broken), filename="f.jsonl")
    violation = ended.violations[0]
    fixed = {**violation.payload, "external_id": "2", "name": "Beta", "country": "DE"}
    dq_services.violation_edit(violation=violation, payload=fixed, actor=None)
    requeue(Violation.objects.filter(pk=violation.pk))
    violation.refresh_from_db()
    assert violation.status == Violation.Status.RESOLVED
    assert Organization.objects.get(name="Beta").country == "DE"
