"""The admin's source filter: names people know, the id in the URL as before."""

import pytest
from django.urls import reverse

from ingest.models import Source
from tests.factories import ImportRunFactory

pytestmark = pytest.mark.django_db


def choices(response) -> dict[str, str]:
    """The source filter's choices: label → query string."""
    (spec,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "source"]
    return {
        choice["display"]: choice["query_string"] for choice in spec.choices(response.context["cl"])
    }


@pytest.fixture
def sources():
    return {
        "emea": Source.objects.create(slug="crm-emea", name="CRM EMEA"),
        "apac": Source.objects.create(slug="crm-apac", name="CRM APAC"),
        "erp": Source.objects.create(slug="erp"),
        "old": Source.objects.create(slug="erp-old", name="ERP"),
    }


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:runs_importrun_changelist"),
        reverse("admin:dq_violation_changelist") + "?status=all",
        reverse("admin:ingest_externalidmap_changelist"),
        reverse("admin:ingest_idmapaudit_changelist"),
        reverse("admin:dq_valuemapping_changelist"),
    ],
)
def test_the_filter_shows_source_names_and_keeps_the_id(admin_client, sources, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    listed = choices(response)
    assert list(listed) == ["All", "CRM APAC", "CRM EMEA", "erp (erp)", "ERP (erp-old)"]
    assert f"source__id__exact={sources['emea'].pk}" in listed["CRM EMEA"]
    html = response.content.decode()
    assert "CRM EMEA" in html and ">crm-emea<" not in html


def test_a_link_filtered_by_source_id_still_works(admin_client, sources):
    run = ImportRunFactory(source=sources["emea"])
    ImportRunFactory(source=sources["erp"])
    response = admin_client.get(
        reverse("admin:runs_importrun_changelist"), {"source__id__exact": sources["emea"].pk}
    )
    assert [row.pk for row in response.context["cl"].result_list] == [run.pk]
