"""Catalogue: encodings. Each file goes through the real pipeline."""

import codecs

import pytest

from ingest import errors
from runs.models import ImportRun
from tests.bad_input.conftest import HEADER

ROWS = HEADER + "1,Müller GmbH,DE\n2,Société Générale,FR\n"


def test_utf8_with_bom(run_bytes):
    ended = run_bytes(codecs.BOM_UTF8 + ROWS.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == "utf-8-sig"


@pytest.mark.parametrize("codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)])
def test_utf16_with_bom(run_bytes, codec, bom):
    ended = run_bytes(bom + ROWS.encode(codec))
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]


def test_utf16_without_bom_is_detected(run_bytes):
    ended = run_bytes(ROWS.encode("utf-16-le"))
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]


def test_cp1252_excel_export(run_bytes):
    # Excel on Windows: cp1252 and semicolons.
    ended = run_bytes("external_id;name;country\r\n1;Müller – Söhne;DE\r\n".encode("cp1252"))
    assert (ended.status, ended.counts) == ("succeeded", (1, 1, 0))
    assert ended.names() == ["Müller – Söhne"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == "cp1252"


def test_undecodable_byte_fails_with_its_offset(run_bytes):
    content = (HEADER + "1,Acme,DE\n2,Be").encode() + b"\x81" + b"ta,FR\n"
    ended = run_bytes(content)
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.UNDECODABLE.format(
        byte=0x81, offset=content.index(b"\x81"), encoding="UTF-8 or cp1252"
    )
    assert ended.names() == []


def test_undecodable_under_an_explicit_encoding(run_bytes):
    content = (HEADER + "1,M").encode() + b"\xfc" + b"ller,DE\n"  # cp1252 ü given as UTF-8
    ended = run_bytes(content, encoding="utf-8")
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.UNDECODABLE.format(
        byte=0xFC, offset=content.index(b"\xfc"), encoding="utf-8"
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_give_the_same_rows(run_bytes, newline):
    text = (HEADER + "1,Acme,DE\n2,Beta,FR").replace("\n", newline)  # no final line break
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Acme", "Beta"]
