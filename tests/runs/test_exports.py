"""A dry run's results download, through the API and the admin: personal
data (the would-be values, the natural key a row matched on) masked by the
inbox's helper for whoever lacks dq.view_payload, clear for who has it."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dq.selectors import MASK
from runs.models import ImportRun
from tests.factories import user_for
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

EMAIL, PHONE, LAST_NAME = "jane@example.com", "+4930123456", "Doe-Secret"
ORGS = b"external_id,name,country\nO-1,Acme,DE\n"
CONTACTS = f"external_id,organization_external_id,last_name,email\nC-1,O-1,Doe,{EMAIL}\n".encode()
# C-2 is new but has C-1's e-mail: matched on the natural key (the e-mail).
DRY = (
    "external_id,organization_external_id,first_name,last_name,email,phone\n"
    f"C-2,O-1,Jane,{LAST_NAME},{EMAIL},{PHONE}\n"
    f"C-3,O-1,,{LAST_NAME}3,,\n"
).encode()
LIST = reverse("admin:runs_importrun_changelist")


@pytest.fixture
def dry_run() -> ImportRun:
    import_bytes(ORGS)
    import_bytes(CONTACTS, target="contact")
    run = import_bytes(DRY, target="contact", dry_run=True)
    assert run.status == ImportRun.Status.SUCCEEDED and run.results_file
    return run


def lines_of(content: bytes) -> dict[str, dict[str, str]]:
    return {
        line["external_id"]: line for line in csv.DictReader(io.StringIO(content.decode("utf-8")))
    }


def body(response) -> bytes:
    assert response.status_code == 200, response
    assert response["Content-Disposition"].startswith("attachment")
    return b"".join(response.streaming_content)


def api_download(role: str, run: ImportRun) -> bytes:
    client = APIClient()
    client.force_authenticate(user_for(role))
    return body(client.get(f"/api/v1/runs/{run.pk}/results/"))


def admin_download(role: str, run: ImportRun) -> bytes:
    client = Client()
    client.force_login(user_for(role))
    return body(client.get(reverse("admin:runs_importrun_results", args=[run.pk])))


def admin_action_download(role: str, run: ImportRun) -> bytes:
    client = Client()
    client.force_login(user_for(role))
    return body(client.post(LIST, {"action": "download_results", "_selected_action": [run.pk]}))


DOWNLOADS = {"api": api_download, "admin": admin_download, "admin action": admin_action_download}


@pytest.mark.parametrize("download", DOWNLOADS.values(), ids=DOWNLOADS.keys())
def test_an_operator_gets_the_dry_runs_results_masked(dry_run, download):
    content = download("operator", dry_run)
    for secret in (EMAIL, PHONE, LAST_NAME, "Jane"):
        assert secret.encode() not in content
    lines = lines_of(content)
    matched, new = lines["C-2"], lines["C-3"]
    # What the inbox shows stays: outcome, decision, how it matched, fields.
    assert (matched["outcome"], matched["decision"], matched["matched_by"]) == (
        "updated",
        "resolved",
        "natural_key",
    )
    assert matched["matched_key"] == MASK
    values = json.loads(matched["values"])
    assert values and set(values.values()) <= {MASK, None, ""}
    assert values["email"] == values["phone"] == values["last_name"] == MASK
    assert json.loads(new["values"])["last_name"] == MASK and new["outcome"] == "inserted"


@pytest.mark.parametrize("role", ["steward", "superuser"])
@pytest.mark.parametrize("download", DOWNLOADS.values(), ids=DOWNLOADS.keys())
def test_who_may_view_payloads_gets_the_stored_results_as_they_are(dry_run, download, role):
    content = download(role, dry_run)
    assert content == dry_run.results_file.open("rb").read()
    matched = lines_of(content)["C-2"]
    assert matched["matched_key"] == EMAIL
    assert json.loads(matched["values"])["phone"] == PHONE


@pytest.mark.parametrize("role, masked", [("operator", True), ("steward", False)])
def test_the_zip_of_several_runs_is_masked_the_same_way(dry_run, role, masked):
    other = import_bytes(DRY, target="contact", dry_run=True)
    client = Client()
    client.force_login(user_for(role))
    response = client.post(
        LIST, {"action": "download_results", "_selected_action": [dry_run.pk, other.pk]}
    )
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    for run in (dry_run, other):
        content = archive.read(f"run-{run.pk}-results.csv")
        assert (EMAIL.encode() in content) is not masked
        if masked:
            assert lines_of(content)["C-2"]["matched_key"] == MASK
        else:
            assert content == run.results_file.open("rb").read()


def test_a_results_file_without_the_masked_columns_passes_through():
    """A ledger with other columns (or a short last line) is read, not a 500."""
    from runs.exports import masked_results_rows

    handle = io.BytesIO(
        b'row_number,external_id,outcome,values\n2,C-2,inserted,"{""email"": ""a@b.c""}"\n3,C-3\n'
    )
    assert list(masked_results_rows(handle)) == [
        ["row_number", "external_id", "outcome", "values"],
        ["2", "C-2", "inserted", json.dumps({"email": MASK}, ensure_ascii=False)],
        ["3", "C-3"],
    ]
    assert handle.closed


@pytest.mark.parametrize(
    ("role", "masked"), [("operator", True), ("steward", False), ("superuser", False)]
)
def test_the_old_values_of_a_dry_runs_updates_are_masked_like_the_new(dry_run, role, masked):
    matched = lines_of(admin_download(role, dry_run))["C-2"]
    previous = json.loads(matched["previous"])
    assert previous["last_name"] == (MASK if masked else "Doe")
