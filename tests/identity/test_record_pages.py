"""Issue 19: identity pages in people's terms: a record lists the external
ids that point to it, lineage times read as local and relative, "Release
manual override" is a button on the record, and re-pointing searches
records instead of asking for a bare id."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from common.roles import STEWARDS
from core import admin as core_admin
from core.models import Organization
from ingest import identity
from ingest.models import ExternalIdMap
from tests.identity.helpers import import_text

HEADER = "external_id,name,country,registration_number,phone\n"

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward(client):
    user = User.objects.create_user("stewards", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=STEWARDS))
    client.force_login(user)
    return client


def change_url(record) -> str:
    return reverse("admin:core_organization_change", args=[record.pk])


def test_the_record_page_lists_its_external_ids(steward):
    first = import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    second = import_text(HEADER + "E-9,Acme GmbH,DE,HRB 1,\n", source="erp")
    acme = Organization.objects.get()
    page = steward.get(change_url(acme)).content.decode()
    assert "External ids" in page
    for mapping in ExternalIdMap.objects.all():
        url = reverse("admin:ingest_externalidmap_change", args=[mapping.pk])
        assert f'<a href="{url}">{mapping.external_id}</a>' in page
    for run in (first, second):
        assert reverse("admin:runs_importrun_change", args=[run.pk]) in page


def test_lineage_times_are_local_and_relative(steward, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    page = steward.get(change_url(Organization.objects.get())).content.decode()
    lineage = page[page.index('class="lineage"') :]
    assert "ago (" in lineage or "now (" in lineage
    assert "CET" in lineage or "CEST" in lineage
    assert "+00:00</td>" not in lineage


def test_local_time_keeps_what_it_cannot_read():
    assert core_admin.local_time("") == "" and core_admin.local_time("soon") == "soon"


def test_release_manual_override_is_a_button_that_says_what_happens(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    acme = Organization.objects.get()
    page = steward.get(change_url(acme)).content.decode()
    assert "Release manual override" not in page and "No field is set by hand" in page
    identity.record_save_by_hand(record=acme, fields=["industry"], actor="stewards")
    page = steward.get(change_url(acme)).content.decode()
    release = reverse("admin:core_organization_release_manual", args=[acme.pk])
    assert f'action="{release}"' in page
    assert core_admin.RELEASE_NEXT.format(fields="industry") in page
    assert steward.get(release).status_code == 302  # a GET changes nothing
    assert identity.record_manual_fields(record=Organization.objects.get()) == ["industry"]
    response = steward.post(release)
    assert response.status_code == 302 and response.url == change_url(acme)
    assert identity.record_manual_fields(record=Organization.objects.get()) == []
    again = steward.post(release, follow=True).content.decode()
    assert core_admin.NOTHING_MANUAL in again


def test_repoint_searches_records_by_name(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\nB,Beta,DE,HRB 2,\n")
    acme = Organization.objects.get(name="Acme")
    mapping = ExternalIdMap.objects.get(external_id="B")
    page = steward.get(
        reverse("admin:ingest_externalidmap_repoint", args=[mapping.pk])
    ).content.decode()
    search = reverse("admin:ingest_externalidmap_records", args=[mapping.pk])
    assert f'data-ajax--url="{search}"' in page and "admin-autocomplete" in page
    found = steward.get(search, {"term": "acm"}).json()
    assert found == {
        "results": [{"id": str(acme.pk), "text": f"Acme (DE) (id {acme.pk})"}],
        "pagination": {"more": False},
    }
    by_id = steward.get(search, {"term": str(acme.pk)}).json()["results"]
    assert [row["id"] for row in by_id] == [str(acme.pk)]
    assert len(steward.get(search, {"page": "x"}).json()["results"]) == 2
    # After a refused post the chosen record is shown by name, not as a number.
    refused = steward.post(
        reverse("admin:ingest_externalidmap_repoint", args=[mapping.pk]),
        {"record_id": acme.pk, "reason": ""},
    ).content.decode()
    assert f'<option value="{acme.pk}" selected>Acme (DE) (id {acme.pk})</option>' in refused


def test_the_record_search_needs_the_repoint_permission(client):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    user = User.objects.create_user("op", password="x", is_staff=True)
    client.force_login(user)
    mapping = ExternalIdMap.objects.get()
    assert (
        client.get(reverse("admin:ingest_externalidmap_records", args=[mapping.pk])).status_code
        == 403
    )
