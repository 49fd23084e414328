"""Payload values (which may hold personal data) stay out of what people
without ``dq.view_payload`` see, out of run and row error messages, and out
of the log: messages name the problem, the row number and at most the
row's identifier, never the row."""

import logging

import pytest
from django.urls import reverse

from dq.models import Violation
from runs.models import ImportRun
from tests.factories import OPERATOR, STEWARD
from tests.importing import import_bytes
from tests.security.roles import client_for

SECRET = "Geheim-Muster-4711"  # stands for a personal value in a row


BAD_FILES = [
    # (file name, content): each breaks a row or the file where the secret is.
    ("ragged.csv", f"external_id,name,country\n1,{SECRET},DE,extra,more\n".encode()),
    ("quote.csv", f'external_id,name,country\n1,"{SECRET}"x,DE\n'.encode()),
    ("unclosed.csv", f'external_id,name,country\n1,"{SECRET},DE\n'.encode()),
    ("long.csv", f"external_id,name,country\n1,{SECRET * 30},DE\n".encode()),
    (
        "invalid.csv",
        f"external_id,name,country,email,website,employees,founded\n1,a,{SECRET},{SECRET},{SECRET},{SECRET},{SECRET}\n".encode(),
    ),
    ("nul.csv", f"external_id,name,country\n1,{SECRET}\x00,DE\n".encode()),
    ("broken.jsonl", f'{{"external_id": "1", "name": "{SECRET}"\n'.encode()),
    (
        "nested.jsonl",
        f'{{"external_id": "1", "name": {{"x": "{SECRET}"}}, "country": "DE"}}\n'.encode(),
    ),
    ("array.jsonl", f'["{SECRET}"]\n'.encode()),
    ("undecodable.csv", f"external_id,name,country\n1,{SECRET}".encode() + b"\x81,DE\n"),
    ("header.csv", f"external_id,{SECRET},{SECRET},country\n".encode()),
    ("missing.csv", f"{SECRET},name\n1,a\n".encode()),
]


@pytest.mark.django_db
@pytest.mark.parametrize("filename, content", BAD_FILES, ids=[name for name, _ in BAD_FILES])
def test_error_messages_and_logs_never_echo_row_values(caplog, filename, content):
    caplog.set_level(logging.DEBUG)
    run = import_bytes(content, filename=filename)
    messages = [run.error_message]
    for violation in Violation.objects.filter(run=run):
        messages += [error["message"] for error in violation.errors]
    assert any(messages), "the bad input must be reported somewhere"
    assert not [message for message in messages if SECRET in message]
    assert SECRET not in caplog.text


@pytest.mark.django_db
def test_the_log_line_of_a_crashed_run_does_not_carry_the_row(caplog, monkeypatch):
    """A crash keeps only the exception's type on the run."""
    from ingest import pipeline

    def explode(self, rows, write=True):
        raise ValueError(f"cannot adapt {rows[0].values}")

    monkeypatch.setattr(pipeline.ChunkProcessor, "process", explode)
    run = import_bytes(f"external_id,name,country\n1,{SECRET},DE\n".encode())
    assert run.status == ImportRun.Status.FAILED
    assert SECRET not in run.error_message


@pytest.mark.django_db
def test_operators_do_not_see_payload_values_on_the_violation_page():
    run = import_bytes(f"external_id,name,country\n1,{SECRET},XX\n".encode())
    violation = Violation.objects.get(run=run)
    url = reverse("admin:dq_violation_change", args=[violation.pk])
    steward_page = client_for(STEWARD).get(url)
    assert steward_page.status_code == 200 and SECRET in steward_page.content.decode()
    operator_page = client_for(OPERATOR).get(url)
    assert operator_page.status_code == 200
    assert SECRET not in operator_page.content.decode()
