"""The pipeline, the validate endpoint, the API's PATCH and the admin editor
give the same messages for the same payload."""

import csv
import io

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dq.models import Violation
from ingest import registry
from ingest.validation import errors_by_field
from tests.importing import import_bytes, violation_at

pytestmark = pytest.mark.django_db

FIELDS = registry.get("organization").field_names
BASE = dict.fromkeys(FIELDS, "") | {"name": "Parity Co", "country": "DE"}
BAD_PAYLOADS = [
    {"email": "not-an-email"},
    {"country": "XX", "phone": "12"},
    {"employees": "-3", "founded": "2999-12-31"},
    {"name": "N" * 201, "website": "notaurl"},
    {"name": "", "country": ""},
    {"employees": "many", "updated_at": "yesterday", "founded": "31.12.2020"},
    {"phone": "+1 (555) 12", "email": "a@b"},
]


def pipeline_errors(payloads):
    """Import the payloads as a dry-run CSV file; their violations' errors by field."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=FIELDS)
    writer.writeheader()
    for number, payload in enumerate(payloads):
        writer.writerow({**payload, "external_id": f"PAR-{number}"})
    run = import_bytes(text.getvalue(), filename="parity.csv", dry_run=True)
    by_row = {v.row_number: errors_by_field(v.errors) for v in Violation.objects.filter(run=run)}
    return [by_row.get(number + 2, {}) for number in range(len(payloads))]


def test_same_messages_everywhere(rules_run, steward):
    payloads = [{**BASE, **bad} for bad in BAD_PAYLOADS]
    from_pipeline = pipeline_errors(payloads)
    assert all(from_pipeline), "every payload must be refused by the pipeline"

    api = APIClient()
    api.force_authenticate(steward)
    admin = Client()
    admin.force_login(steward)
    violation = violation_at(rules_run, 4)
    for payload, expected in zip(payloads, from_pipeline):
        payload = {**payload, "external_id": violation.payload["external_id"]}
        validated = api.post(
            "/api/v1/targets/organization/validate/?source=crm", payload, format="json"
        ).json()
        assert validated == {"valid": False, "errors": expected}

        patched = api.patch(
            f"/api/v1/violations/{violation.pk}/", {"payload": payload}, format="json"
        )
        assert (patched.status_code, patched.json()) == (400, expected)

        form = {f"field__{name}": value for name, value in payload.items()} | {"_save": "1"}
        page = admin.post(f"/admin/dq/violation/{violation.pk}/change/", form)
        assert page.status_code == 200
        shown = {
            name.removeprefix("field__"): list(messages)
            for name, messages in page.context["form"].errors.items()
        }
        assert shown == expected
    assert Violation.objects.get(pk=violation.pk).payload == violation.payload  # nothing was saved
