"""A registration number that says there is none ('n/a', 'none') gives an
organization no natural key, and letters outside A-Z are part of it: the
bug this guards against merged unrelated companies silently into one."""

import json

import pytest
from django.core.management import call_command

from core.models import Contact, Organization
from dq.models import Violation
from tests.identity.helpers import import_text

PLACEHOLDERS_CSV = (
    "external_id,name,country,registration_number,website\n"
    "NA1,Alpha Bakery,DE,n/a,alpha.de\n"
    "NA2,Beta Motors,DE,N/A,beta.de\n"
    "NA3,Gamma Tech,DE,none,\n"
    "NA4,Delta Foods,DE,NONE,\n"
    "NA7,Eta Co,DE,ÄÖÜ 1,\n"
    "NA8,Theta Co,DE,1,\n"
)


@pytest.mark.django_db
def test_placeholder_and_non_ascii_numbers_merge_nothing(tmp_path, capsys):
    path = tmp_path / "orgs.csv"
    path.write_text(PLACEHOLDERS_CSV, encoding="utf-8")
    call_command(
        "import_file", str(path), "--target", "organization", "--source", "s", "--sync", "--json"
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["status"], summary["inserted"], summary["updated"]) == ("succeeded", 6, 0)
    assert sorted(Organization.objects.values_list("name", "natural_key")) == [
        ("Alpha Bakery", None),
        ("Beta Motors", None),
        ("Delta Foods", None),
        ("Eta Co", "DE:ÄÖÜ1"),
        ("Gamma Tech", None),
        ("Theta Co", "DE:1"),
    ]


@pytest.mark.django_db
def test_a_placeholder_number_is_identified_by_its_external_id_only():
    header = "external_id,name,country,registration_number\n"
    import_text(header + "A,Alpha,DE,n/a\n")
    run = import_text(header + "A,Alpha GmbH,DE,N.A.\nB,Beta,DE,na\n", source="erp")
    assert (run.inserted, run.updated) == (2, 0)
    run = import_text(header + "A,Alpha AG,DE,--\n")
    assert (run.inserted, run.updated) == (0, 1)
    assert sorted(Organization.objects.values_list("name", flat=True)) == [
        "Alpha AG",
        "Alpha GmbH",
        "Beta",
    ]


@pytest.mark.django_db
def test_a_placeholder_email_is_refused_before_any_key():
    import_text("external_id,name,country\nO-1,Acme,DE\n")
    run = import_text(
        "external_id,organization_id,last_name,email\nC-1,O-1,Ng,n/a\nC-2,O-1,Li,N/A\n",
        target="contact",
    )
    assert (run.inserted, run.quarantined) == (0, 2)
    assert set(Violation.objects.values_list("codes", flat=True)) == {"invalid_format"}
    assert not Contact.objects.exists()
