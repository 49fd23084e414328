"""Rows of one file are applied in row order: a row sees the identity
decisions and merges of every earlier row, whether or not they share its
chunk (the bug this guards against: records were matched on natural keys as
they stood before the chunk)."""

import pytest

from core.models import Organization
from tests.identity.helpers import core_state, import_text

HEADER = "external_id,name,country,registration_number\n"


@pytest.fixture(params=[1, 2, 2000], ids=lambda size: f"chunk{size}")
def chunk_size(request, settings):
    settings.IMPORTER_CHUNK_SIZE = request.param
    return request.param


@pytest.mark.django_db
def test_a_key_changed_earlier_in_the_file_is_found_by_a_later_row(chunk_size):
    import_text(HEADER + "X,Acme,DE,1\n")
    run = import_text(HEADER + "X,Acme,DE,2\nY,Acme Two,DE,2\n")
    assert (run.updated, run.inserted, run.resolved) == (2, 0, 2)
    assert Organization.objects.count() == 1
    assert Organization.objects.get().name == "Acme Two"


@pytest.mark.django_db
def test_a_key_moved_away_earlier_in_the_file_no_longer_matches(chunk_size):
    import_text(HEADER + "X,Acme,DE,1\n")
    run = import_text(HEADER + "X,Acme,DE,2\nZ,Zeta,DE,1\n")
    assert (run.updated, run.inserted) == (1, 1)
    assert sorted(Organization.objects.values_list("registration_number", "name")) == [
        ("1", "Zeta"),
        ("2", "Acme"),
    ]


@pytest.mark.django_db
def test_when_the_oldest_record_leaves_a_shared_key_the_next_oldest_matches(chunk_size):
    import_text(HEADER + "A,First,DE,1\nB,Second,DE,2\n")
    import_text(HEADER + "B,Second,DE,1\n")  # two records now share DE:1
    run = import_text(HEADER + "A,First,DE,3\nC,Third,DE,1\n")
    assert (run.updated, run.inserted) == (2, 0)
    assert sorted(Organization.objects.values_list("name", "registration_number")) == [
        ("First", "3"),
        ("Third", "1"),
    ]


@pytest.mark.django_db
def test_two_external_ids_with_one_natural_key_in_one_file(chunk_size):
    run = import_text(HEADER + "A,Acme,DE,HRB 1\nB,Acme GmbH,de,hrb-1\nC,Acme AG,DE,HRB1\n")
    assert (run.inserted, run.updated, run.resolved) == (1, 2, 2)
    organization = Organization.objects.get()
    assert (organization.name, organization.registration_number) == ("Acme AG", "HRB1")
    assert [row[3] for row in core_state()["id_map"]] == [0, 0, 0]


@pytest.mark.django_db
def test_the_decision_ledger_names_the_matched_key():
    import csv
    import io

    import_text(HEADER + "A,Acme,DE,HRB 1\n")
    run = import_text(
        HEADER + "A,Acme,DE,HRB 1\nB,Acme GmbH,DE,hrb-1\nC,Other,FR,\nC,Other,FR,\n", source="crm"
    )
    ledger = list(csv.DictReader(io.StringIO(run.results_file.read().decode())))
    assert [
        (r["row_number"], r["decision"], r["matched_by"], r["matched_key"]) for r in ledger
    ] == [
        ("2", "skipped", "external_id", "A"),
        ("3", "resolved", "natural_key", "DE:HRB1"),
        ("4", "inserted", "", ""),
        ("5", "skipped", "in_file", "C"),
    ]
    record_id = str(Organization.objects.get(registration_number="hrb-1").pk)
    assert ledger[1]["record_id"] == record_id
