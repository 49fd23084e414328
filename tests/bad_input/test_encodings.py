"""Catalogue: encodings. Each file goes through the real pipeline."""

import codecs

import pytest

from ingest import errors
from ingest.models import Source
from runs.models import ImportRun
from tests.importing import HEADER

ROWS = HEADER + "1,Müller GmbH,DE\n2,Société Générale,FR\n"


def test_utf8_with_bom(run_bytes):
    ended = run_bytes(codecs.BOM_UTF8 + ROWS.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == "utf-8-sig"


@pytest.mark.parametrize(
    "codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)]
)
def test_utf16_with_bom(run_bytes, codec, bom):
    ended = run_bytes(bom + ROWS.encode(codec))
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]


BOMS = [
    pytest.param(codecs.BOM_UTF8, "utf-8", "utf-8-sig", id="utf-8"),
    pytest.param(codecs.BOM_UTF16_LE, "utf-16-le", "utf-16", id="utf-16-le"),
    pytest.param(codecs.BOM_UTF16_BE, "utf-16-be", "utf-16", id="utf-16-be"),
]


@pytest.mark.parametrize("bom, codec, read_as", BOMS)
@pytest.mark.parametrize("given", ["cp1252", "utf-8", "latin-1"])
def test_a_byte_order_mark_wins_over_the_given_encoding(run_bytes, bom, codec, read_as, given):
    # Excel's "CSV UTF-8" starts with a BOM; read as cp1252 it made the
    # header "ï»¿external_id" (missing column), and UTF-16 looked binary.
    ended = run_bytes(bom + ROWS.replace("\n", "\r\n").encode(codec), encoding=given)
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == read_as


@pytest.mark.parametrize("bom, codec, read_as", BOMS)
def test_a_byte_order_mark_wins_over_the_remembered_encoding(run_bytes, bom, codec, read_as):
    Source.objects.create(slug="crm", profile_encoding="cp1252")
    ended = run_bytes(bom + ROWS.encode(codec), source="crm")
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == read_as


def test_a_utf8_file_is_read_as_utf8_whatever_encoding_the_source_remembers(run_bytes):
    # Remembered, cp1252 is a default: it stored "SociÃ©tÃ© GÃ©nÃ©rale".
    Source.objects.create(slug="crm", profile_encoding="cp1252")
    ended = run_bytes(ROWS.encode(), source="crm")
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    params = ended.run.ingest_params_json
    assert (params["encoding"], params["profile_used"]) == ("cp1252", ["encoding"])
    assert params["detected"]["encoding"] == "utf-8"


def test_utf16_without_bom_is_read_as_utf16_whatever_encoding_the_source_remembers(run_bytes):
    Source.objects.create(slug="crm", profile_encoding="cp1252")
    ended = run_bytes(ROWS.encode("utf-16-le"), source="crm")
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Müller GmbH", "Société Générale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == "utf-16-le"


@pytest.mark.parametrize(
    "content, read_as",
    [
        # cp850 (DOS): ü is 0x81, which cp1252 has no letter for.
        (ROWS.encode("cp850"), "cp850"),
        ((HEADER + "1,Acme,DE\n").encode(), "cp850"),  # ASCII reads the same in either
    ],
)
def test_a_file_not_utf8_beyond_ascii_is_read_with_the_remembered_encoding(
    run_bytes, content, read_as
):
    Source.objects.create(slug="crm", profile_encoding="cp850")
    ended = run_bytes(content, source="crm")
    assert ended.status == "succeeded"
    assert ended.run.ingest_params_json["detected"]["encoding"] == read_as
    assert ended.names() == sorted(
        line.split(",")[1] for line in content.decode(read_as).splitlines()[1:]
    )


def test_a_given_encoding_without_a_bom_is_read_as_given(run_bytes):
    # The caller's choice, even where the bytes look like UTF-8.
    ended = run_bytes(ROWS.encode(), encoding="cp1252")
    assert ended.status == "succeeded"
    assert ended.names() == ["MÃ¼ller GmbH", "SociÃ©tÃ© GÃ©nÃ©rale"]
    assert ended.run.ingest_params_json["detected"]["encoding"] == "cp1252"


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
    ) + errors.GIVEN_ENCODING.format(encoding="utf-8")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_give_the_same_rows(run_bytes, newline):
    text = (HEADER + "1,Acme,DE\n2,Beta,FR").replace("\n", newline)  # no final line break
    ended = run_bytes(text.encode())
    assert (ended.status, ended.counts) == ("succeeded", (2, 2, 0))
    assert ended.names() == ["Acme", "Beta"]


@pytest.mark.parametrize(
    "codec, given",
    [
        ("utf-16-le", "utf-16"),
        ("utf-16-be", "utf-16"),
        ("utf-32-le", "utf-32"),
        ("utf-32-be", "utf-32"),
    ],
)
def test_utf16_or_utf32_given_for_a_file_without_a_bom_fails_with_the_offset(
    run_bytes, codec, given
):
    # The codec reads the byte order from the BOM; without one it raised a
    # bare UnicodeError ("unexpected error"). Now: the undecodable message.
    content = ROWS.encode(codec)
    ended = run_bytes(content, encoding=given)
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.UNDECODABLE.format(
        byte=content[0], offset=0, encoding=given
    ) + errors.NO_BYTE_ORDER_MARK.format(encoding=given) + errors.GIVEN_ENCODING.format(
        encoding=given
    )
    assert ended.names() == []


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("given", ["utf-8", "cp1252", "latin-1"])
def test_utf16_without_a_bom_given_as_another_encoding_says_it_looks_like_utf16(
    run_bytes, codec, given
):
    # It was called "a binary file, not CSV" for its NULs.
    ended = run_bytes(ROWS.encode(codec), encoding=given)
    assert ended.status == ImportRun.Status.FAILED
    assert ended.run.error_message == errors.UTF16_GIVEN_AS.format(
        encoding=codecs.lookup(given).name, found=codec
    )
    assert ended.names() == []


def test_utf16_given_for_a_utf8_file_fails_with_the_offset(run_bytes):
    ended = run_bytes(ROWS.encode(), encoding="UTF16")
    assert ended.run.error_message == errors.UNDECODABLE.format(
        byte=ord("e"), offset=0, encoding="utf-16"
    ) + errors.NO_BYTE_ORDER_MARK.format(encoding="utf-16") + errors.GIVEN_ENCODING.format(
        encoding="utf-16"
    )


WIDE = ROWS.encode("utf-32-le")


@pytest.mark.parametrize(
    "content, given, offset",
    [
        # An odd byte count: half a character at the end.
        (ROWS.encode("utf-16-le") + b"x", "utf-16-le", len(ROWS.encode("utf-16-le"))),
        (
            codecs.BOM_UTF16_BE + ROWS.encode("utf-16-be") + b"x",
            "utf-16",
            2 + len(ROWS.encode("utf-16-be")),
        ),
        (WIDE + b"xy", "utf-32-le", len(WIDE)),
        (WIDE + b"\x00\x00\x11\x00", "utf-32-le", len(WIDE)),  # beyond U+10FFFF
    ],
)
def test_a_wide_encoding_cut_short_or_out_of_range_fails_with_the_offset(
    run_bytes, content, given, offset
):
    ended = run_bytes(content, encoding=given)
    assert ended.status == ImportRun.Status.FAILED
    # Where the BOM decided, what was given played no part: no advice on it.
    hint = "" if content.startswith(codecs.BOM_UTF16_BE) else errors.GIVEN_ENCODING
    assert ended.run.error_message == errors.UNDECODABLE.format(
        byte=content[offset], offset=offset, encoding=given
    ) + hint.format(encoding=given)


def test_a_codec_error_without_a_position_is_a_clear_message(run_bytes):
    # idna is a text codec Python accepts; on a bad label it raises a bare
    # UnicodeError, which named no offset and crashed the run.
    ended = run_bytes((HEADER + "1,www.xn--99999.com,DE\n").encode(), encoding="idna")
    assert ended.status == ImportRun.Status.FAILED
    prefix = errors.CANNOT_DECODE.split("{detail}")[0].format(encoding="idna")
    assert ended.run.error_message.startswith(prefix), ended.run.error_message
