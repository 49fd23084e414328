"""The core admin and the id map admin as a steward uses them: hand edits
are checked and normalised by the import rules and become manual and survive
imports until released, each field's lineage on the record page, search by
normalized keys, audited re-pointing."""

import pytest
from django.urls import reverse

from core.models import Contact, Organization
from ingest import fields as rules
from ingest import identity
from ingest.models import ExternalIdMap, IdMapAudit
from tests.factories import UserFactory
from tests.identity.helpers import import_text

HEADER = "external_id,name,country,registration_number,phone\n"


@pytest.fixture
def steward(client):
    client.force_login(UserFactory(username="stewards", steward=True))
    return client


def form_data(organization, **changes):
    data = {
        name: "" if getattr(organization, name) is None else getattr(organization, name)
        for name in (
            "name",
            "country",
            "registration_number",
            "website",
            "email",
            "phone",
            "industry",
            "employees",
            "founded",
        )
    }
    return {**data, **changes}


def change_url(organization):
    return reverse("admin:core_organization_change", args=[organization.pk])


@pytest.mark.django_db
def test_a_hand_edit_survives_imports_until_released(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    organization = Organization.objects.get()
    response = steward.post(
        change_url(organization), form_data(organization, name="Acme (by hand)")
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.provenance["name"]["manual"] is True
    assert organization.provenance["name"]["actor"] == "stewards"
    assert (
        organization.provenance["country"].get("manual") is False
    )  # untouched fields stay imported

    run = import_text(HEADER + "A,Acme Renamed,DE,HRB 1,+49301234567\n")
    organization.refresh_from_db()
    assert organization.name == "Acme (by hand)" and organization.phone == "+49301234567"
    assert run.updated == 1

    response = steward.post(
        reverse("admin:core_organization_changelist"),
        {"action": "release_manual_override", "_selected_action": [organization.pk]},
    )
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.provenance["name"]["manual"] is False
    import_text(HEADER + "A,Acme Renamed Again,DE,HRB 1,+49301234567\n")
    organization.refresh_from_db()
    assert organization.name == "Acme Renamed Again"
    assert organization.provenance["name"]["rule"] == "most_recent"


@pytest.mark.django_db
def test_a_hand_edit_moves_the_natural_key(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    organization = Organization.objects.get()
    steward.post(change_url(organization), form_data(organization, registration_number="HRB 2"))
    organization.refresh_from_db()
    assert organization.natural_key == "DE:HRB2"
    run = import_text(HEADER + "B,Acme Two,DE,hrb-2,\n", source="erp")
    assert (run.inserted, run.resolved) == (0, 1)


@pytest.mark.django_db
def test_the_record_page_shows_each_fields_lineage(steward):
    run = import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    organization = Organization.objects.get()
    steward.post(change_url(organization), form_data(organization, industry="Retail"))
    page = steward.get(change_url(organization)).content.decode()
    assert "Lineage" in page
    assert f'href="{reverse("admin:runs_importrun_change", args=[run.pk])}"' in page
    assert "non-null: filled an empty field" in page
    assert "manual: set by hand" in page
    lineage = {row.field: row for row in identity.record_lineage(record=Organization.objects.get())}
    assert (lineage["name"].source, lineage["name"].run_id, lineage["name"].rule) == (
        "crm",
        run.pk,
        "non_null",
    )
    assert (lineage["industry"].actor, lineage["industry"].manual) == ("stewards", True)
    assert lineage["website"].source == ""


@pytest.mark.django_db
def test_search_uses_the_dedupe_normalization(steward):
    import_text(HEADER + "A,Acme,DE,HRB 12345,\nB,Beta,FR,99,\n")
    import_text("external_id,last_name,email\nC1,Smith,Alice@Example.com\n", target="contact")
    found = steward.get(reverse("admin:core_organization_changelist"), {"q": "hrb 123-45"})
    assert [o.name for o in found.context["cl"].result_list] == ["Acme"]
    found = steward.get(reverse("admin:core_contact_changelist"), {"q": " ALICE@example.COM "})
    assert [c.last_name for c in found.context["cl"].result_list] == ["Smith"]


@pytest.mark.django_db
def test_a_steward_repoints_a_mapping_and_it_is_audited(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\nB,Beta,DE,HRB 2,\n")
    acme, beta = Organization.objects.order_by("pk")
    mapping = ExternalIdMap.objects.get(external_id="B")
    url = reverse("admin:ingest_externalidmap_repoint", args=[mapping.pk])
    assert (
        url
        in steward.get(
            reverse("admin:ingest_externalidmap_change", args=[mapping.pk])
        ).content.decode()
    )
    assert steward.get(url).status_code == 200

    response = steward.post(url, {"record_id": acme.pk, "reason": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = steward.post(url, {"record_id": 10_000, "reason": "typo"})
    assert (
        identity.NO_SUCH_RECORD.format(target="organization", record_id=10_000)
        in response.content.decode()
    )
    response = steward.post(url, {"record_id": beta.pk, "reason": "typo"})
    assert identity.SAME_RECORD.format(record_id=beta.pk) in response.content.decode()

    response = steward.post(url, {"record_id": acme.pk, "reason": "B is a branch of Acme"})
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert (mapping.record_id, mapping.payload_hash) == (acme.pk, "")
    audit = IdMapAudit.objects.get()
    assert (audit.old_record_id, audit.new_record_id, audit.actor.username, audit.reason) == (
        beta.pk,
        acme.pk,
        "stewards",
        "B is a branch of Acme",
    )
    # The same row again is no longer skipped: it now updates the record it points to.
    run = import_text(HEADER + "A,Acme,DE,HRB 1,\nB,Beta,DE,HRB 2,\n")
    assert (run.skipped, run.updated) == (1, 1)
    acme.refresh_from_db()
    assert acme.name == "Beta"
    assert steward.get(reverse("admin:ingest_idmapaudit_changelist")).status_code == 200


@pytest.mark.django_db
def test_a_mapping_moved_meanwhile_is_refused():
    import_text(HEADER + "A,Acme,DE,HRB 1,\nB,Beta,DE,HRB 2,\nC,Gamma,DE,HRB 3,\n")
    a, b, c = Organization.objects.order_by("pk")
    stale = ExternalIdMap.objects.get(external_id="A")
    identity.id_map_repoint(
        mapping=ExternalIdMap.objects.get(pk=stale.pk), record_id=b.pk, reason="x", actor=None
    )
    with pytest.raises(identity.UsageError) as error:
        identity.id_map_repoint(mapping=stale, record_id=c.pk, reason="y", actor=None)
    assert error.value.message == identity.MAPPING_MOVED.format(record_id=b.pk)
    assert IdMapAudit.objects.count() == 1


@pytest.mark.django_db
def test_only_a_user_with_the_permission_repoints(client):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    mapping = ExternalIdMap.objects.get()
    client.force_login(UserFactory(operator=True))
    url = reverse("admin:ingest_externalidmap_repoint", args=[mapping.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"record_id": 1, "reason": "x"}).status_code == 403
    assert (
        url
        not in client.get(
            reverse("admin:ingest_externalidmap_change", args=[mapping.pk])
        ).content.decode()
    )
    # Nobody edits a mapping through the plain form.
    assert (
        client.post(
            reverse("admin:ingest_externalidmap_change", args=[mapping.pk]), {"record_id": 9}
        ).status_code
        == 403
    )
    assert ExternalIdMap.objects.get().record_id == mapping.record_id


@pytest.mark.django_db
def test_a_contact_edit_of_its_organization_is_manual(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\nB,Beta,DE,HRB 2,\n")
    import_text("external_id,organization_external_id,last_name\nC1,A,Smith\n", target="contact")
    contact = Contact.objects.get()
    beta = Organization.objects.get(name="Beta")
    data = {
        "organization": beta.pk,
        "first_name": "",
        "last_name": "Smith",
        "email": "",
        "phone": "",
        "title": "",
    }
    assert (
        steward.post(reverse("admin:core_contact_change", args=[contact.pk]), data).status_code
        == 302
    )
    contact.refresh_from_db()
    assert contact.provenance["organization_id"]["manual"] is True
    import_text(
        "external_id,organization_external_id,last_name\nC1,A,Smith-Jones\n", target="contact"
    )
    contact.refresh_from_db()
    assert (contact.organization_id, contact.last_name) == (beta.pk, "Smith-Jones")


@pytest.mark.django_db
def test_a_record_added_by_hand_is_found_by_its_natural_key_and_stays_manual(admin_client):
    """Stewards change records; adding one takes core.add_organization (here a superuser)."""
    data = {
        "name": "Hand Made GmbH",
        "country": "de",
        "registration_number": "HRB 7",
        "website": "",
        "email": "",
        "phone": "",
        "industry": "",
        "employees": "",
        "founded": "",
    }
    assert admin_client.post(reverse("admin:core_organization_add"), data).status_code == 302
    organization = Organization.objects.get()
    assert (organization.country, organization.natural_key) == ("DE", "DE:HRB7")
    assert organization.provenance["name"]["manual"] is True
    run = import_text(HEADER + "A,Imported Name,DE,hrb7,+49301234567\n")
    assert (run.inserted, run.resolved) == (0, 1)
    organization.refresh_from_db()
    assert (organization.name, organization.phone) == ("Hand Made GmbH", "+49301234567")


def form_errors(response) -> dict[str, list[str]]:
    """The messages beside each field of the admin page answered."""
    assert response.status_code == 200, response.status_code
    return dict(response.context["adminform"].form.errors)


@pytest.mark.django_db
def test_a_hand_edit_the_import_rules_refuse_is_not_saved(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,+49301234567\n")
    organization = Organization.objects.get()
    before = Organization.objects.values().get()
    response = steward.post(
        change_url(organization),
        form_data(organization, country="de", registration_number="hrb 999", phone="call me maybe"),
    )
    assert form_errors(response) == {"phone": [rules.MSG_PHONE]}
    assert rules.MSG_PHONE in response.content.decode()
    assert Organization.objects.values().get() == before


@pytest.mark.django_db
def test_a_hand_edit_is_stored_as_an_import_stores_it_and_dedupe_finds_it(steward):
    import_text(HEADER + "A,Acme,FR,1,\n")
    organization = Organization.objects.get()
    response = steward.post(
        change_url(organization),
        form_data(
            organization,
            country=" de ",
            registration_number="hrb 999",
            phone="030 1234567",
            email="Info@ACME.Example",
            website="www.acme.example",
            employees="1200.0",
            founded="2003-02-01",
        ),
    )
    assert response.status_code == 302, form_errors(response)
    organization.refresh_from_db()
    assert (organization.country, organization.natural_key, organization.phone) == (
        "DE",
        "DE:HRB999",
        "+49301234567",
    )
    assert (organization.email, organization.website, organization.employees) == (
        "Info@acme.example",
        "https://www.acme.example",
        1200,
    )
    assert organization.provenance["country"]["manual"] is True
    assert organization.provenance["name"]["manual"] is False

    run = import_text(
        "external_id,name,country,registration_number\nC1,Other Source Co,DE,HRB-999\n",
        source="erp",
    )
    assert (run.inserted, run.resolved) == (0, 1)
    assert Organization.objects.get().pk == organization.pk


@pytest.mark.django_db
def test_a_value_typed_as_stored_is_no_change(steward):
    """The form compares cleaned values: an edit elsewhere leaves the country imported."""
    import_text(HEADER + "A,Acme,DE,HRB 1,+49301234567\n")
    organization = Organization.objects.get()
    response = steward.post(
        change_url(organization),
        form_data(organization, country="de", phone="+49 30 1234567", industry="Retail"),
    )
    assert response.status_code == 302, form_errors(response)
    organization.refresh_from_db()
    manual = identity.record_manual_fields(record=organization)
    assert manual == ["industry"]


@pytest.mark.django_db
def test_each_rule_says_what_is_wrong_beside_its_field(steward):
    import_text(HEADER + "A,Acme,DE,HRB 1,\n")
    organization = Organization.objects.get()
    response = steward.post(
        change_url(organization),
        form_data(
            organization,
            name=" ",
            country="Germany",
            email="info@",
            employees="1.000",
            founded="2999-01-01",
        ),
    )
    assert form_errors(response) == {
        "name": [rules.MSG_REQUIRED],
        "country": [rules.MSG_COUNTRY_NAMED.format(code="DE", name="Germany")],
        "email": [rules.MSG_EMAIL],
        "employees": [rules.MSG_INTEGER_GROUPED.format(value="1.000", whole=1, thousands=1000)],
        "founded": [rules.MSG_FUTURE_DATE],
    }
    organization.refresh_from_db()
    assert organization.name == "Acme"


@pytest.mark.django_db
def test_a_contact_edit_follows_the_contact_rules(steward):
    import_text("external_id,last_name,email\nC1,Smith,smith@example.com\n", target="contact")
    contact = Contact.objects.get()
    url = reverse("admin:core_contact_change", args=[contact.pk])
    data = {"organization": "", "first_name": "", "last_name": "Smith", "title": ""}
    response = steward.post(url, {**data, "email": "Alice@EXAMPLE.com", "phone": "030 1234567"})
    assert form_errors(response) == {"phone": [rules.MSG_PHONE_INTERNATIONAL]}
    response = steward.post(
        url, {**data, "email": "Alice@EXAMPLE.com", "phone": "+1 (555) 010-0199"}
    )
    assert response.status_code == 302, form_errors(response)
    contact.refresh_from_db()
    assert (contact.email, contact.phone, contact.natural_key) == (
        "Alice@example.com",
        "+15550100199",
        "alice@example.com",
    )
